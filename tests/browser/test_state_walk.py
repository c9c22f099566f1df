"""Every value a user sets survives a walk through all six tabs, in the page and in the URL.

Streamlit forgets the value of a widget that a run does not draw (the Data tab's widgets
while another tab is open); before the fix a residual SD moved to 8 and an x axis label
came back as 3 and nothing two tabs later (issue 9). Each kind of value is set here, then
every tab is opened in turn, and the link and the widgets are read after each step.
"""

from __future__ import annotations

import app_ui as ui
from helpers import shot, wait_for_idle
from lmmviz.optimizers import optimizer_label

WALK = ["Fit", "Random effects", "Compare optimizers", "Landscape", "Tour", "Data", "Fit", "Random effects", "Data"]


def set_slider(page, label: str, value: float, step: float) -> None:
    """Move a slider with the keyboard (as a keyboard user would) and wait for the app."""
    thumb = slider(page, label)
    now = float(thumb.input_value())
    key = "ArrowRight" if value > now else "ArrowLeft"
    thumb.focus()
    for _ in range(round(abs(value - now) / step)):
        page.keyboard.press(key)
    ui.eventually(lambda: float(thumb.input_value()), lambda v: v == value)
    ui.eventually(lambda: ui.query(page).get("sig"), lambda v: v == [f"{value:g}"], timeout=30)
    wait_for_idle(page)


def slider(page, label: str):
    # A range input whose accessible name repeats its label.
    return page.get_by_role("slider", name=label).first


def without_tab(query: dict) -> dict:
    return {k: v for k, v in query.items() if k != "tab"}


def walk(page, want: dict, check=None) -> None:
    for tab in WALK:
        ui.open_tab(page, tab)
        assert ui.open_tab_name(page) == tab
        got = without_tab(ui.query(page))
        assert got == want, (tab, got)
        if check:
            check(tab)


def test_every_kind_of_value_survives_all_tabs(page, app_server):
    ui.load(page, app_server + "/")
    # Data tab: labels, then a simulator setting (which makes the data the simulator's).
    ui.open_tab(page, "Data")
    ui.expand(page, "Axis labels and units")
    ui.fill_text(page, "x axis label (default: dosage)", "dose (mg)")
    ui.fill_text(page, "y axis label (default: pain)", "pain score")
    ui.expand(page, "Simulator")
    set_slider(page, "Residual SD", 8.0, 0.5)
    ui.fill_text(page, "Random seed", "7")
    # Sidebar: models, ML, the optimizer and its settings, layers, the highlight.
    ui.set_checkbox(page, "Uncorrelated random slope", True)
    ui.set_radio(page, "ML")
    ui.select(page, "Optimizer", optimizer_label("nlopt_bobyqa"))
    ui.expand(page, "Optimizer settings", ui.SIDEBAR)
    ui.fill_text(page, "Maximum evaluations per run", "900", ui.SIDEBAR)
    ui.fill_text(page, "Tolerance on the criterion (absolute)", "1e-07", ui.SIDEBAR)
    ui.set_pill(page, "Layers", "Own OLS lines", False)
    subject = ui.select_options(page, "Highlight a subject")[2]
    ui.select(page, "Highlight a subject", subject)
    # View settings: the summaries as tables, the random effects of another model.
    ui.open_tab(page, "Fit")
    tables = page.get_by_role("radiogroup", name="Summaries as").get_by_role("radio", name="Tables", exact=True)
    ui.act(page, tables.click)
    ui.open_tab(page, "Random effects")
    ui.select(page, "Model", "Uncorrelated random slope")

    want = without_tab(ui.query(page))
    assert want["sig"] == ["8"] and want["seed"] == ["7"] and want["src"] == ["sim"], want
    assert want["xlab"] == ["dose (mg)"] and want["ylab"] == ["pain score"], want
    assert want["models"] == ["pooled,per_group,intercept,slope,uncorrelated"] and want["ml"] == ["1"], want
    assert want["opt"] == ["nlopt_bobyqa"] and want["maxeval"] == ["900"] and want["ftol"] == ["1e-07"], want
    assert want["layers"] == ["points,subject_lines,population,pooled"] and want["sel"] == [subject], want
    sidebar = page.locator(ui.SIDEBAR)

    def check(tab: str) -> None:
        assert sidebar.get_by_role("combobox", name="Optimizer").input_value() == optimizer_label("nlopt_bobyqa")
        assert sidebar.get_by_role("combobox", name="Highlight a subject").input_value() == subject
        assert sidebar.get_by_role("checkbox", name="Uncorrelated random slope").is_checked()
        assert ui.pill(page, "Layers", "Own OLS lines").get_attribute("aria-pressed") == "false"
        if tab == "Data":
            assert float(slider(page, "Residual SD").input_value()) == 8
            assert page.get_by_label("Random seed", exact=True).input_value() == "7"
            ui.expand(page, "Axis labels and units")
            assert page.get_by_label("x axis label (default: dosage)", exact=True).input_value() == "dose (mg)"
        if tab == "Fit":
            assert tables.get_attribute("aria-checked") == "true"
            assert not ui.summaries(page), "the summaries are shown as tables, not as lme4's text"
            assert "dose (mg)" in ui.chart_texts(page)
        if tab == "Random effects":
            assert page.get_by_role("combobox", name="Model").input_value() == "Uncorrelated random slope"

    walk(page, want, check)
    shot(page, "state_walk_end")
    ui.assert_clean(page)


def test_column_mapping_survives_all_tabs(page, app_server, tmp_path):
    """An upload whose y is chosen by hand (not the guessed column) keeps that choice."""
    rows = ["subject,dose,pain,score"]
    for i, s in enumerate("ABC"):
        for d in range(4):
            rows.append(f"{s},{10 * i + d},{100 + 20 * i - 8 * d + (d % 2)},{50 - 3 * d + 7 * i + (d % 3)}")
    path = tmp_path / "two_outcomes.csv"
    path.write_text("\n".join(rows) + "\n")
    ui.load(page, app_server + "/")
    ui.upload(page, path)
    assert ui.query(page)["y"] == ["pain"]
    ui.select(page, "y column", "score")
    want = without_tab(ui.query(page))
    assert (want["y"], want["x"], want["g"], want["src"]) == (["score"], ["dose"], ["subject"], ["upload"]), want

    def check(tab: str) -> None:
        if tab == "Data":
            assert page.get_by_role("combobox", name="y column").input_value() == "score"
        if tab == "Fit":
            assert any(s.startswith("Formula: score ~ dose") for s in
                       (line.strip() for text in ui.summaries(page) for line in text.splitlines())), ui.summaries(page)

    walk(page, want, check)
    ui.assert_clean(page)
