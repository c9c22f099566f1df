"""lme4's optimizers as twins (lmmviz/lme4opt.py): each lands where its lme4 namesake lands.

Reference: lme4 1.1-31 fits by every allFit optimizer (tests/fixtures/*.lme4.json and
tests/fixtures/allfit/, see tests/twin_agreement.py). The goal (issue 10): each twin within
0.02 of its namesake's criterion in at least 95% of the cases and in every seed case.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import lmmviz
from lmmviz.optimizers import optimizer_label
import refdata
from twin_agreement import TWIN_NAMES, run_case, table

ROOT = Path(__file__).resolve().parents[1]
SEED = ROOT / "lmmviz" / "examples" / "seed.csv"

# Disagreements with lme4 on the seed that no configuration of NLopt's or SciPy's
# Nelder-Mead removes: lme4's own Nelder_Mead accepts a reflected point below the worst
# vertex (NLopt: below the second worst) and keeps an expansion worse than its
# reflection; lme4 wanders to 68.07 where the twin stops at 101.34. Listed, not hidden.
# The nloptwrap twin's ML slope fit follows lme4's path for 7 evaluations; then criteria that
# differ from lme4's in the 14th digit (closed-form blocks vs CHOLMOD) send it to 108.37 beside
# lme4's 108.30, both above the ML optimum 82.23. Which of the two a run reaches follows the last
# bits: lmmviz's earlier BLAS-summed criterion agreed here on two CPUs and missed elsewhere.
KNOWN_SEED_DEFECTS = {("Nelder_Mead", "slope", True), ("nloptwrap.NLOPT_LN_BOBYQA", "slope", False)}


@pytest.fixture(scope="module")
def rates():
    rows = table()
    print()
    print(f"{'twin':36s} {'cases':>5s} {'agreed':>6s} {'rate':>6s}")
    for r in rows:
        print(f"{r['twin']:36s} {r['cases']:5d} {r['agreed']:6d} {r['rate']:6.3f}")
        for c in r["disagreeing"]:
            print(f"    disagrees: {c}")
    return {r["twin"]: r for r in rows}


@pytest.mark.parametrize("name", TWIN_NAMES)
def test_twin_lands_where_lme4_lands_in_95_percent_of_cases(rates, name):
    r = rates[f"lme4:{name}"]
    assert r["cases"] >= 100, "too few reference cases to measure a rate"
    assert r["rate"] >= 0.95, f"{r['agreed']} of {r['cases']}; disagreeing: {r['disagreeing']}"


def _seed_params():
    out = []
    for fr in refdata.fits("seed"):
        if fr["optimizer"] not in TWIN_NAMES:
            continue
        marks = ()
        if (fr["optimizer"], fr["model"], fr["REML"]) in KNOWN_SEED_DEFECTS:
            marks = pytest.mark.xfail(strict=True, reason="known defect: see KNOWN_SEED_DEFECTS")
        out.append(pytest.param(fr, marks=marks,
                                id=f"{fr['optimizer']}-{fr['model']}-{'REML' if fr['REML'] else 'ML'}"))
    return out


@pytest.mark.parametrize("fr", _seed_params())
def test_twin_lands_where_lme4_lands_on_every_seed_case(fr):
    case = run_case("seed", refdata.data("seed"), fr)
    assert case.agrees, str(case)


def test_the_seed_question_with_lme4s_bobyqa():
    # the question: lme4's bobyqa stops at REML 101.34 with slope +7.20, singular (Corr -1)
    ft = lmmviz.fit(lmmviz.seed(), "slope", optimizer="lme4:bobyqa")
    assert ft.criterion == pytest.approx(101.3399, abs=2e-3)
    assert ft.fixef["dosage"] == pytest.approx(7.2037, abs=2e-3)
    assert ft.singular
    assert optimizer_label("lme4:bobyqa") == "lme4: bobyqa (minqa)"


@pytest.mark.xfail(strict=True, reason="known defect: see KNOWN_SEED_DEFECTS")
def test_the_seed_question_with_lme4s_nelder_mead():
    ft = lmmviz.fit(lmmviz.seed(), "slope", optimizer="lme4:Nelder_Mead")
    assert ft.criterion == pytest.approx(68.0749, abs=2e-3)
    assert ft.fixef["dosage"] == pytest.approx(-8.2150, abs=2e-3)


def test_nloptwrap_is_an_alias_of_its_bobyqa():
    a = lmmviz.fit(lmmviz.seed(), "uncorrelated", optimizer="lme4:nloptwrap")
    b = lmmviz.fit(lmmviz.seed(), "uncorrelated", optimizer="lme4:nloptwrap.NLOPT_LN_BOBYQA")
    # lme4's nloptwrap stops at the uncorrelated model's local optimum 101.88
    assert a.criterion == b.criterion == pytest.approx(101.8803, abs=2e-3)
    assert optimizer_label("lme4:nloptwrap") == "lme4: nloptwrap BOBYQA"


def test_cli_fits_with_an_lme4_name():
    p = subprocess.run([sys.executable, "-m", "lmmviz", "fit", str(SEED), "--y", "pain", "--x", "dosage",
                        "--group", "subject_id", "--model", "slope", "--optimizer", "lme4:bobyqa", "--json"],
                       capture_output=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["optimizer"] == "lme4:bobyqa"
    assert out["criterion"] == pytest.approx(101.3399, abs=2e-3)


def test_unknown_lme4_name_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="lme4:Nelder_Mead"):
        lmmviz.fit(lmmviz.seed(), "slope", optimizer="lme4:nlminbwrap")


def test_cli_compare_lists_the_twins_first_in_allfit_order():
    p = subprocess.run([sys.executable, "-m", "lmmviz", "compare", str(SEED), "--y", "pain", "--x", "dosage",
                        "--group", "subject_id", "--model", "intercept"], capture_output=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.decode().splitlines()
    first = [ln.split()[0] for ln in lines[2:9]]
    assert first == ["bobyqa", "Nelder_Mead", "optimx.L-BFGS-B", "nloptwrap.NLOPT_LN_NELDERMEAD",
                     "nloptwrap.NLOPT_LN_BOBYQA", "nlminbwrap", "nmkbw"]
    # no twin for nlminbwrap and nmkbw, and the reason is shown
    assert all("no twin" in ln and "no Python optimization library" in ln for ln in lines[7:9])
    own = lines[lines.index(next(ln for ln in lines if ln.startswith("lmmviz ("))) + 2:]
    names = [ln.split()[0] for ln in own if ln.strip()]
    assert "robust" in names and "nlopt_bobyqa" in names and not any(n.startswith("lme4:") for n in names)
    # the random-intercept model: all of lme4's optimizers reach REML 77.41 (seed.lme4.json)
    assert all(float(ln.split()[3]) == pytest.approx(77.4113, abs=2e-3) for ln in lines[2:7])


def test_packaged_seed_lme4_results_are_the_fixtures():
    """lmmviz/examples/seed.lme4.json (what the first screen quotes from lme4) is made from the
    R fixture by tests/fixtures/make_seed_lme4_extract.py, and says what the question says."""
    import importlib.util
    import json
    from pathlib import Path

    from lmmviz.data import seed_lme4

    here = Path(__file__).parent / "fixtures"
    spec = importlib.util.spec_from_file_location("extract", here / "make_seed_lme4_extract.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    full = json.loads((here / "seed.lme4.json").read_text())
    packaged = json.loads((here.parents[1] / "lmmviz/examples/seed.lme4.json").read_text())
    assert packaged == mod.extract(full)
    slope = seed_lme4("slope")
    assert round(slope["bobyqa"].criterion, 2) == 101.34 and slope["bobyqa"].slope > 7.2
    assert round(slope["Nelder_Mead"].criterion, 2) == 68.07 and abs(slope["Nelder_Mead"].slope + 8.215) < 1e-3
    assert round(seed_lme4("intercept")["bobyqa"].criterion, 2) == 77.41
