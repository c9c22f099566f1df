"""Satterthwaite df and p-values against lmerTest 3.1-3, and confidence intervals against
lme4 1.1-31's confint (tests/fixtures/lmertest.json, made by fixtures/make_lmertest.R)."""

import json
from functools import lru_cache

import pytest

import lmmviz
from lmmviz.design import make_design
from refdata import FIXTURES, data

CASES = [(name, model) for name in ("seed", "sleepstudy") for model in ("intercept", "slope")]


@lru_cache(maxsize=None)
def ref(name: str, model: str) -> dict:
    fits = json.loads((FIXTURES / "lmertest.json").read_text())[name]["fits"]
    return next(f for f in fits if f["model"] == model)


@lru_cache(maxsize=None)
def fit_at_ref(name: str, model: str) -> lmmviz.Fit:
    """The fit at lmerTest's own θ: the df are compared at the same optimum."""
    th = ref(name, model)["theta"]
    return lmmviz.fit_at(data(name), model, th if isinstance(th, list) else [th])


@pytest.mark.parametrize("name,model", CASES)
def test_satterthwaite_df_and_p_value_as_lmertest(name, model):
    ours = fit_at_ref(name, model)
    for j, (k, r) in enumerate(ref(name, model)["fixef"].items()):
        assert ours.fixef_names[j] == k
        assert ours.df[j] == pytest.approx(r["df"], rel=1e-3), k
        assert ours.p_value[j] == pytest.approx(r["p"], rel=1e-2), k
        assert ours.tvalue[j] == pytest.approx(r["t"], rel=1e-5), k


def test_seed_robust_fits_give_lmertests_df_and_p():
    """The issue's numbers, from lmmviz's own fits (not at lmerTest's θ)."""
    slope = lmmviz.fit(lmmviz.seed(), "slope").to_dict()
    assert slope["df"]["dosage"] == pytest.approx(2.0, abs=0.005)
    assert slope["p_value"]["dosage"] == pytest.approx(0.02785, rel=1e-2)
    intercept = lmmviz.fit(lmmviz.seed(), "intercept").to_dict()
    assert intercept["df"]["dosage"] == pytest.approx(8.0608, rel=1e-3)
    assert intercept["p_value"]["dosage"] == pytest.approx(4.217e-6, rel=1e-2)


def _body(text: str) -> list[str]:
    lines = [ln for ln in text.splitlines() if not ln.startswith("   Data:")]
    end = next((i for i, ln in enumerate(lines) if ln.startswith("optimizer (")), len(lines))
    return [ln for ln in lines[:end] if ln]


@pytest.mark.parametrize("name,model", CASES)
def test_summary_in_lmertests_layout_line_for_line(name, model):
    ours = lmmviz.summary_text(fit_at_ref(name, model), "df_test")
    assert _body(ours) == _body(ref(name, model)["summary_text"])


@pytest.mark.parametrize("name,model", CASES)
def test_wald_intervals_as_lme4(name, model):
    ours = lmmviz.confint(fit_at_ref(name, model), method="wald").intervals()
    for k, r in ref(name, model)["fixef"].items():
        assert ours[k] == pytest.approx(r["wald"], abs=1e-4 * r["se"]), k


@pytest.mark.parametrize("name,model", CASES)
def test_profile_intervals_as_lme4(name, model):
    """Within 0.5% of the interval's width: lme4 interpolates a spline through profile
    points where lmmviz solves for the crossing exactly (they agree to ~5e-5 of the width)."""
    fit = fit_at_ref(name, model)
    ci = lmmviz.confint(fit, make_design(data(name), model), method="profile")
    assert (ci.method, ci.level) == ("profile", 0.95)
    for k, r in ref(name, model)["fixef"].items():
        width = r["profile"][1] - r["profile"][0]
        assert ci.intervals()[k] == pytest.approx(r["profile"], abs=5e-3 * width), k


def test_confint_rejects_what_it_cannot_do():
    fit = fit_at_ref("seed", "intercept")
    with pytest.raises(ValueError, match="method"):
        lmmviz.confint(fit, method="boot")
    with pytest.raises(ValueError, match="level"):
        lmmviz.confint(fit, level=1.5)
    with pytest.raises(ValueError, match="data"):
        lmmviz.confint(fit, method="profile")
