"""Just enough of R's number formatting to print summaries in lme4's layout.

``format_r`` follows R's ``formatReal``: one common number of decimals for a
vector, chosen so that every element shows ``digits`` significant digits, with
scientific notation when that is narrower.
"""

from __future__ import annotations

import math

import numpy as np


def _sci(x: float, digits: int) -> tuple[int, int, bool]:
    """(kpower, nsig, negative) of x rounded to ``digits`` significant digits."""
    if x == 0 or not math.isfinite(x):
        return 0, 1, x < 0
    ax = abs(x)
    kp = math.floor(math.log10(ax))
    r = round(ax / 10**kp * 10 ** (digits - 1))
    if r >= 10**digits:
        kp += 1
        r = round(ax / 10**kp * 10 ** (digits - 1))
    nsig = digits
    while nsig > 1 and r % 10 == 0:
        r //= 10
        nsig -= 1
    return kp, nsig, x < 0


def format_r(values, digits: int = 7, nsmall: int = 0) -> list[str]:
    """R's ``format(x, digits=)`` for a numeric vector: common decimals, common width."""
    vals = [float(v) for v in np.ravel(values)]
    finite = [v for v in vals if math.isfinite(v)]
    if not finite:
        return _pad(["NaN" if math.isnan(v) else ("Inf" if v > 0 else "-Inf") for v in vals])
    mxsl, rgt, mxns, neg_any = 1, 0, 1, False
    mxe, mne = -(10**9), 10**9
    for v in finite:
        kp, nsig, neg = _sci(v, digits)
        left = kp + 1
        sleft = neg + (1 if left <= 0 else left)
        rgt = max(rgt, nsig - kp - 1)
        mxsl = max(mxsl, sleft)
        mxns = max(mxns, nsig)
        mxe, mne = max(mxe, kp), min(mne, kp)
        neg_any = neg_any or neg
    rgt = max(rgt, 0)
    wF = mxsl + rgt + (rgt != 0)
    e = 2 if (mxe >= 100 or mne <= -99) else 1
    d = mxns - 1
    w_sci = neg_any + (d > 0) + d + 4 + e
    if wF <= w_sci:
        rgt = max(rgt, nsmall)
        out = [_fixed(v, rgt) for v in vals]
    else:
        out = [_special(v) if not math.isfinite(v) else f"{v:.{d}e}" for v in vals]
    return _pad(out)


def _special(v: float) -> str:
    return "NaN" if math.isnan(v) else ("Inf" if v > 0 else "-Inf")


def _fixed(v: float, decimals: int) -> str:
    if not math.isfinite(v):
        return _special(v)
    s = f"{v:.{decimals}f}"
    if s.startswith("-") and float(s) == 0:
        s = s[1:]
    return s


def _pad(strings: list[str]) -> list[str]:
    w = max((len(s) for s in strings), default=0)
    return [s.rjust(w) for s in strings]


def zapsmall(x, digits: int) -> np.ndarray:
    """R 4.2's ``zapsmall``: round to ``digits − log10(max|x|)`` places (R rounds that
    non-integer count to the nearest integer)."""
    x = np.asarray(x, float)
    mx = np.max(np.abs(x)) if x.size else 0.0
    d = max(0, math.floor(digits - math.log10(mx) + 0.5)) if mx > 0 else digits
    return np.round(x, d)


def abbreviate(name: str, minlength: int) -> str:
    """R's ``abbreviate`` (method "left.kept") for one name."""
    s = list(name.strip())
    if len(s) <= minlength:
        return "".join(s)

    def first(i):
        return s[i - 1].isspace()

    def last(i):
        return not s[i - 1].isspace() and (i + 1 >= len(s) or s[i + 1].isspace())

    def vowel(i):
        return s[i] in "aeiou"

    for test in (
        lambda i: vowel(i) and last(i),
        lambda i: vowel(i) and not first(i),
        lambda i: s[i].islower() and last(i),
        lambda i: s[i].islower() and not first(i),
        lambda i: not first(i) and not s[i].isspace(),
    ):
        i = len(s) - 1
        while i > 0:
            if i < len(s) and test(i):
                del s[i]
            if len(s) <= minlength:
                return "".join(s)
            i -= 1
    return "".join(s)


def print_matrix(cells: list[list[str]], colnames: list[str], rownames: list[str],
                 right: bool = False) -> list[str]:
    """R's ``print`` of a character matrix with ``quote = FALSE``."""
    ncol = len(colnames)
    rw = max([len(r) for r in rownames] + [0])
    widths = [max([len(colnames[j])] + [len(row[j]) for row in cells]) for j in range(ncol)]
    just = (lambda t, w: t.rjust(w)) if right else (lambda t, w: t.ljust(w))
    lines = [" " * rw + "".join(" " + just(colnames[j], widths[j]) for j in range(ncol))]
    for r, row in zip(rownames, cells):
        lines.append(r.ljust(rw) + "".join(" " + just(row[j], widths[j]) for j in range(ncol)))
    return lines


def print_named(values: list[str], names: list[str]) -> list[str]:
    """R's ``print`` of a named vector: one common width, right-justified, trailing space."""
    w = max(len(t) for t in values + names)
    return ["".join(n.rjust(w) + " " for n in names), "".join(v.rjust(w) + " " for v in values)]
