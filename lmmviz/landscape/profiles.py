"""Profiles of one relative SD: the lowest criterion with it held fixed, and the
interval over which that stays within a level of the minimum."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ..data import Data
from ..deviance import make_deviance
from ..design import Design
from .coords import TWO_D, coords_to_theta, theta_coords
from .grid import batch_deviance, design_of


@dataclass(frozen=True, eq=False)
class ProfilePoint:
    """The lowest criterion with one coordinate held fixed, and where it is."""

    value: float
    criterion: float
    theta: tuple[float, ...]


def _scan_start(bd, model: str, coord: str, v: float) -> tuple[np.ndarray, list]:
    """The best point of a batched coarse scan over the other SD (log scale) and, for
    the slope model, the correlation; and the bounds of the search in those terms."""
    others = np.geomspace(1e-4, 1e5, 46)
    if model == "slope":
        O, R = np.meshgrid(others, np.linspace(-1.0, 1.0, 21))
        o, r = O.ravel(), R.ravel()
        a, b = (np.full_like(o, v), o) if coord == "sd_int" else (o, np.full_like(o, v))
        i = int(np.argmin(bd(coords_to_theta("slope", a, b, r))))
        return np.array([math.log(o[i]), r[i]]), [(math.log(1e-8), math.log(1e8)), (-1.0, 1.0)]
    a, b = (np.full_like(others, v), others) if coord == "sd_int" else (others, np.full_like(others, v))
    i = int(np.argmin(bd(np.column_stack([a, b]))))
    return np.array([math.log(others[i])]), [(math.log(1e-8), math.log(1e8))]


def profile_point(source: Data | Design, coord: str, value: float, model: str | None = None,
                  reml: bool = True, warm: Sequence[float] | None = None) -> ProfilePoint:
    """Minimize the criterion over the other parameters with ``coord`` (``sd_int``
    or ``sd_slope``, relative SDs) held at ``value``.

    The other SD (log scale) and, for the slope model, the correlation are found by
    a batched coarse scan, then SciPy's bounded Nelder-Mead from the best scan
    point and from ``warm`` (e.g. the previous point of a profile); the lower
    result wins.
    """
    from scipy.optimize import minimize

    d = design_of(source, model)
    model = d.spec.name
    if model not in TWO_D:
        raise ValueError(f"profiles over one SD are for {TWO_D}; for {model!r} use curve_1d")
    if coord not in ("sd_int", "sd_slope"):
        raise ValueError('coord must be "sd_int" or "sd_slope"')
    f = make_deviance(d, reml)
    v = float(value)

    def theta_of(z) -> np.ndarray:
        other = math.exp(z[0])
        a, b = (v, other) if coord == "sd_int" else (other, v)
        if model == "slope":
            return coords_to_theta("slope", a, b, float(np.clip(z[1], -1.0, 1.0)))[0]
        return np.array([a, b])

    start, bounds = _scan_start(batch_deviance(d, reml=reml), model, coord, v)
    starts = [start]
    if warm is not None:
        wc = theta_coords(model, np.asarray(warm, float)[None, :]).iloc[0]
        other = wc["sd_slope"] if coord == "sd_int" else wc["sd_int"]
        z = [math.log(max(float(other), 1e-8))]
        if model == "slope":
            z.append(float(np.nan_to_num(wc["corr"])))
        starts.append(np.array(z))
    best: tuple[float, np.ndarray] | None = None
    for z0 in starts:
        res = minimize(lambda z: f(theta_of(z)), z0, method="Nelder-Mead", bounds=bounds,
                       options={"xatol": 1e-7, "fatol": 1e-9, "maxfev": 2000})
        th = theta_of(res.x)
        fv = float(f(th))
        if best is None or fv < best[0]:
            best = (fv, th)
    return ProfilePoint(v, best[0], tuple(float(t) for t in best[1]))


def profile_interval(source: Data | Design, coord: str, model: str | None = None, reml: bool = True,
                     best_theta: Sequence[float] | None = None, level: float = 3.841458820694124,
                     max_factor: float = 1e4) -> tuple[float, float, float]:
    """The range of ``coord`` over which the profiled criterion stays within
    ``level`` of its minimum (3.84: a 95% profile interval for one parameter).

    Returns (lower, upper, value at the best fit). A bound that is never crossed
    within ``max_factor`` of the best value is returned as 0 or ``inf``.
    ``best_theta`` defaults to the robust fit's θ.
    """
    from scipy.optimize import brentq

    d = design_of(source, model)
    model = d.spec.name
    if best_theta is None:
        from .. import fit as _fit  # the public API (lazy attribute of the package)

        best_theta = _fit(d, reml=reml).theta
    bt = np.asarray(best_theta, float)
    f0 = float(make_deviance(d, reml)(bt))
    v0 = float(theta_coords(model, bt[None, :])[coord].iloc[0])
    if not v0 > 0:
        raise ValueError(f"{coord} is 0 at the best fit: no log-scale interval")

    def g(logv: float) -> float:
        return profile_point(d, coord, math.exp(logv), reml=reml, warm=bt).criterion - f0 - level

    out = []
    for direction in (-1.0, 1.0):
        lo_log, step = math.log(v0), math.log(1.5)
        found = None
        while abs(lo_log - math.log(v0)) < math.log(max_factor):
            nxt = lo_log + direction * step
            if g(nxt) > 0:
                a, b = sorted((lo_log, nxt))
                found = math.exp(brentq(g, a, b, xtol=1e-4))
                break
            lo_log = nxt
            step *= 1.5
        out.append(found if found is not None else (0.0 if direction < 0 else math.inf))
    return out[0], out[1], v0
