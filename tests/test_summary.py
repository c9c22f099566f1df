"""lme4's print(summary(m)), line for line, and the R number formatting behind it.

summary_text prints lmerTest's layout by default (Satterthwaite df and p-values, as R
does with lmerTest loaded); lme4's own layout (satterthwaite=False) is what the lme4
fixtures hold. lmerTest's layout is checked in tests/test_inference.py."""

import re

import pytest

import lmmviz
from lmmviz.rformat import abbreviate, format_r, zapsmall
from refdata import DATASETS, as_x, data, fits, theta

CASES = [
    (name, i) for name in DATASETS for i, f in enumerate(fits(name))
    if not (f["model"] == "within_between" and len(f["fixef"]) < 3)
]


def _body(text: str) -> list[str]:
    """The summary without Data:/Control: lines (they name R objects) and without the
    closing optimizer block, which is compared separately."""
    lines = [ln for ln in text.splitlines() if not ln.startswith(("   Data:", "Control:"))]
    end = next((i for i, ln in enumerate(lines) if ln.startswith(("optimizer (", "fit warnings"))), len(lines))
    lines = lines[:end]
    while lines and not lines[-1]:
        lines.pop()
    return lines


@pytest.mark.parametrize("name,i", CASES)
def test_summary_matches_lme4_line_for_line(name, i):
    f = fits(name)[i]
    d = as_x(data(name)) if f["model"] == "within_between" else data(name)
    ours = lmmviz.summary_text(lmmviz.fit_at(d, f["model"], theta(f), f["REML"]), satterthwaite=False)
    assert _body(ours) == _body(f["summary_text"])
    # the closing block: lme4 prints the singular-fit message for exactly the singular fits
    singular_msg = "boundary (singular) fit: see help('isSingular')"
    assert (singular_msg in ours) == (singular_msg in f["summary_text"])


NUMBER = re.compile(r"-?\d+\.?\d*(?:e[-+]\d+)?")


def _close(a: str, b: str, rel: float) -> bool:
    """Same words and layout; numbers equal up to ``rel`` (optimizers stop at slightly
    different θ on a flat criterion, so lme4's own optimizers differ in the last digits)."""
    if NUMBER.sub("#", a) != NUMBER.sub("#", b):
        return False
    return all(abs(float(x) - float(y)) <= rel * max(abs(float(y)), 1e-12) + 1e-12
               for x, y in zip(NUMBER.findall(a), NUMBER.findall(b)))


def test_seed_default_fits_print_like_lme4s_best_fits():
    d = lmmviz.seed()
    for model in ("intercept", "slope"):
        ours = _body(lmmviz.summary_text(lmmviz.fit(d, model), data_name="df_test", satterthwaite=False))
        for ref in [min(fits("seed", model, True), key=lambda f: f["criterion"])]:
            theirs = _body(ref["summary_text"])
            assert len(ours) == len(theirs)
            # the seed's optimum lies on a flat ridge (θ₁ ≈ 392–393 across lme4's optimizers)
            assert all(_close(a, b, 1e-3) for a, b in zip(ours, theirs)), (model, ref["optimizer"])


def test_local_optimum_summary_ends_with_lme4s_messages():
    ref = next(f for f in fits("seed", "slope", True) if f["optimizer"] == "bobyqa")
    ours = lmmviz.summary_text(lmmviz.fit(lmmviz.seed(), "slope", optimizer="pybobyqa"))
    tail = ours.rstrip("\n").splitlines()[-2:]
    assert tail[0] == "optimizer (pybobyqa) convergence code: 0 (OK)"
    assert tail[1] == "boundary (singular) fit: see help('isSingular')"
    assert ref["summary_text"].splitlines()[-2:] == ["optimizer (bobyqa) convergence code: 0 (OK)", tail[1]]


@pytest.mark.parametrize("values,expected", [
    ([161876.287895527, 8.45011923751742], ["161876.29", "     8.45"]),
    ([0.0001234, 5], ["0.0001234", "5.0000000"]),
    ([1e-10, 1], ["1e-10", "1e+00"]),
    ([123456789, 1.5], ["1.235e+08", "1.500e+00"]),
    ([-0.5, 0.25, 100], [" -0.50", "  0.25", "100.00"]),
    ([0, 0], ["0", "0"]),
    ([1e6, 2], ["1e+06", "2e+00"]),
    ([2.5e-7, 3.1e-9], ["2.5e-07", "3.1e-09"]),
])
def test_format_matches_r(values, expected):
    # expected strings are R 4.2.2's format(x, digits = 4)
    assert format_r(values, 4) == expected


@pytest.mark.parametrize("name,six,eleven", [
    ("(Intercept)", "(Intr)", "(Intercept)"), ("x_within", "x_wthn", "x_within"),
    ("dosage", "dosage", "dosage"), ("Reaction_mean", "Rctn_m", "Reaction_mn"),
    ("weight_within", "wght_w", "weight_wthn"), ("Days", "Days", "Days"),
    ("distance_within", "dstnc_", "distnc_wthn"),
])
def test_abbreviate_matches_r(name, six, eleven):
    assert abbreviate(name, 6) == six
    assert abbreviate(name, 11) == eleven


def test_zapsmall_is_r_4_2s():
    # R 4.2.2: zapsmall(c(-1.34814723504, -0.01501891935), 5) -> -1.34815 -0.01502
    assert list(zapsmall([-1.34814723504, -0.01501891935], 5)) == [-1.34815, -0.01502]
    assert list(zapsmall([-1.34814723504, -0.01501891935, 3.9], 5)) == [-1.3481, -0.0150, 3.9]
