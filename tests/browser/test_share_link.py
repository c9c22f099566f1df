"""A share link: set a non-default state through the controls, copy the link with the
copy control, open it in a fresh browser context, and see the same page."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import app_ui as ui
from helpers import RunTracker, shot
from lmmviz.optimizers import optimizer_label

NELDER_MEAD = optimizer_label("nlopt_neldermead")


def snapshot(page) -> dict:
    """Everything the page shows that a link must reproduce."""
    ui.open_tab(page, "Fit")
    sb = ui.SIDEBAR
    return {
        "metrics": ui.metrics(page),
        "captions": ui.metric_captions(page),
        "paradox": ui.paradox_text(page),
        "summaries": ui.summaries(page),
        "errors": ui.alert_texts(page, "Error"),
        "marks": ui.chart_marks(page),
        "opacities": ui.point_opacities(page),
        "source": page.get_by_role("combobox", name="Data source").input_value(),
        "preset": page.get_by_role("combobox", name="Preset").input_value(),
        "optimizer": page.get_by_role("combobox", name="Optimizer").input_value(),
        "ml": page.locator(sb).get_by_role("radio", name="ML", exact=True).is_checked(),
        "models": {label: page.locator(sb).get_by_role("checkbox", name=label, exact=True).is_checked()
                   for label in ("Pooled OLS", "Per-subject OLS", "Random intercept", "Random slope",
                                 "Uncorrelated random slope", "Within-between")},
        "layers": {b.inner_text(): b.get_attribute("aria-pressed")
                   for b in page.get_by_role("toolbar", name="Layers").get_by_role("button").all()},
        "highlight": page.get_by_role("combobox", name="Highlight a subject").input_value(),
        "share": ui.share_box(page),
    }


def test_share_link_reproduces_the_page(page, app_server, browser):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app_server)
    ui.load(page, app_server + "/")
    ui.select(page, "Data source", "Simulator preset")
    ui.select(page, "Preset", "Slopes that vary a lot")
    ui.set_radio(page, "ML")
    ui.select(page, "Optimizer", NELDER_MEAD)
    ui.set_checkbox(page, "Per-subject OLS", False)
    ui.set_checkbox(page, "Within-between", True)
    ui.set_pill(page, "Layers", "Pooled OLS line", False)
    ui.select(page, "Highlight a subject", "03")
    want = {"src": ["preset"], "preset": ["varying_slopes"], "ml": ["1"], "opt": ["nlopt_neldermead"],
            "models": ["pooled,intercept,slope,within_between"],
            "layers": ["points,subject_lines,population,per_group"], "sel": ["03"]}
    assert ui.query(page) == want
    before = snapshot(page)
    assert before["metrics"] == ui.expected_metrics("preset:varying_slopes", ("intercept", "slope", "within_between"),
                                                    reml=False, optimizer="nlopt_neldermead", ols=("pooled",))
    shot(page, "share_before")
    # The copy control puts the link on the clipboard; it is the address bar's state.
    box = page.locator(f'{ui.SIDEBAR} [data-testid="stCode"]').first
    box.hover()
    box.get_by_role("button", name="Copy to clipboard").click()
    link = page.evaluate("() => navigator.clipboard.readText()")
    assert link == before["share"]
    assert parse_qs(urlsplit(link).query) == want
    assert link.startswith(app_server)
    # A fresh browser context: no cookies, no storage, a new Streamlit session.
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        p2 = ctx.new_page()
        p2.console_errors = []
        p2.on("console", lambda m: p2.console_errors.append(m.text) if m.type == "error" else None)
        p2.on("pageerror", lambda exc: p2.console_errors.append(str(exc)))
        p2.script_runs = RunTracker().attach(p2)
        ui.load(p2, link)
        after = snapshot(p2)
        shot(p2, "share_after")
        assert ui.notices(p2) == ""
        assert after == before
        assert ui.query(p2) == want
        ui.assert_clean(p2)
    finally:
        ctx.close()
    ui.assert_clean(page)


def test_share_link_tab_and_axis_label(page, app_server, browser):
    """The open tab and an axis label travel in the link (data in the link: see test_uploads
    and test_data_sources)."""
    ui.load(page, app_server + "/?tab=landscape&models=intercept&xlab=dose%20(mg)")
    assert ui.open_tab_name(page) == "Landscape"
    link = ui.share_box(page)
    assert parse_qs(urlsplit(link).query) == {"tab": ["landscape"], "models": ["intercept"], "xlab": ["dose (mg)"]}
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        p2 = ctx.new_page()
        p2.console_errors = []
        p2.on("pageerror", lambda exc: p2.console_errors.append(str(exc)))
        p2.script_runs = RunTracker().attach(p2)
        ui.load(p2, link)
        assert ui.open_tab_name(p2) == "Landscape"
        ui.open_tab(p2, "Fit")
        assert "dose (mg)" in ui.chart_texts(p2)
        # models=intercept unticks both OLS boxes, and their big numbers go with them
        assert list(ui.metrics(p2)) == ["Random intercept"]
        ui.assert_clean(p2)
    finally:
        ctx.close()
    ui.assert_clean(page)
