"""The criterion against θ for the one-parameter models, with its refined minima."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd

from ..data import Data
from ..deviance import make_deviance
from ..design import Design
from .budget import MAX_CURVE, Progress, clamp_count, report_progress
from .coords import ONE_D, auto_range
from .grid import batch_deviance, design_of
from .paths import Paths


@dataclass(frozen=True, eq=False)
class Curve:
    """The criterion against θ for a one-parameter model.

    ``frame``: ``theta`` (log-spaced), ``criterion``, ``excess`` (criterion − the
    lowest minimum). ``minima``: ``theta``, ``criterion``, ``kind`` ("interior" or
    "boundary" at θ = 0), ``rank`` (1 = lowest), ``label``. ``at_zero`` is the
    criterion at θ = 0 (no between-group variance), which a log axis cannot show.
    """

    model: str
    reml: bool
    criterion_name: str
    frame: pd.DataFrame
    minima: pd.DataFrame
    theta_range: tuple[float, float]
    at_zero: float
    notes: tuple[str, ...] = ()


def _minima_1d(f, grid: np.ndarray, vals: np.ndarray, at_zero: float) -> list[tuple[float, float, str]]:
    """Local minima of the grid, refined with SciPy's bounded scalar minimizer (in log θ
    inside the grid, in θ between 0 and the first point), plus θ = 0 when the criterion
    falls all the way there."""
    from scipy.optimize import minimize_scalar

    found: list[tuple[float, float, str]] = []
    n = len(grid)
    v = np.where(np.isfinite(vals), vals, np.inf)
    for i in range(n):
        left = v[i - 1] if i > 0 else at_zero
        right = v[i + 1] if i < n - 1 else -np.inf  # the top edge is no minimum
        if not (v[i] < left and v[i] <= right):
            continue
        if i == 0:
            lo, hi = 0.0, grid[1]
            res = minimize_scalar(lambda t: f(np.array([t])), bounds=(lo, hi), method="bounded",
                                  options={"xatol": 1e-10 * max(hi, 1.0)})
            t, fv = float(res.x), float(res.fun)
        else:
            lo, hi = math.log(grid[i - 1]), math.log(grid[i + 1])
            res = minimize_scalar(lambda s: f(np.array([math.exp(s)])), bounds=(lo, hi), method="bounded",
                                  options={"xatol": 1e-10})
            t, fv = math.exp(float(res.x)), float(res.fun)
        if fv > v[i]:  # the optimizer can only improve on the grid
            t, fv = float(grid[i]), float(v[i])
        found.append((t, fv, "interior"))
    if math.isfinite(at_zero) and n and at_zero <= v[0] and (not found or found[0][0] > grid[0] or at_zero <= found[0][1]):
        # decreasing towards θ = 0 all the way: a boundary (singular) minimum
        if not any(t <= grid[0] for t, _, _ in found) or at_zero <= min(fv for t, fv, _ in found if t <= grid[0]):
            found = [m for m in found if m[0] > grid[0]]
            found.insert(0, (0.0, at_zero, "boundary"))
    return found


def _auto_theta_range(bd, paths: Paths | None, include: Sequence[float]) -> tuple[float, float]:
    """A range covering the paths, ``include`` and the minima a coarse scan finds."""
    vals = list(include)
    if paths is not None:
        vals += list(paths.coordinate_values()["theta"])
    scan = np.geomspace(1e-3, 1e4, 71)
    sv = bd(scan[:, None])
    vals += [scan[i] for i in range(1, 70) if sv[i] < sv[i - 1] and sv[i] <= sv[i + 1]]
    vals.append(float(scan[np.argmin(sv)]))
    return auto_range(vals)


def curve_1d(
    source: Data | Design,
    model: str | None = None,
    reml: bool = True,
    theta_range: tuple[float, float] | None = None,
    n: int = 400,
    paths: Paths | None = None,
    include: Sequence[float] = (),
    progress: Progress = None,
) -> Curve:
    """The criterion on a log grid of θ for ``intercept`` or ``within_between``.

    The range defaults to :func:`auto_range` over every optimizer path in ``paths``,
    the values in ``include`` and the minima; local minima of the grid are refined
    with SciPy's bounded scalar minimizer on the true criterion.
    """
    d = design_of(source, model)
    model = d.spec.name
    if model not in ONE_D:
        raise ValueError(f"the 1-D curve is for the one-parameter models {ONE_D}, not {model!r}")
    notes: list[str] = []
    n = clamp_count(n, 20, MAX_CURVE, "curve points", notes)
    f = make_deviance(d, reml)
    bd = batch_deviance(d, reml=reml)
    if theta_range is None:
        theta_range = _auto_theta_range(bd, paths, include)
    lo, hi = float(theta_range[0]), float(theta_range[1])
    if not (0 < lo < hi and math.isfinite(hi)):
        raise ValueError(f"θ range must satisfy 0 < lo < hi, got {theta_range}")
    grid = np.geomspace(lo, hi, n)
    vals = bd(grid[:, None], progress=progress, span=0.9)
    at_zero = float(f(np.array([0.0])))
    minima = _minima_1d(f, grid, vals, at_zero)
    report_progress(progress, 1.0)
    best = min([fv for _, fv, _ in minima] + [float(np.min(vals))])
    mf = pd.DataFrame(minima, columns=["theta", "criterion", "kind"])
    mf = mf.sort_values("criterion", kind="stable").reset_index(drop=True)
    mf["rank"] = np.arange(1, len(mf) + 1)
    mf["label"] = [f"{'lowest' if r == 1 else 'local'} minimum {c:.2f} at θ = {t:.4g}"
                   for r, c, t in zip(mf["rank"], mf["criterion"], mf["theta"])]
    mf = mf.sort_values("theta").reset_index(drop=True)
    frame = pd.DataFrame({"theta": grid, "criterion": vals, "excess": vals - best})
    if len(vals) > 1 and vals[-1] < vals[-2]:
        notes.append("the criterion still falls at the right edge: widen the range to see where it turns")
    return Curve(model, reml, "REML criterion" if reml else "-2 log-likelihood", frame, mf,
                 (lo, hi), at_zero, tuple(notes))
