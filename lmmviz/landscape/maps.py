"""The criterion over (σ_intercept/σ, σ_slope/σ) for the two-slope-parameter models."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple, Sequence

import numpy as np
import pandas as pd

from ..data import Data
from ..deviance import BatchDeviance
from ..design import Design
from .brent import brent_bounded
from .budget import MAX_GRID, MIN_GRID, Progress, clamp_count, report_progress
from .contours import contour_segments, default_levels
from .coords import TWO_D, auto_range, coords_to_theta, log_edges, theta_columns, theta_coords
from .grid import batch_deviance, design_of, grid_minima
from .paths import Paths


@dataclass(frozen=True, eq=False)
class Map2D:
    """The criterion over (σ_intercept/σ, σ_slope/σ), both log-spaced.

    ``third`` says what happened to the correlation: ``"profiled"`` (minimized at
    every point, the value used is in ``corr``), ``"held"`` (held at ``held_corr``,
    the correlation of a chosen optimum) or ``"none"`` (the uncorrelated model has
    only these two parameters). ``frame`` has one row per grid point: ``sd_int``,
    ``sd_slope``, their cell edges (``*_lo``, ``*_hi``), ``corr``, ``theta1``…,
    ``criterion``, ``excess``. ``minima``: refined local minima of the grid.
    ``contours``: line segments (``level``, ``sd_int``, ``sd_slope``, ``sd_int2``,
    ``sd_slope2``). ``description`` says it in words.
    """

    model: str
    reml: bool
    criterion_name: str
    third: str
    held_corr: float | None
    frame: pd.DataFrame
    minima: pd.DataFrame
    contours: pd.DataFrame
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    shape: tuple[int, int]  # (ny, nx)
    evaluations: int
    description: str
    notes: tuple[str, ...] = ()

    def grid(self) -> np.ndarray:
        """The criterion as an (ny, nx) array (rows: sd_slope, columns: sd_int)."""
        return self.frame["criterion"].to_numpy().reshape(self.shape)


def _profile_corr(bd: BatchDeviance, a: np.ndarray, b: np.ndarray, tol: float, progress: Progress,
                  n_coarse: int = 9) -> tuple[np.ndarray, np.ndarray, int]:
    """For every (a, b), minimize over corr ∈ [-1, 1]: a coarse scan, then Brent's
    bounded method in the bracket around the best scan point, vectorized over the
    grid. Returns (corr, f, evaluations per point, at most)."""
    N = len(a)
    rc = np.linspace(-1.0, 1.0, n_coarse)
    budget = n_coarse + 12  # for the progress bar only
    done = 0

    def ev(idx, r):
        nonlocal done
        v = bd(coords_to_theta("slope", a[idx], b[idx], r), progress, min(done / budget, 0.95),
               (1.0 / budget) * len(idx) / N, fast=True)
        done += len(idx) / N
        return v

    everyone = np.arange(N)
    F = np.empty((N, n_coarse))
    for j, r in enumerate(rc):
        F[:, j] = ev(everyone, np.full(N, r))
    j = np.argmin(F, axis=1)
    lo = rc[np.maximum(j - 1, 0)]
    hi = rc[np.minimum(j + 1, n_coarse - 1)]
    x, fx, iters = brent_bounded(ev, lo, hi, rc[j], F[everyone, j], tol)
    # the search ran on the fast expansion; every point's value is then computed exactly
    fx = bd(coords_to_theta("slope", a, b, x), progress, min(done / budget, 0.95), 0.05)
    return x, fx, n_coarse + iters + 1


def _ranges(model: str, x_range, y_range, paths: Paths | None, include, notes: list[str]):
    """The axis ranges: as given, else :func:`auto_range` over the paths and ``include``."""
    if x_range is None or y_range is None:
        xs_v, ys_v = [], []
        if paths is not None:
            cv = paths.coordinate_values()
            xs_v += list(cv["sd_int"])
            ys_v += list(cv["sd_slope"])
        if len(include):
            ci = theta_coords(model, np.atleast_2d(np.asarray(include, float)))
            xs_v += list(ci["sd_int"])
            ys_v += list(ci["sd_slope"])
        if not xs_v:
            xs_v, ys_v = [1e-2, 1e3], [1e-2, 1e2]
            notes.append("no optimizer paths given: default ranges")
        x_range = x_range or auto_range(xs_v)
        y_range = y_range or auto_range(ys_v)
    for r in (x_range, y_range):
        if not (0 < r[0] < r[1] and math.isfinite(r[1])):
            raise ValueError(f"ranges must satisfy 0 < lo < hi, got {r}")
    return (float(x_range[0]), float(x_range[1])), (float(y_range[0]), float(y_range[1]))


class _Values(NamedTuple):
    """The criterion at every grid point and what was done with the correlation."""

    theta: np.ndarray  # (N, n_theta)
    criterion: np.ndarray
    corr: np.ndarray
    evaluations: int  # per point
    third: str
    held_corr: float | None
    description: str


def _values(bd: BatchDeviance, a: np.ndarray, b: np.ndarray, third: str, held_theta, corr_tol: float,
            progress: Progress) -> _Values:
    """The criterion at (a, b) with the correlation profiled, held or (uncorrelated) absent."""
    if bd.design.spec.name == "uncorrelated":
        T = np.column_stack([a, b])
        return _Values(T, bd(T, progress=progress, span=0.95), np.full(len(a), np.nan), 1, "none", None,
                       "The uncorrelated model has exactly these two parameters: every point is one evaluation.")
    if third == "profile":
        corr, F, evals = _profile_corr(bd, a, b, corr_tol, (lambda x: report_progress(progress, 0.95 * x)))
        return _Values(coords_to_theta("slope", a, b, corr), F, corr, evals, "profiled", None,
                       "The correlation is profiled out: at every point it takes the value (between -1 and 1) "
                       "that gives the lowest criterion, so each point shows the best the model can do with "
                       "those two SDs.")
    if third != "held":
        raise ValueError(f'third must be "profile" or "held", not {third!r}')
    if held_theta is None:
        raise ValueError('third="held" needs held_theta, the θ of the optimum whose correlation is held')
    ht = np.asarray(held_theta, float).ravel()
    held_corr = float(theta_coords("slope", ht[None, :])["corr"].iloc[0])
    if not math.isfinite(held_corr):
        held_corr = 0.0
    corr = np.full(len(a), held_corr)
    T = coords_to_theta("slope", a, b, corr)
    return _Values(T, bd(T, progress=progress, span=0.95), corr, 1, "held", held_corr,
                   f"The correlation is held at {held_corr:.3f}, its value at the chosen optimum; "
                   "elsewhere on the map a different correlation could do better.")


def _frame(xs: np.ndarray, ys: np.ndarray, v: _Values, best: float) -> pd.DataFrame:
    """One row per grid point (rows: sd_slope, columns: sd_int), with cell edges."""
    A, B = np.meshgrid(xs, ys)
    nx, ny = len(xs), len(ys)
    xlo, xhi = log_edges(xs)
    ylo, yhi = log_edges(ys)
    frame = pd.DataFrame({
        "sd_int": A.ravel(), "sd_slope": B.ravel(),
        "sd_int_lo": np.tile(xlo, ny), "sd_int_hi": np.tile(xhi, ny),
        "sd_slope_lo": np.repeat(ylo, nx), "sd_slope_hi": np.repeat(yhi, nx),
        "corr": v.corr,
    })
    for i, c in enumerate(theta_columns(v.theta.shape[1])):
        frame[c] = v.theta[:, i]
    frame["criterion"] = v.criterion
    frame["excess"] = v.criterion - best
    return frame


def _contours(xs: np.ndarray, ys: np.ndarray, Z: np.ndarray, levels, minima: pd.DataFrame,
              best: float) -> pd.DataFrame:
    """Contour segments in (sd_int, sd_slope), traced on the log axes."""
    if levels is None:
        finite = Z[np.isfinite(Z)]
        # rings around every higher minimum make its (shallow) basin visible too
        rings = [c + o for c in (minima["criterion"][1:] if len(minima) else []) for o in (0.25, 1.0, 3.0)]
        levels = default_levels(best, float(finite.max()) if finite.size else best, extra=rings)
    seg = contour_segments(np.log(xs), np.log(ys), Z, levels)
    contours = pd.DataFrame({
        "level": seg["level"], "sd_int": np.exp(seg["x"]), "sd_slope": np.exp(seg["y"]),
        "sd_int2": np.exp(seg["x2"]), "sd_slope2": np.exp(seg["y2"]),
    })
    contours["excess"] = contours["level"] - best
    return contours


def map_2d(
    source: Data | Design,
    model: str | None = None,
    reml: bool = True,
    nx: int = 60,
    ny: int = 60,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    third: str = "profile",
    held_theta=None,
    paths: Paths | None = None,
    include: Sequence[Sequence[float]] = (),
    levels: Sequence[float] | None = None,
    corr_tol: float = 1e-3,
    progress: Progress = None,
) -> Map2D:
    """The criterion over (σ_intercept/σ, σ_slope/σ) on log axes.

    ``slope`` model: ``third="profile"`` minimizes over the correlation at every
    point (bounded golden-section search after a coarse scan, vectorized over the
    whole grid, to ``corr_tol``); ``third="held"`` holds the correlation at that
    of ``held_theta`` (a θ of an optimum, required). ``uncorrelated``: a direct grid
    over its two θ. Ranges default to :func:`auto_range` over ``paths`` (every
    evaluation of every optimizer), the θ in ``include`` and, failing both, a
    coarse scan. Grid sizes are capped at :data:`MAX_GRID` per axis.
    """
    d = design_of(source, model)
    model = d.spec.name
    if model not in TWO_D:
        raise ValueError(f"the 2-D map is for the models {TWO_D}, not {model!r}: use curve_1d")
    notes: list[str] = []
    nx = clamp_count(nx, MIN_GRID, MAX_GRID, "grid columns", notes)
    ny = clamp_count(ny, MIN_GRID, MAX_GRID, "grid rows", notes)
    bd = batch_deviance(d, reml=reml)
    x_range, y_range = _ranges(model, x_range, y_range, paths, include, notes)
    xs = np.geomspace(x_range[0], x_range[1], nx)
    ys = np.geomspace(y_range[0], y_range[1], ny)
    A, B = np.meshgrid(xs, ys)  # rows: sd_slope, columns: sd_int
    v = _values(bd, A.ravel(), B.ravel(), third, held_theta, corr_tol, progress)
    Z = v.criterion.reshape(ny, nx)
    minima = grid_minima(d, reml, model, Z, v.theta)
    evaluable = np.isfinite(v.criterion)
    if not evaluable.any():
        notes.append("the criterion cannot be evaluated anywhere on this grid: try other ranges")
    fmin = float(v.criterion[evaluable].min()) if evaluable.any() else math.nan
    best = min(fmin, float(minima["criterion"].min())) if len(minima) else fmin
    frame = _frame(xs, ys, v, best)
    contours = _contours(xs, ys, Z, levels, minima, best)
    report_progress(progress, 1.0)
    return Map2D(model, reml, "REML criterion" if reml else "-2 log-likelihood", v.third, v.held_corr,
                 frame, minima, contours, x_range, y_range, (ny, nx), int(v.evaluations * nx * ny),
                 v.description, tuple(notes))
