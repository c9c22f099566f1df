"""The command line: stable JSON, compare, optimizers, simulate, stdin and usage errors.

Each test runs the real command in a subprocess (``python -m lmmviz``), as a user
would, with a timeout: a hang is a failure. Bad-file handling is in test_bad_input.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from lmmviz.data import example_bytes

SEED = Path(__file__).parent / "fixtures" / "seed.csv"
SEED_COLS = ["--y", "pain", "--x", "dosage", "--group", "subject_id"]
TIMEOUT = 120

# The README's stable keys of a fit object.
STABLE_KEYS = {
    "model", "reml", "optimizer", "criterion", "loglik", "aic", "bic", "theta", "fixef", "se", "df", "p_value",
    "sigma", "varcorr", "singular", "converged", "warnings", "n_obs", "n_groups", "dropped_rows", "evaluations",
    "seconds",
}
# Also present today (documented in the README as extras): not part of the stable contract.
KNOWN_EXTRAS = {"formula", "x", "ranef", "diagnostics", "runs"}


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lmmviz", *args], input=stdin, capture_output=True,
                          timeout=TIMEOUT)


def assert_usage_error(p: subprocess.CompletedProcess, phrase: str = "") -> str:
    err = p.stderr.decode()
    lines = err.splitlines()
    assert p.returncode == 2, (p.returncode, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert "Traceback" not in err
    assert phrase.lower() in lines[0].lower(), lines[0]
    assert p.stdout == b""
    return lines[0]


def test_seed_fixture_is_the_packaged_example():
    assert SEED.read_bytes().replace(b"\r\n", b"\n") == example_bytes("seed").replace(b"\r\n", b"\n")


@pytest.mark.parametrize("model", ["intercept", "slope", "uncorrelated", "within_between"])
def test_fit_json_has_the_stable_keys(model):
    p = run("fit", str(SEED), *SEED_COLS, "--model", model, "--json")
    assert p.returncode == 0, p.stderr
    assert p.stderr == b""
    out = json.loads(p.stdout)
    assert STABLE_KEYS <= set(out), STABLE_KEYS - set(out)
    assert set(out) - STABLE_KEYS <= KNOWN_EXTRAS, f"undocumented keys: {set(out) - STABLE_KEYS - KNOWN_EXTRAS}"
    assert out["model"] == model and out["reml"] is True and out["optimizer"] == "robust"
    x_names = ["dosage_within", "dosage_mean"] if model == "within_between" else ["dosage"]
    assert list(out["fixef"]) == ["(Intercept)", *x_names]
    assert list(out["se"]) == list(out["df"]) == list(out["p_value"]) == list(out["fixef"])
    assert isinstance(out["theta"], list) and len(out["theta"]) == {"slope": 3, "uncorrelated": 2}.get(model, 1)
    assert isinstance(out["warnings"], list)
    assert (out["n_obs"], out["n_groups"], out["dropped_rows"]) == (12, 3, 0)
    assert isinstance(out["evaluations"], int) and out["evaluations"] > 0
    assert out["seconds"] >= 0 and out["sigma"] > 0
    assert out["aic"] == pytest.approx(out["criterion"] + 2 * (len(out["fixef"]) + len(out["theta"]) + 1))
    assert out["loglik"] == pytest.approx(-out["criterion"] / 2)
    for row in out["varcorr"]:
        assert set(row) == {"grp", "var1", "var2", "vcov", "sdcor"}
    if model == "slope":
        assert out["criterion"] == pytest.approx(68.0749, abs=1e-3)
        assert out["fixef"]["dosage"] == pytest.approx(-8.215, abs=1e-3)


def test_fit_ml_and_summary_text():
    p = run("fit", str(SEED), *SEED_COLS, "--ml", "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["reml"] is False
    p = run("fit", str(SEED), *SEED_COLS, "--model", "slope")
    assert p.returncode == 0
    text = p.stdout.decode()
    assert "Linear mixed model fit by REML" in text and "pain ~ dosage + (1 + dosage | subject_id)" in text


def test_fit_json_confint_profile_as_lme4():
    """The issue's contract: df, p_value and confint per fixed effect (lme4's numbers on the
    seed's random slope: profile [-11.40, -5.02]; lmerTest's df 2.0, p 0.0279)."""
    p = run("fit", str(SEED), *SEED_COLS, "--model", "slope", "--json", "--confint", "profile")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert (out["confint_method"], out["confint_level"]) == ("profile", 0.95)
    assert list(out["confint"]) == list(out["fixef"])
    assert out["confint"]["dosage"] == pytest.approx([-11.4015, -5.0164], abs=0.005 * 6.385)
    assert out["df"]["dosage"] == pytest.approx(2.0, abs=0.005)
    assert out["p_value"]["dosage"] == pytest.approx(0.02785, rel=0.01)
    p = run("fit", str(SEED), *SEED_COLS, "--model", "slope", "--confint", "wald")
    text = p.stdout.decode()
    assert p.returncode == 0 and "Confidence intervals (wald):" in text and "2.5 %" in text, text
    assert "Pr(>|t|)" in text
    assert_usage_error(run("fit", str(SEED), *SEED_COLS, "--confint", "boot"), "--confint")


def test_compare_json_reproduces_both_seed_optima():
    p = run("compare", str(SEED), *SEED_COLS, "--model", "slope", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert set(out) == {"fits", "best"}
    fits = out["fits"]
    assert out["best"] == next(f["optimizer"] for f in fits if f["verdict"] == "best")
    # lme4's twins first (allFit's order), then lmmviz's own optimizers best first
    assert [f["family"] for f in fits][:5] == ["lme4"] * 5 and fits[0]["optimizer"] == "lme4:bobyqa"
    crits = [f["criterion"] for f in fits if f["criterion"] is not None and f["family"] == "lmmviz"]
    assert crits == sorted(crits), "lmmviz's fits are not best first"
    assert all(f["verdict"] in ("best", "local optimum", "failed", "not run") for f in fits)
    for f in fits:
        if f["criterion"] is not None:
            assert STABLE_KEYS <= set(f)
    # lme4's global optimum and its local one (lme4's own default stops there).
    assert any(abs(f["criterion"] - 68.07) < 0.01 and abs(f["fixef"]["dosage"] + 8.215) < 0.01
               for f in fits if f["verdict"] == "best")
    assert any(abs(f["criterion"] - 101.34) < 0.01 and abs(f["fixef"]["dosage"] - 7.20) < 0.01
               for f in fits if f["verdict"] == "local optimum")


def test_optimizers_lists_names_with_library_and_algorithm():
    p = run("optimizers")
    assert p.returncode == 0
    lines = {ln.split()[0]: ln.split(None, 1)[1] for ln in p.stdout.decode().splitlines() if ln.strip()}
    required = {"nlopt_bobyqa": "NLopt", "nlopt_neldermead": "NLopt", "nlopt_newuoa": "NLopt",
                "nlopt_sbplx": "NLopt", "pybobyqa": "Py-BOBYQA", "scipy_nelder_mead": "SciPy",
                "scipy_powell": "SciPy", "scipy_lbfgsb": "SciPy", "scipy_cobyqa": "SciPy"}
    assert "robust" in lines
    for name, library in required.items():
        assert name in lines, name
        lib, _, algorithm = lines[name].partition(":")
        assert lib.strip() == library and algorithm.strip(), lines[name]


NEWUOA_WHY = "NLopt NEWUOA needs at least two parameters"


@pytest.mark.parametrize("model", ["intercept", "within_between"])
def test_newuoa_on_a_one_theta_model_says_why(model):
    # NLopt itself refuses with an empty "invalid_argument: ".
    line = assert_usage_error(run("fit", str(SEED), *SEED_COLS, "--model", model, "--optimizer", "nlopt_newuoa"),
                              NEWUOA_WHY)
    assert f"the {model} model has one θ value" in line and "choose another optimizer" in line


def test_optimizers_note_what_newuoa_cannot_fit():
    p = run("optimizers")
    lines = {ln.split()[0]: ln for ln in p.stdout.decode().splitlines() if ln.strip()}
    assert "needs at least two parameters: not for the one-θ models" in lines["nlopt_newuoa"]
    assert sum("needs at least" in ln for ln in lines.values()) == 1  # only NEWUOA has a limit


def test_compare_leaves_newuoa_out_of_one_theta_models_with_the_reason():
    p = run("compare", str(SEED), *SEED_COLS, "--model", "intercept")
    assert p.returncode == 0, p.stderr
    row = next(ln for ln in p.stdout.decode().splitlines() if ln.startswith("nlopt_newuoa"))
    assert row.split()[1:4] == ["-", "not", "run"]
    assert row.endswith(NEWUOA_WHY + "; the intercept model has one θ value")


def test_compare_json_entries_all_have_the_same_keys():
    p = run("compare", str(SEED), *SEED_COLS, "--model", "intercept", "--json")
    assert p.returncode == 0, p.stderr
    fits = json.loads(p.stdout)["fits"]
    assert len({tuple(f) for f in fits}) == 1, [sorted(f) for f in fits]
    assert STABLE_KEYS <= set(fits[0])
    left_out = [f for f in fits if f["verdict"] == "not run"]
    assert [f["optimizer"] for f in left_out] == ["nlopt_newuoa"]
    f = left_out[0]
    assert f["criterion"] is None and f["fixef"] is None and f["theta"] is None and f["converged"] is None
    assert f["model"] == "intercept" and f["reml"] is True and f["message"].startswith(NEWUOA_WHY)
    # the other nine reach lme4's optimum, 77.41, but SciPy's L-BFGS-B, whose stop follows the
    # machine's BLAS (tests/test_numerics.py), may stop a little above it
    assert all(abs(g["criterion"] - 77.4113) < 1e-3 for g in fits if g is not f and "lbfgsb" not in g["optimizer"])
    assert all(g["criterion"] < 77.42 for g in fits if g is not f)


def test_fit_with_a_named_optimizer():
    # One process for one registry name; compare (above) runs every one of them.
    p = run("fit", str(SEED), *SEED_COLS, "--model", "slope", "--optimizer", "nlopt_bobyqa", "--json")
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["optimizer"] == "nlopt_bobyqa"
    assert len(out["runs"]) == 1


def test_simulate_is_deterministic_and_fit_reads_its_output(tmp_path):
    a = run("simulate", "--seed", "5", "--n-subjects", "4", "--n-obs", "6", "--out", "-")
    b = run("simulate", "--seed", "5", "--n-subjects", "4", "--n-obs", "6", "--out", "-")
    c = run("simulate", "--seed", "6", "--n-subjects", "4", "--n-obs", "6", "--out", "-")
    assert a.returncode == 0 and a.stdout == b.stdout and a.stdout != c.stdout
    assert len(a.stdout.decode().splitlines()) == 1 + 24
    out = tmp_path / "sim.csv"
    p = run("simulate", "--preset", "classic", "--seed", "5", "--out", str(out))
    assert p.returncode == 0 and out.exists()
    assert "wrote" in p.stderr.decode()
    p = run("fit", str(out), "--y", "pain", "--x", "dosage", "--group", "subject_id", "--model", "slope", "--json")
    assert p.returncode == 0, p.stderr
    fitted = json.loads(p.stdout)
    assert fitted["n_obs"] == 5 * 6 and fitted["n_groups"] == 5
    # The same CSV through standard input, columns guessed from their names.
    p2 = run("fit", "-", "--model", "slope", "--json", stdin=out.read_bytes())
    assert p2.returncode == 0, p2.stderr
    assert json.loads(p2.stdout)["criterion"] == pytest.approx(fitted["criterion"], rel=1e-9)


def test_stdin_dash_reads_the_seed():
    p = run("fit", "-", *SEED_COLS, "--model", "slope", "--json", stdin=SEED.read_bytes())
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["criterion"] == pytest.approx(68.0749, abs=1e-3)
    p = run("compare", "-", *SEED_COLS, "--json", stdin=b"")
    assert_usage_error(p, "empty")


@pytest.mark.parametrize("args,phrase", [
    (["fit", "SEED", *SEED_COLS, "--optimizer", "nope"], "unknown optimizer"),
    (["fit", "SEED", *SEED_COLS, "--model", "nope"], "invalid choice"),
    (["compare", "SEED", *SEED_COLS, "--model", "quadratic"], "invalid choice"),
    (["fit", "SEED", *SEED_COLS, "--bogus"], "unrecognized arguments"),
    (["fit", "SEED", "--y"], "expected one argument"),
    (["fit"], "required"),
    ([], "required"),
    (["frobnicate"], "invalid choice"),
    (["optimizers", "--bogus"], "unrecognized"),
    (["fit", "SEED", *SEED_COLS, "--maxeval", "0"], "maxeval"),
    (["fit", "SEED", *SEED_COLS, "--maxeval", "many"], "maxeval"),
    (["fit", "SEED", *SEED_COLS, "--start", "a,b"], "start"),
    (["fit", "SEED", *SEED_COLS, "--model", "slope", "--start", "1,2"], "start"),
    (["fit", "SEED", *SEED_COLS, "--start", "nan"], "start"),
    (["fit", "SEED", *SEED_COLS, "--initial-step", "-1"], "initial-step"),
    (["fit", "SEED", *SEED_COLS, "--ftol", "inf"], "ftol"),
    (["fit", "SEED", *SEED_COLS, "--max-seconds", "nan"], "max-seconds"),
    (["fit", "SEED", "--y", "pain", "--x", "pain", "--group", "subject_id"], "different columns"),
    (["fit", "SEED", "--y", "nope", "--x", "dosage", "--group", "subject_id"], "no column named"),
    (["simulate", "--n-subjects", "1", "--out", "-"], "subjects"),
    (["simulate", "--sigma", "nan", "--out", "-"], "sigma"),
    (["simulate", "--seed", "-1", "--out", "-"], "seed"),
    (["simulate", "--preset", "nope", "--out", "-"], "preset"),
    (["simulate", "--out", "/nonexistent-dir/x.csv"], "cannot write"),
    (["simulate"], "--out"),
])
def test_usage_errors_are_one_line_with_exit_2(args, phrase):
    args = [str(SEED) if a == "SEED" else a for a in args]
    assert_usage_error(run(*args), phrase)


def test_endless_binary_input_is_refused_quickly():
    # /dev/zero never ends: the reader must look at its start and stop, not read it all.
    assert_usage_error(run("fit", "/dev/zero"), "binary")
    assert_usage_error(run("fit", "-", stdin=bytes(5_000_000)), "binary")


def test_help_is_fast_and_clean():
    p = run("--help")
    assert p.returncode == 0 and b"fit" in p.stdout and p.stderr == b""


def test_installed_console_script():
    # The script pip installed next to this interpreter (e.g. .venv/bin), not whatever PATH finds.
    exe = Path(sysconfig.get_path("scripts")) / "lmmviz"
    assert exe.is_file(), f"the lmmviz console script is not installed in {exe.parent} (pip install -e .)"
    p = subprocess.run([exe, "fit", str(SEED), *SEED_COLS, "--json"], capture_output=True, timeout=TIMEOUT)
    assert p.returncode == 0 and json.loads(p.stdout)["criterion"] == pytest.approx(77.4113, abs=1e-3)
