"""Text alternatives of the charts say, in numbers, what each chart draws (seed data)."""

import lmmviz
from lmmviz import describe, landscape


def test_fit_chart_alt_names_every_line_with_its_slope():
    d = lmmviz.seed()
    fits = {"intercept": lmmviz.fit(d, "intercept"), "slope": lmmviz.fit(d, "slope")}
    text = describe.fit_chart_alt(lmmviz.pooled_ols(d), lmmviz.per_group_ols(d), fits, "dosage", "pain", "subject")
    assert text.startswith("Scatter plot of pain against dosage for 3 subjects")
    assert "3 of 3 fall" in text and "slope +7.86" in text
    assert "random intercept population line: slope \u22128.16" in text
    assert "random slope population line: slope \u22128.215" in text


def test_compare_and_landscape_alts_give_the_optima():
    d = lmmviz.seed()
    cmp = lmmviz.compare(d, "slope")
    frame = landscape.comparison_frame(cmp)
    text = describe.compare_alt(frame, "dosage", "REML criterion")
    assert "at 68.07 (dosage slope \u22128.215)" in text and "at 101.34 (dosage slope +7.20)" in text
    assert "lme4's optimizers (lmmviz's twins): bobyqa 101.34 (+7.20), Nelder_Mead 101.34 (+7.20)" in text
    paths = landscape.optimizer_paths(cmp)
    assert f"for {len(paths.runs)} optimizer runs" in describe.trace_alt(paths)
    m = landscape.map_2d(d, "slope", nx=30, ny=30, paths=paths)
    text = describe.map_alt(m, paths, "subject_id")
    assert text.startswith("Heat map of the REML criterion over σ_intercept/σ and σ_slope/σ of subject_id")
    assert "minima at 68.07 and 101.34" in text and f"; {len(paths.runs)} optimizer paths." in text


def test_curve_alt_gives_the_minima():
    d = lmmviz.seed()
    text = describe.curve_alt(landscape.curve_1d(d, "intercept"))
    assert "2 minima: 77.41 at θ ≈ 138" in text and "101.88" in text


def test_effects_alts_count_the_subjects():
    d = lmmviz.seed()
    ft = lmmviz.fit(d, "slope")
    assert describe.caterpillar_alt(ft.ranef, "subject_id").startswith(
        "Interval plot of the conditional modes (BLUPs) of 3 subject_id levels")
    assert "((Intercept), dosage)" in describe.caterpillar_alt(ft.ranef, "subject_id")
