"""The first screen in a real browser: the paradox in numbers without a click."""

from __future__ import annotations

import app_ui as ui
from helpers import shot

SEED_SLOPES = "+7.86 · within-subject OLS slopes −7.47, −6.27, −10.94 · random intercept −8.16 · random slope −8.215"


def test_first_screen_numbers(page, app_server):
    ui.load(page, app_server + "/")
    shot(page, "first_screen")
    # The paradox in one line.
    line = ui.paradox_text(page)
    assert line.startswith("Simpson's paradox: across all subjects pain rises with dosage, but within each "
                           "subject it falls."), line
    assert "pooled OLS slope " + SEED_SLOPES in line, line
    # The big numbers and each model's criterion.
    m = ui.metrics(page)
    assert m == {"Pooled OLS": "+7.86", "Own OLS, mean": "−8.23", "Random intercept": "−8.16",
                 "Random slope": "−8.215"}, m
    assert m == ui.expected_metrics("seed")
    caps = ui.metric_captions(page)
    assert "REML 77.4" in caps and "REML 68.1" in caps, caps
    # Both lme4-style summaries, beside the chart, equal to the engine's text.
    sums = ui.summaries(page)
    assert len(sums) == 2
    assert ui.norm(sums[0]) == ui.norm(ui.expected_summary("seed", "intercept", "seed"))
    assert ui.norm(sums[1]) == ui.norm(ui.expected_summary("seed", "slope", "seed"))
    assert "REML criterion at convergence: 77.4" in sums[0]
    assert "REML criterion at convergence: 68.1" in sums[1]
    # A chart is drawn (Vega renders an SVG or a canvas), with its marks.
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    chart.locator("canvas, svg.marks").first.wait_for()
    # Defaults: seed, REML, robust default; the address is bare (no parameters).
    assert ui.query(page) == {}
    assert page.get_by_role("combobox", name="Data source").input_value().startswith("Seed example")
    assert page.get_by_role("radio", name="REML").is_checked()
    assert page.get_by_role("combobox", name="Optimizer").input_value().startswith("★ Robust default")
    assert ui.open_tab_name(page) == "Fit"
    # Nothing is wrong: no red boxes, no notices, no exceptions, no console errors.
    assert not ui.alert_texts(page, "Error"), ui.alert_texts(page, "Error")
    assert ui.notices(page) == ""
    ui.assert_clean(page)


def test_first_screen_is_fast_when_cached(page, app_server):
    """A second visitor gets the cached fits: the footer's server time stays small."""
    ui.load(page, app_server + "/")
    footer = page.locator('[data-testid="stSidebar"]').get_by_text("Server time for this run").inner_text()
    ms = ui.number_after(footer, "Server time for this run:")
    assert ms < 3000, footer  # generous: the machine is shared; cached reruns take ~40 ms
    ui.assert_clean(page)


def test_first_screen_answers_the_question_in_lme4s_words(page, app_server):
    """At 1400×1000, without a click or a scroll: lme4's bobyqa stops at +7.204 (REML 101.34, a
    local optimum it reports as a normal exit), lme4's Nelder_Mead and the robust default reach
    −8.215 (REML 68.07), and the links to see why. The same numbers in Compare, in allFit's order."""
    ui.load(page, app_server + "/")
    panel = page.locator(".st-key-lme4_question")
    box = panel.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 1000, box
    text = panel.inner_text()
    for want in ("bobyqa (lme4 1.1.31) → slope +7.204 · REML 101.34 · local optimum",
                 "Normal exit from bobyqa", "Nelder_Mead (lme4 1.1.31) → slope −8.215 · REML 68.07",
                 "robust default → slope −8.215 · REML 68.07", "Why? The landscape", "Why? The tour"):
        assert want in text, (want, text)
    ui.click_button(page, "Why? The landscape", scope=".st-key-lme4_question")
    assert ui.open_tab_name(page) == "Landscape"
    ui.open_tab(page, "Compare optimizers")
    chart = page.locator('[data-testid="stVegaLiteChart"]').first.get_attribute("aria-label")
    assert "at 101.34 (dosage slope +7.20)" in chart and "at 68.07 (dosage slope −8.215)" in chart, chart
    assert "lme4's optimizers (lmmviz's twins): bobyqa 101.34 (+7.20), Nelder_Mead" in chart, chart
