"""Diagnostics in words a student can act on: what happened (with the fit's own numbers),
why it matters, what to do; and no internal vocabulary of the robust default.

Numbers are never written here: each is taken from a fit and looked for in the text,
at the precision the text prints it, which must not sit on a rounding boundary."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import lmmviz
from lmmviz.optimizers import OptimizerSettings
from lmmviz.report import plain_number
from lmmviz.ui.tables import local_optimum

NUMBER = re.compile(r"[+\u2212-]?\d[\d,]*(?:\.\d+)?")
JARGON = ("centred, scaled", "moment start", "polish", "θ", "rhoend", "MAXEVAL", "lme4 start")


def numbers(text: str) -> list[tuple[float, int]]:
    """Every number in ``text`` with its count of decimals."""
    out = []
    for m in NUMBER.finditer(text):
        s = m.group().replace("\u2212", "-").replace(",", "")
        out.append((float(s), len(s.split(".")[1]) if "." in s else 0))
    return out


def shows(text: str, value: float, sign: bool = False) -> bool:
    """``value`` appears in ``text`` rounded to the decimals printed (at least 2 below 1000),
    and that rounding is not a toss-up (the value is not within 5% of a last digit from a
    rounding boundary). With ``sign`` the printed number must carry the value's sign."""
    for shown, d in numbers(text):
        if abs(value) < 1000 and d < 2:
            continue
        if abs(shown - value) <= 0.5 * 10 ** -d + 1e-12:
            assert abs((abs(value) * 10 ** d) % 1 - 0.5) >= 0.05, (value, shown, text)
            if sign and value > 0 and f"+{abs(shown):.{d}f}" not in text:
                continue
            if value < 0 and f"\u2212{abs(shown):.{d}f}" not in text:
                continue
            return True
    return False


@pytest.fixture(scope="module")
def stuck(seed):
    """The question's trap: the random slope fitted with Py-BOBYQA (a singular local optimum)."""
    return lmmviz.fit(seed, "slope", optimizer="pybobyqa")


@pytest.fixture(scope="module")
def best(seed):
    return lmmviz.fit(seed, "slope")


def test_local_optimum_says_what_happened_with_both_fits_numbers(stuck, best):
    d = local_optimum(stuck, best)
    assert d.code == "local_optimum" and d.severity == "problem"
    # what happened: where this optimizer stopped, what the robust default found, the two slopes
    assert shows(d.message, stuck.criterion) and shows(d.message, best.criterion)
    assert shows(d.message, stuck.slope, sign=True) and shows(d.message, best.slope, sign=True)
    assert d.message.startswith("This optimizer (Py-BOBYQA: BOBYQA) stopped at REML ")
    assert "the robust default found a lower criterion" in d.message
    assert "opposite slope of dosage" in d.message  # the signs differ: the paradox comes back
    assert "got stuck in a local optimum" in d.message
    # why it matters: the gap, and that the optimizer's "success" does not help
    assert "Why it matters" in d.message and shows(d.message, stuck.criterion - best.criterion)
    assert "reported success" in d.message
    # what to do
    assert d.advice.startswith("Report the lower one: refit with the robust default.")
    assert "Landscape tab" in d.advice
    assert not [w for w in JARGON if w in d.message + d.advice]


def test_the_same_sign_is_not_called_opposite(seed):
    """The uncorrelated model stopped early by COBYLA: same sign, and not a local optimum
    but a run that ran out of evaluations; the text says so in words."""
    best = lmmviz.fit(seed, "uncorrelated")
    early = lmmviz.fit(seed, "uncorrelated", optimizer="nlopt_cobyla",
                       settings=OptimizerSettings(maxeval=40))
    assert not early.optsum.converged and early.criterion > best.criterion + 0.01
    d = local_optimum(early, best)
    assert d.code == "stopped_early" and d.title == "Stopped early"
    assert "opposite" not in d.message
    assert "before it reached a minimum (it used up its maximum number of evaluations)" in d.message
    assert shows(d.message, early.criterion) and shows(d.message, best.criterion)
    assert "raise the maximum evaluations" in d.advice
    assert not [w for w in JARGON if w in d.message + d.advice]


def test_robust_default_explains_its_starts_without_internal_names(best):
    (d,) = [d for d in best.diagnostics if d.code == "optima_disagree"]
    optima = best.distinct_optima()
    low, high = optima[0][0], optima[-1][0]
    assert shows(d.message, low) and shows(d.message, high) and shows(d.message, high - low)
    assert f"{len(optima[0][1])} of its runs reached the lowest REML criterion" in d.message
    assert "(the run from lme4's own start)" in d.message  # the start the question's lme4 fit used
    assert "without any warning" in d.message
    assert d.advice.startswith("Nothing to fix here: the lowest optimum is reported.")
    assert not [w for w in JARGON if w in d.title + d.message + d.advice]


@pytest.mark.parametrize("model", ["intercept", "slope", "uncorrelated", "within_between"])
def test_every_warning_says_why_and_what_to_do(seed, model):
    for ft in (lmmviz.fit(seed, model), lmmviz.fit(seed, model, optimizer="pybobyqa")):
        for d in ft.diagnostics:
            if d.severity == "info":
                continue
            assert "Why it matters" in d.message or d.code == "optima_disagree", d
            assert d.advice, d
            assert not [w for w in JARGON if w in d.title + d.message + d.advice], d


def test_singular_and_correlation_name_what_sits_on_the_boundary(stuck):
    corr = next(r.sdcor for r in stuck.varcorr if r.var2 is not None)
    by_code = {d.code: d for d in stuck.diagnostics}
    sing, one = by_code["singular"], by_code["corr_one"]
    assert "the correlation of random intercepts and slopes is estimated as" in sing.message
    assert shows(sing.message, corr, sign=True) and shows(one.message, corr, sign=True)
    assert "subject_id.dosage" not in sing.message  # lme4's θ name, meaningless to the reader
    assert sing.advice.startswith("Fit the simpler random-intercept model")
    assert one.advice.startswith("Do not report this correlation.")


def test_a_zero_sd_is_named(seed):
    ft = lmmviz.fit(seed, "uncorrelated", optimizer="pybobyqa")
    (d,) = [d for d in ft.diagnostics if d.code == "singular"]
    assert "the SD of the random slopes of dosage is estimated as 0" in d.message


def test_unfinished_optimizer_says_how_to_give_it_more(seed):
    ft = lmmviz.fit(seed, "slope", optimizer="nlopt_bobyqa", settings=OptimizerSettings(maxeval=8))
    (d,) = [d for d in ft.diagnostics if d.code == "not_converged"]
    assert "(it used up its maximum number of evaluations)" in d.message
    assert "“Maximum evaluations per run”" in d.advice and "--maxeval" in d.advice


@pytest.mark.parametrize("model,advice", [
    ("slope", "Prefer a model with one variance, the random-intercept or within-between model"),
    ("intercept", "Trust the slope of dosage more than the variance between groups"),
    ("within_between", "Read the between-group slope (of the averages of dosage per subject_id value)"),
])
def test_few_groups_says_how_many_and_what_to_do(seed, model, advice):
    ft = lmmviz.fit(seed, model)
    (d,) = [d for d in ft.diagnostics if d.code == "few_groups"]
    assert d.message.startswith(f"The data hold only {ft.n_groups} groups (values of subject_id).")
    assert f"like an SD from {ft.n_groups} numbers" in d.message
    assert advice in d.advice, d.advice


def test_plain_number_adds_a_digit_only_at_a_rounding_boundary():
    assert plain_number(101.33995) == "101.34"
    assert plain_number(68.07492) == "68.075"  # 68.07 would be one rounding away from 68.08
    assert plain_number(-8.21498, sign=True) == "\u22128.215"
    assert plain_number(7.2037, sign=True) == "+7.20"
    assert plain_number(-8.2167) == "\u22128.22"
    assert plain_number(123456.4) == "123,456"


def test_cli_prints_what_to_do_under_each_note():
    seed = Path(__file__).parent / "fixtures" / "seed.csv"
    p = subprocess.run([sys.executable, "-m", "lmmviz", "fit", str(seed), "--y", "pain", "--x", "dosage",
                        "--group", "subject_id", "--model", "slope", "--optimizer", "pybobyqa"],
                       capture_output=True, timeout=120)
    out = p.stdout.decode()
    assert p.returncode == 0, p.stderr.decode()
    notes = out.split("note: ")[1:]
    assert [n.split(":")[0] for n in notes] == ["Singular fit", "Correlation of ±1", "Only 3 groups"]
    assert all("\n  why it matters: " in n and "\n  what to do: " in n for n in notes), out


def test_robust_default_is_not_told_to_try_the_robust_default():
    """A singular fit with a correlation of −1 that the robust default itself reached
    (the classic preset's random slope) is the data's answer: the advice says so and does
    not send the reader to the optimizer they already used."""
    from lmmviz.data import PRESETS, prepare

    ft = lmmviz.fit(prepare(lmmviz.simulate(PRESETS["classic"])), "slope")
    by_code = {d.code: d for d in ft.diagnostics}
    sing, one = by_code["singular"], by_code["corr_one"]
    for d in (sing, one):
        assert "robust default or another optimizer" not in d.advice and "local optimum" not in d.message
    assert "not an optimizer's slip" in sing.advice
    assert one.advice == ("Do not report this correlation. Fit the uncorrelated or the random-intercept model "
                          "and compare them with the likelihood-ratio test.")


def test_app_says_no_warnings_in_words_when_there_are_none():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).parents[1] / "app.py"), default_timeout=120)
    at.query_params["src"] = "preset"
    at.query_params["preset"] = "no_confounding"
    at.run()
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == [
        "No warnings: every fit reached a clear minimum of its criterion, with no variance at 0 and no "
        "correlation at ±1."]
    lrt = [c.value.replace("\\", "") for c in at.caption if c.value.startswith("χ²")]
    assert len(lrt) == 1 and "this p-value, like lme4's, is conservative" in lrt[0]
    assert "With only" not in lrt[0]  # 8 subjects: no few-groups caution


def test_lrt_caption_on_the_seed_names_the_number_of_subjects(seed):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).parents[1] / "app.py"), default_timeout=120)
    at.run()
    (lrt,) = [c.value.replace("\\", "") for c in at.caption if c.value.startswith("χ²")]
    n = lmmviz.fit(seed, "intercept").n_groups
    assert lrt.endswith(f"With only {n} subjects, read it as a rough guide."), lrt


def test_stopped_short_gives_both_criteria_and_slopes(seed):
    """A run that ends near the optimum, a little above it (made here by moving θ of the
    best random-intercept fit by 2%), is 'stopped short', with four-decimal numbers."""
    from dataclasses import replace

    from lmmviz.fitting import fit_at

    best = lmmviz.fit(seed, "intercept")
    near = replace(fit_at(seed, "intercept", [t * 1.02 for t in best.theta]), optimizer="pybobyqa")
    assert 0 < near.criterion - best.criterion < 1e-3 * best.criterion
    d = local_optimum(near, best)
    assert d.code == "stopped_short" and d.severity == "warning"
    assert d.message.startswith("This optimizer (Py-BOBYQA: BOBYQA) stopped at REML ")
    for v in (near.criterion, best.criterion, near.criterion - best.criterion):
        assert shows(d.message, v), (v, d.message)
    assert shows(d.message, near.slope, sign=True) and shows(d.message, best.slope, sign=True)
    assert "Tighten the tolerances or raise the maximum evaluations" in d.advice


def test_diagnostics_are_shown_as_what_why_and_what_to_do(stuck, best):
    """The Fit tab and the CLI show each part on its own line."""
    from lmmviz.report import diagnostic_parts
    from lmmviz.ui.tables import diagnostic_markdown

    d = local_optimum(stuck, best)
    what, why, todo = diagnostic_parts(d)
    assert what.endswith("got stuck in a local optimum.") and "Why it matters" not in what
    assert why.startswith("a lower criterion is a better fit of the same model to the same data")
    assert todo == d.advice
    lines = diagnostic_markdown(d, "Random slope").split("  \n")
    assert len(lines) == 3
    assert lines[0].startswith("**Local optimum** (Random slope). This optimizer")
    assert lines[1].startswith("*Why it matters:* a lower criterion") and lines[2].startswith("*What to do:* Report")
