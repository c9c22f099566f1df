"""The distinct optima of the criterion (converged runs and a view's minima), and
which two of them a slice joins."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import pandas as pd

from ..results import same_basin


@dataclass(frozen=True)
class Optimum:
    """One optimum of the criterion: its lowest criterion and θ, the optimizer runs
    that converged there (none for a minimum only the curve or map found) and a
    label (the criterion, with as many decimals as tell the optima apart)."""

    criterion: float
    theta: tuple[float, ...]
    optimizers: tuple[str, ...] = ()
    label: str = ""


def _theta_of_row(row: pd.Series) -> tuple[float, ...]:
    cols = [c for c in row.index if c.startswith("theta") and c[5:].isdigit()]
    if not cols:  # a 1-D curve's minima carry θ as "theta"
        cols = ["theta"]
    return tuple(float(row[c]) for c in sorted(cols, key=lambda c: int(c[5:] or 0)))


def converged_optima(comparison=None, minima: pd.DataFrame | None = None, fits: Sequence = ()) -> list[Optimum]:
    """The distinct optima, best first.

    From ``comparison`` (and extra ``fits``) only runs that converged count: a run
    that stopped at its evaluation budget, or whose result fails lme4's convergence
    checks (``Fit.converged``), marks where it gave up, not an optimum. The minima
    of a curve or map (``Curve.minima``, ``Map2D.minima``) join as optima that no
    optimizer reached unless one converged there too. Candidates in one basin
    (:func:`lmmviz.results.same_basin`) are one optimum, at the lowest of them.
    """
    cands: list[tuple[float, tuple[float, ...], tuple[str, ...]]] = []
    runs = [(e.optimizer, e.fit) for e in comparison.entries] if comparison is not None else []
    runs += [(f.optimizer, f) for f in fits]
    for name, ft in runs:
        if ft is not None and ft.converged and math.isfinite(ft.criterion):
            cands.append((float(ft.criterion), tuple(float(t) for t in ft.theta), (name,)))
    if minima is not None:
        for _, row in minima.iterrows():
            if math.isfinite(float(row["criterion"])):
                cands.append((float(row["criterion"]), _theta_of_row(row), ()))
    groups: list[list] = []
    for c, th, names in sorted(cands, key=lambda r: r[0]):
        if groups and same_basin(c, groups[-1][0]):
            groups[-1][2] += [n for n in names if n not in groups[-1][2]]
        else:
            groups.append([c, th, list(names)])
    decimals = 2  # enough decimals that no two labels read the same
    while decimals < 8 and len({f"{g[0]:.{decimals}f}" for g in groups}) < len(groups):
        decimals += 1
    return [Optimum(c, th, tuple(names), f"{c:.{decimals}f}") for c, th, names in groups]


def slice_pair(optima: Sequence[Optimum]) -> tuple[Optimum, Optimum] | None:
    """(a, b) for the slice: b the lowest optimum, a the other one where the most
    optimizer runs converged (the trap that catches most of them; ties go to the
    lower criterion). None with fewer than two optima."""
    if len(optima) < 2:
        return None
    best = min(optima, key=lambda o: o.criterion)
    others = [o for o in optima if o is not best]
    return max(others, key=lambda o: (len(o.optimizers), -o.criterion)), best


def describe_optima(a: Optimum, b: Optimum) -> str:
    """Where the two ends of the slice come from, in words."""
    def where(o: Optimum) -> str:
        n = len(o.optimizers)
        if n == 0:
            return f"{o.label}, a minimum of the landscape that no optimizer converged to"
        return f"{o.label}, where {n} optimizer run{'s' if n > 1 else ''} converged"
    return f"The slice joins {where(a)}, and {where(b)} (the lowest criterion found)."
