"""Scripts that reproduce the app's fits: the R script names the right formula and lme4
optimizer; the Python script runs and gives the same criterion."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

import lmmviz
from lmmviz.codegen import (
    APP_MAX_SECONDS, FitRecipe, n_theta, python_script, r_formula, r_name, r_optimizer, r_script, r_str, settings_for,
)

SEED_CSV = lmmviz.seed().frame.to_csv(index=False)
ALL = ("pooled", "per_group", "intercept", "slope", "uncorrelated", "within_between")


# The share link's names of the settings (as the tests were first written) -> OptimizerSettings'.
LINK_NAMES = {"step": "initial_step", "ftol": "ftol_abs", "xtol": "xtol_abs"}


def recipe(**kw) -> FitRecipe:
    base = dict(y="pain", x="dosage", group="subject_id", models=("pooled", "per_group", "intercept", "slope"),
                source="seed", csv_text=SEED_CSV)
    settings = {LINK_NAMES.get(k, k): kw.pop(k) for k in list(kw)
                if k in ("optimizer", "reml", "start", "step", "ftol", "xtol", "maxeval")}
    base.update(kw)
    return FitRecipe(**base, settings=lmmviz.OptimizerSettings(max_seconds=APP_MAX_SECONDS, **settings))


def run_python(script: str, cwd=None) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=cwd)
    assert out.returncode == 0, out.stderr[-2000:]
    return {m: float(v) for m, v in re.findall(r"criterion\[(\w+)\] = ([-\d.]+)", out.stdout)} | {
        f"slope:{m}": float(v) for m, v in re.findall(r"slope\[(\w+)\] = ([-\d.]+)", out.stdout)}


# --------------------------------------------------------------------------- R


def test_r_script_has_the_formulas_and_reads_the_data():
    r = r_script(recipe(models=ALL))
    assert "library(lme4)" in r
    assert "pain ~ dosage + (1 | subject_id)" in r
    assert "pain ~ dosage + (1 + dosage | subject_id)" in r
    assert "pain ~ dosage + (1 | subject_id) + (0 + dosage | subject_id)" in r
    assert "pain ~ dosage_within + dosage_mean + (1 | subject_id)" in r
    assert 'dat[["dosage_mean"]] <- ave(dat[["dosage"]], dat[["subject_id"]])' in r
    assert '"3,54.0,458.3"' in r  # the data are inside the script
    assert "REML = TRUE" in r and "REML = FALSE" not in r
    assert "lm(pain ~ dosage, data = dat)" in r and "lmList(pain ~ dosage | subject_id" in r
    assert "anova(m_intercept, m_slope)" in r
    assert r.count("criterion[") == 4


@pytest.mark.parametrize("optimizer,expected", [
    ("nlopt_bobyqa", 'optimizer = "nloptwrap", optCtrl = list(algorithm = "NLOPT_LN_BOBYQA"'),
    ("nlopt_neldermead", 'optimizer = "nloptwrap", optCtrl = list(algorithm = "NLOPT_LN_NELDERMEAD"'),
    ("nlopt_sbplx", 'algorithm = "NLOPT_LN_SBPLX"'),
    ("pybobyqa", 'optimizer = "bobyqa", optCtrl = list(maxfun = 10000'),
    ("scipy_nelder_mead", 'optimizer = "Nelder_Mead", optCtrl = list(maxfun = 10000'),
])
def test_r_script_uses_the_same_optimizer_where_lme4_has_one(optimizer, expected):
    r = r_script(recipe(optimizer=optimizer, models=("slope",)))
    assert expected in r
    assert "same optimizer as the app" in r


@pytest.mark.parametrize("optimizer", ["robust", "scipy_powell", "scipy_lbfgsb", "scipy_cobyqa"])
def test_r_script_says_when_lme4_has_no_such_optimizer(optimizer):
    r = r_script(recipe(optimizer=optimizer, models=("slope",)))
    assert "control =" not in r  # lme4's default
    assert "lme4 does not" in r
    opt, alg, comment = r_optimizer(optimizer)
    assert opt is None and alg is None


def test_r_script_carries_settings_start_and_ml():
    r = r_script(recipe(optimizer="pybobyqa", models=("intercept", "slope"), reml=False, start=(300, 0, 1.5),
                        step=20.0, xtol=1e-7, maxeval=500))
    assert "REML = FALSE" in r
    assert "rhobeg = 20, rhoend = 1e-07" in r and "maxfun = 500" in r
    # the start θ has three values: only the random-slope model takes it
    assert r.count("start = list(theta = c(300, 0, 1.5))") == 1
    nm = r_script(recipe(optimizer="scipy_nelder_mead", models=("slope",), step=0.5, ftol=1e-9))
    assert "xst = rep(0.5, 3)" in nm and "FtolAbs = 1e-09" in nm
    nl = r_script(recipe(optimizer="nlopt_neldermead", models=("slope",), step=0.5))
    assert "does not take an initial step" in nl


def test_r_names_and_strings_are_quoted():
    assert r_name("pain") == "pain" and r_name("my col") == "`my col`" and r_name("if") == "`if`"
    assert r_name("a`b") == "`a\\`b`"
    assert r_formula("slope", "y (cm)", "x", "g") == "`y (cm)` ~ x + (1 + x | g)"
    assert r_str('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'
    assert r_str("σ") == '"\\u{03c3}"'


def test_large_data_are_read_from_the_downloaded_csv():
    big = "g,x,y\n" + "".join(f"{i % 50},{i},{i}\n" for i in range(6000))
    r = r_script(recipe(source="csv", csv_text=big, y="y", x="x", group="g"))
    assert 'read.csv("lmmviz-data.csv", check.names = FALSE)' in r
    py = python_script(recipe(source="csv", csv_text=big, y="y", x="x", group="g"))
    assert "lmmviz.load('lmmviz-data.csv', y='y', x='x', group='g')" in py


def test_settings_for_uses_a_start_only_where_it_fits():
    assert [n_theta(m) for m in ("intercept", "slope", "uncorrelated", "within_between")] == [1, 3, 2, 1]
    assert settings_for("slope", (1, 0, 1)).start == (1.0, 0.0, 1.0)
    assert settings_for("intercept", (1, 0, 1)).start is None
    s = settings_for("intercept", (2.5,), step=0.1, ftol=1e-9, xtol=1e-7, maxeval=123)
    assert (s.start, s.initial_step, s.ftol_abs, s.xtol_abs, s.maxeval, s.max_seconds) == \
        ((2.5,), 0.1, 1e-9, 1e-7, 123, 20.0)


# --------------------------------------------------------------------------- Python, run for real


def test_python_script_reproduces_the_seed_fits():
    out = run_python(python_script(recipe(models=ALL)))
    assert out["intercept"] == pytest.approx(77.411303, abs=1e-5)
    assert out["slope"] == pytest.approx(68.074920, abs=1e-4)
    assert out["uncorrelated"] == pytest.approx(lmmviz.fit(lmmviz.seed(), "uncorrelated").criterion, abs=1e-4)
    assert out["within_between"] == pytest.approx(64.166536, abs=1e-5)
    assert out["slope:slope"] == pytest.approx(-8.214981, abs=1e-3)


def test_python_script_reproduces_a_local_optimum_with_the_same_optimizer():
    out = run_python(python_script(recipe(models=("slope",), optimizer="pybobyqa")))
    assert out["slope"] == pytest.approx(101.339947, abs=1e-4)
    assert out["slope:slope"] == pytest.approx(7.2037, abs=1e-3)


def test_python_script_reproduces_simulated_and_inline_data(tmp_path):
    settings = lmmviz.PRESETS["classic"]
    data = lmmviz.frame_to_data(lmmviz.simulate(settings))
    want = lmmviz.fit(data, "intercept", reml=False).criterion
    out = run_python(python_script(recipe(source="sim", sim=settings, models=("intercept",), reml=False)))
    assert out["intercept"] == pytest.approx(want, abs=1e-6)
    # awkward column names, written into the script
    fr = lmmviz.seed().frame.rename(columns={"pain": "pain 'score' (0-500)", "dosage": 'dose "mg"',
                                             "subject_id": "wer?"})
    csv = fr.to_csv(index=False)
    r = recipe(source="csv", csv_text=csv, y="pain 'score' (0-500)", x='dose "mg"', group="wer?",
               models=("intercept",), start=(100.0,), step=5.0)
    out = run_python(python_script(r), cwd=tmp_path)
    assert out["intercept"] == pytest.approx(77.411303, abs=1e-5)


# CI (.ci/run, CI=true) installs R with lme4, so there a missing R fails; elsewhere it skips.
@pytest.mark.skipif(shutil.which("Rscript") is None and not os.environ.get("CI"), reason="R is not installed")
def test_r_script_runs_in_r_with_lme4(tmp_path):
    assert shutil.which("Rscript"), "CI must have R (.ci/run installs r-base-core and r-cran-lme4)"
    check = subprocess.run(["Rscript", "-e", "library(lme4)"], capture_output=True, text=True, timeout=120)
    # With R present, a missing lme4 is a broken set-up, not a reason to skip.
    assert check.returncode == 0, "R is installed but lme4 is not (r-cran-lme4): " + check.stderr[-500:]
    script = tmp_path / "fit.R"
    script.write_text(r_script(recipe(models=("intercept", "slope", "within_between"), optimizer="nlopt_bobyqa")))
    out = subprocess.run(["Rscript", str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    crit = {m: float(v) for m, v in re.findall(r"criterion\[(\w+)\] = ([-\d.]+)", out.stdout)}
    assert crit["intercept"] == pytest.approx(77.411303, abs=1e-4)
    assert crit["slope"] == pytest.approx(68.07492, abs=1e-3)
    assert crit["within_between"] == pytest.approx(64.166536, abs=1e-4)
