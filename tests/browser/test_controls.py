"""Sidebar controls in a real browser: model and layer toggles, the highlight, REML/ML,
the optimizer and its settings. Numbers are checked against the engine."""

from __future__ import annotations

import app_ui as ui
from helpers import shot
from lmmviz.optimizers import optimizer_label

PYBOBYQA = optimizer_label("pybobyqa")  # "Py-BOBYQA: BOBYQA"
ROBUST = "★ Robust default (lmmviz)"


def test_model_toggles(page, app_server):
    ui.load(page, app_server + "/")
    assert ui.chart_marks(page)["population"] == 2
    ui.set_checkbox(page, "Random slope", False)
    assert ui.query(page)["models"] == ["pooled,per_group,intercept"]
    assert ui.metrics(page) == ui.expected_metrics("seed", ("intercept",))
    assert len(ui.summaries(page)) == 1
    marks = ui.eventually(lambda: ui.chart_marks(page), lambda m: m.get("population") == 1)
    assert marks["population"] == 1 and marks["subject_lines"] == 3, marks
    ui.set_checkbox(page, "Uncorrelated random slope", True)
    ui.set_checkbox(page, "Within-between", True)
    assert ui.query(page)["models"] == ["pooled,per_group,intercept,uncorrelated,within_between"]
    m = ui.metrics(page)
    assert m == ui.expected_metrics("seed", ("intercept", "uncorrelated", "within_between")), m
    assert m["Uncorrelated"] == "−8.22" and m["Within"] == "−8.23" and m["Between"] == "+7.90", m
    caps = ui.metric_captions(page)
    assert "REML 70.0" in caps and "within-between · REML 64.2" in caps, caps
    sums = ui.summaries(page)
    assert len(sums) == 3
    assert ui.norm(sums[2]) == ui.norm(ui.expected_summary("seed", "within_between", "seed"))
    assert "within-between +7.90 between" in ui.paradox_text(page).replace("**", "") or \
        "−8.23 within, +7.90 between" in ui.paradox_text(page)
    shot(page, "models_uncorrelated_within_between")
    # Pooled and per-subject OLS off: their lines leave the chart and the slope table.
    ui.set_checkbox(page, "Pooled OLS", False)
    ui.set_checkbox(page, "Per-subject OLS", False)
    marks = ui.eventually(lambda: ui.chart_marks(page), lambda m: "pooled" not in m and "per_group" not in m)
    assert "pooled" not in marks and "per_group" not in marks, marks
    # No mixed model at all: a hint instead of summaries, and no error.
    for label in ("Random intercept", "Uncorrelated random slope", "Within-between"):
        ui.set_checkbox(page, label, False)
    assert ui.query(page)["models"] == ["none"]
    assert ui.summaries(page) == []
    assert "Tick a mixed model in the sidebar" in ui.text_of(page)
    ui.assert_clean(page)


def test_layer_toggles_and_highlight(page, app_server):
    ui.load(page, app_server + "/")
    full = ui.chart_marks(page)
    assert full == {"points": 12, "per_group": 3, "subject_lines": 6, "pooled": 1, "population": 2,
                    "labels_halo": 1, "labels": 1, "labels_below_halo": 2, "labels_below": 2}, full
    texts = ui.chart_texts(page)
    assert "Pooled OLS +7.86" in texts and "Random slope −8.215" in texts, texts
    ui.set_pill(page, "Layers", "Points", False)
    assert ui.query(page)["layers"] == ["subject_lines,population,pooled,per_group"]
    assert ui.eventually(lambda: ui.point_opacities(page), lambda o: o == [0.0] * 12) == [0.0] * 12
    ui.set_pill(page, "Layers", "Own OLS lines", False)
    ui.set_pill(page, "Layers", "Fitted subject lines", False)
    marks = ui.eventually(lambda: ui.chart_marks(page), lambda m: "per_group" not in m and "subject_lines" not in m)
    assert "per_group" not in marks and "subject_lines" not in marks and marks["population"] == 2, marks
    ui.set_pill(page, "Layers", "Points", True)
    assert ui.eventually(lambda: ui.point_opacities(page), lambda o: o == [0.95] * 12) == [0.95] * 12
    assert ui.query(page)["layers"] == ["points,population,pooled"]
    # Highlight subject 2: its points stay, the others fade (drawn, with lower opacity).
    ui.select(page, "Highlight a subject", "2")
    assert ui.query(page)["sel"] == ["2"]
    highlighted = [0.12] * 8 + [0.95] * 4
    opacities = ui.eventually(lambda: ui.point_opacities(page), lambda o: sorted(o) == highlighted)
    assert sorted(opacities) == [0.12] * 8 + [0.95] * 4, opacities
    shot(page, "layers_and_highlight")
    ui.select(page, "Highlight a subject", "(none)")
    assert "sel" not in ui.query(page)
    ui.assert_clean(page)


def test_reml_and_ml(page, app_server):
    ui.load(page, app_server + "/")
    ui.set_radio(page, "ML")
    assert ui.query(page)["ml"] == ["1"]
    assert ui.metrics(page) == ui.expected_metrics("seed", reml=False)
    caps = ui.metric_captions(page)
    for m in ("intercept", "slope"):
        ft = ui.engine_fit("seed", m, False)
        assert f"−2 logLik {ft.criterion:.1f}" in caps, (m, caps)
    sums = ui.summaries(page)
    assert all(s.startswith("Linear mixed model fit by maximum likelihood") for s in sums), sums
    assert [ui.norm(s) for s in sums] == [ui.norm(ui.expected_summary("seed", m, "seed", reml=False))
                                          for m in ("intercept", "slope")]
    ui.set_radio(page, "REML")
    assert "REML 68.1" in ui.metric_captions(page)
    assert ui.query(page) == {}
    ui.assert_clean(page)


def test_optimizer_local_optimum_and_refit(page, app_server):
    """Py-BOBYQA from lme4's start stops at 101.34 with +7.20 on the random-slope model:
    the red box says so, with the robust default's 68.07 and −8.215, and a button refits."""
    ui.load(page, app_server + "/?models=pooled,per_group,slope")
    options = ui.select_options(page, "Optimizer")
    # the robust default, lme4's optimizers by name (lmmviz's twins), then the library optimizers
    assert options[0] == ROBUST and PYBOBYQA in options and len(options) == 16, options
    assert options[1:3] == ["lme4: bobyqa (minqa)", "lme4: Nelder_Mead"], options
    ui.select(page, "Optimizer", PYBOBYQA)
    assert ui.query(page)["opt"] == ["pybobyqa"]
    m = ui.metrics(page)
    assert m["Random slope"] == "+7.20" == ui.expected_metrics("seed", ("slope",), optimizer="pybobyqa")["Random slope"]
    assert "REML 101.3 · local optimum" in ui.metric_captions(page), ui.metric_captions(page)
    errors = ui.alert_texts(page, "Error")
    assert any("This optimizer (Py-BOBYQA: BOBYQA) stopped at REML 101.34, but the robust default found a lower "
               "criterion, 68.075, with the opposite slope of dosage (−8.215 instead of +7.20)" in e for e in errors), errors
    sums = ui.summaries(page)
    assert "REML criterion at convergence: 101.3" in sums[0]
    assert ui.norm(sums[0]) == ui.norm(ui.expected_summary("seed", "slope", "seed", optimizer="pybobyqa"))
    text = ui.text_of(page)
    assert "singular" in text and "local optimum" in text
    shot(page, "pybobyqa_local_optimum")
    ui.click_button(page, "Refit with the robust default")
    assert "opt" not in ui.query(page)
    assert ui.metrics(page)["Random slope"] == "−8.215"
    assert not ui.alert_texts(page, "Error")
    assert page.get_by_role("combobox", name="Optimizer").input_value() == ROBUST
    ui.assert_clean(page)


def test_optimizer_settings(page, app_server):
    """Maximum evaluations from the settings expander reach the fit (and the link)."""
    ui.load(page, app_server + "/?models=slope&opt=pybobyqa")
    ui.expand(page, "Optimizer settings", ui.SIDEBAR)
    ui.fill_text(page, "Maximum evaluations per run", "20", ui.SIDEBAR)
    assert ui.query(page)["maxeval"] == ["20"]
    want = ui.engine_fit("seed", "slope", True, "pybobyqa", 20)
    assert ui.metrics(page)["Random slope"] == ui.expected_metrics(
        "seed", ("slope",), optimizer="pybobyqa", maxeval=20)["Random slope"]
    assert f"REML criterion at convergence: {want.criterion:.1f}" in ui.summaries(page)[0]
    assert "Optimizer did not finish" in ui.text_of(page)
    # A bad start θ is refused in words next to the box; lme4's start is used.
    ui.fill_text(page, "Start θ (comma-separated)", "1, 2, x", ui.SIDEBAR)
    assert "Start θ must be 1 to 3 numbers" in ui.text_of(page, ui.SIDEBAR)
    assert "start" not in ui.query(page)
    ui.assert_clean(page)
