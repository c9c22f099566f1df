"""The explore views in a real browser: the optimizer comparison's two clusters, the
landscape with both minima, the random effects, and the guided tour end to end."""

from __future__ import annotations

import io

import app_ui as ui
import lmmviz
from helpers import RunTracker, shot
from lmmviz import landscape
from lmmviz import tour
from lmmviz.share import decode_state


def not_blank(locator) -> bool:
    """The element's pixels are not all one colour (a drawn chart, a canvas map)."""
    from PIL import Image

    img = Image.open(io.BytesIO(locator.screenshot())).convert("L")
    lo, hi = img.getextrema()
    return hi - lo > 100


def test_compare_optimizers_two_clusters(page, app_server):
    ui.load(page, app_server + "/?tab=compare")
    cmp = lmmviz.compare(lmmviz.seed(), "slope")
    best = min(e.fit.criterion for e in cmp.entries if e.fit is not None)
    assert round(best, 2) == 68.07
    text = ui.text_of(page)
    warn = " ".join(t for t in ui.alert_texts(page, "Warning") if "optimizers disagree" in t)
    assert "The optimizers disagree: 6 reached 68.07 (slope −8.215); 10 reached 101.34 (slope +7.20)." in warn, warn
    # The counts are the engine's.
    at_best = sum(1 for e in cmp.entries if e.fit is not None and abs(e.fit.criterion - best) < 1e-3 * best)
    assert (at_best, len(cmp.entries) - at_best) == (6, 10)
    assert "Start θ" in text and ui.metrics(page)["Start θ"] == "1, 0, 1"
    # The dot plot names every optimizer and both optima; the traces chart follows.
    dots = ui.chart_texts(page, 0)
    assert "68.07 (slope -8.215)" in dots and "101.34 (slope +7.204)" in dots, dots
    for e in cmp.entries:  # the nloptwrap twins' labels drop NLopt's NLOPT_LN_ prefix (phone width)
        assert e.optimizer.replace("NLOPT_LN_", "") in dots
    assert ui.chart_marks(page, 0)["view_1"] == len(cmp.entries) == 16
    traces = ui.chart_texts(page, 1)
    assert "evaluation number" in traces
    shot(page, "compare_optimizers")
    # From the current estimate every optimizer agrees (and the page says why that misleads).
    ui.set_radio(page, "the current estimate (lme4 2.x's allFit default)", scope=ui.MAIN)
    ok = " ".join(ui.alert_texts(page, "Success"))
    assert "All optimizers agree: **16** reached **68.07**".replace("**", "") in ok, ok
    assert "Starting at an optimum can hide a better one" in ui.text_of(page)
    ui.assert_clean(page)


def test_landscape_map_with_both_minima(page, app_server):
    ui.load(page, app_server + "/?tab=landscape")
    assert page.get_by_role("combobox", name="Model").input_value() == "Random slope"
    text = ui.text_of(page)
    assert "held at the value of the optimum 68.07" in text and "held at the value of the optimum 101.34" in text
    assert "The correlation is profiled out" in text
    assert "From 101.34 to 68.07 the criterion first rises by 0.54, then falls by 33.81" in text
    # The map (drawn on a canvas: 60 x 60 cells) is there and not blank; the slice chart
    # marks both optima.
    heat = ui.chart(page, 0)
    assert ui.eventually(lambda: not_blank(heat), bool)
    slice_texts = ui.chart_texts(page, 1)
    assert "101.34" in slice_texts and "68.07" in slice_texts, slice_texts
    sl = landscape.slice_between(lmmviz.seed(), (2.5049, -0.05857, 0.0), (393.09, -1.5768, 1.1542), model="slope")
    assert round(sl.barrier_a, 2) == 0.54
    shot(page, "landscape_map")
    # The correlation held at the 68.07 optimum: another map.
    ui.set_radio(page, "held at the value of the optimum 68.07", scope=ui.MAIN)
    assert "held" in ui.text_of(page).split("evaluations of the REML criterion")[0].lower()
    # The random-intercept model: the 1-D curve and its two minima.
    ui.select(page, "Model", "Random intercept")
    curve = landscape.curve_1d(lmmviz.seed(), "intercept").minima.sort_values("criterion")
    assert [round(c, 2) for c in curve["criterion"]] == [77.41, 101.88]
    warn = " ".join(ui.alert_texts(page, "Warning"))
    assert "The curve has 2 minima: 77.41 at θ ≈ 138" in warn and "101.88 at θ ≈ 1.25" in warn, warn
    shot(page, "landscape_curve")
    ui.assert_clean(page)


def test_random_effects(page, app_server):
    ui.load(page, app_server + "/?tab=effects")
    assert page.get_by_role("combobox", name="Model").input_value() == "Random slope"
    n = page.locator(f'{ui.MAIN} [data-testid="stVegaLiteChart"]').count()
    assert n == 2
    for i in range(n):
        assert ui.eventually(lambda: not_blank(ui.chart(page, i)), bool)
    ui.select(page, "Model", "Random intercept")
    assert "singular" not in " ".join(ui.alert_texts(page, "Warning")).lower()
    ui.assert_clean(page)


def _same_state(page, step) -> None:
    want, _ = decode_state(step.params)
    got, notes = decode_state(ui.query(page))
    assert got == want and not notes, (step.number, ui.query(page), step.params)


def _step_number_check(page, n: int) -> None:
    """One number per step, from the page the step sets up."""
    if n == 1:
        assert "pooled OLS slope +7.86 · within-subject OLS slopes −7.47, −6.27, −10.94" in ui.paradox_text(page)
    elif n == 2:
        assert ui.metrics(page)["Random intercept"] == "−8.16" and "REML 77.4" in ui.metric_captions(page)
    elif n == 3:
        assert ui.metrics(page)["Random slope"] == "+7.20"
        assert "REML 101.3 · local optimum" in ui.metric_captions(page)
    elif n == 4:
        assert "first rises by 0.54, then falls by 33.81" in ui.text_of(page)
    elif n == 5:
        assert "6 reached 68.07 (slope −8.215); 10 reached 101.34 (slope +7.20)" in " ".join(ui.alert_texts(page, "Warning"))
    elif n == 6:
        assert "held at the value of the optimum 68.07" in ui.text_of(page)
    elif n == 7:
        m = ui.metrics(page)
        assert (m["Within"], m["Between"]) == ("−8.23", "+7.90"), m


def test_tour_end_to_end(page, app_server):
    ui.load(page, app_server + "/?tab=tour")
    assert "A guided tour: the seed question, answered" in ui.text_of(page)
    ui.click_button(page, "Start the tour")
    for n in range(1, tour.N_STEPS + 1):
        step = tour.step(n)
        _same_state(page, step)
        banner = page.locator('[class*="st-key-tour_banner"]')
        assert f"Tour, step {n} of 7: {step.title}" in banner.inner_text(), banner.inner_text()[:300]
        _step_number_check(page, n)
        shot(page, f"tour_step_{n}")
        ui.assert_clean(page)
        if n < tour.N_STEPS:
            ui.click_button(page, "Next ▶", scope='[class*="st-key-tour_banner"]', timeout=90000)
    ui.click_button(page, "◀ Previous", scope='[class*="st-key-tour_banner"]')
    _same_state(page, tour.step(6))
    ui.click_button(page, "End the tour", scope='[class*="st-key-tour_banner"]')
    assert "tour" not in ui.query(page)
    assert page.locator('[class*="st-key-tour_banner"]').count() == 0
    ui.assert_clean(page)


def test_tour_links_and_checks(page, app_server, browser):
    """Each step's link (shown on the Tour tab) opens the step; its numbers check out."""
    ui.load(page, app_server + "/?tab=tour")
    links = [c for c in ui.code_blocks(page) if "tour=" in c]
    assert len(links) == 7
    for n, link in enumerate(links, 1):
        assert link.endswith(tour.step(n).link()), (link, tour.step(n).link())
    # "Show me" on step 5 sets the state its link encodes.
    ui.expand(page, "Step 5:")
    ui.click_button(page, "Show me", scope='[data-testid="stExpander"]:has-text("Step 5:")', timeout=90000)
    _same_state(page, tour.step(5))
    _step_number_check(page, 5)
    # The engine check of a step: every claim holds.
    ui.open_tab(page, "Tour")
    ui.expand(page, "Step 3:")
    step3 = page.locator('[data-testid="stExpander"]:has-text("Step 3:")')
    ui.set_checkbox(page, "Check these numbers against the engine", True, scope='[data-testid="stExpander"]:has-text("Step 3:")')
    # wait for what the check draws (one mark per claim), not for time
    step3.locator('[data-testid="stMarkdownContainer"]:has-text("check_circle")').first.wait_for(timeout=90000)
    checks = step3.inner_text()
    assert "check_circle" in checks and "cancel" not in checks, checks
    # Step 3's link in a fresh context.
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        p2 = ctx.new_page()
        p2.console_errors = []
        p2.on("pageerror", lambda exc: p2.console_errors.append(str(exc)))
        p2.script_runs = RunTracker().attach(p2)
        ui.load(p2, links[2])
        _same_state(p2, tour.step(3))
        _step_number_check(p2, 3)
        ui.assert_clean(p2)
    finally:
        ctx.close()
    ui.assert_clean(page)
