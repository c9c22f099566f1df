"""The criterion as a landscape over θ: curves, maps, slices and optimizer paths.

Everything here is pure NumPy/pandas (no Streamlit, no Altair) and returns frozen
dataclasses holding DataFrames, so results cache and test well.

* :func:`curve_1d` — the criterion against θ = σ_group/σ for the one-parameter
  models (``intercept``, ``within_between``), on a log grid, with the local minima
  of the grid refined by a bounded 1-D optimizer.
* :func:`map_2d` — the ``slope`` model over the relative SDs of intercept and slope
  (log axes), with the correlation profiled out (minimized at each point) or held
  at a chosen optimum; the ``uncorrelated`` model over its two θ directly.
* :func:`slice_between` — the criterion along the straight segment in θ between
  two optima: the ridge a local optimizer cannot cross. :func:`converged_optima`
  and :func:`slice_pair` pick the two ends, :func:`describe_slice` says in words
  what the curve shows.
* :func:`optimizer_paths` — every optimizer's fit log mapped into the same
  coordinates, with start and end marked.

The grids use :class:`BatchDeviance`, which evaluates lme4's profiled criterion
at many θ at once. It rewrites the per-group factorization in terms of the
relative covariance Σ = ΛΛ′: for group g with M = Z′Z and R = Z′W,

    det(I + Λ′MΛ) = 1 + tr(MΣ) + det(M)·det(Σ)             =: D_g
    R′Λ(Λ′MΛ + I)⁻¹Λ′R = R′(Σ + det(Σ)·adj(M))R / D_g        (q = 2)

so a batch of θ costs two matrix products over the groups (BLAS) plus one
``log`` per (θ, group). It equals :func:`lmmviz.deviance.objective` to rounding.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from .data import Data
from .deviance import LOG_2PI, make_deviance
from .design import Design, make_design
from .results import same_basin, same_optimum

Progress = Callable[[float], None] | None

MAX_GRID = 200  # points per axis of a 2-D map
MIN_GRID = 5
MAX_CURVE = 2000  # points of a 1-D curve or slice
CHUNK_ELEMENTS = 400_000  # (θ × group) elements per batch: keeps work arrays in cache
# A rise along a slice smaller than this (criterion units) is no barrier: the criterion
# is exact to ~1e-10 and converged optimizers stop within ~1e-8 of a minimum, so a
# smaller "rise" next to an end is where the run stopped, not a ridge.
NO_BARRIER = 1e-6

ONE_D = ("intercept", "within_between")
TWO_D = ("slope", "uncorrelated")


# --------------------------------------------------------------------------- helpers


def _design(source: Data | Design, model: str | None) -> Design:
    if isinstance(source, Design):
        if model is not None and model != source.spec.name:
            raise ValueError(f"the design is for model {source.spec.name!r}, not {model!r}")
        return source
    if model is None:
        raise ValueError("give the model name with the data")
    return make_design(source, model)


def _report(progress: Progress, fraction: float) -> None:
    if progress is not None:
        progress(float(min(max(fraction, 0.0), 1.0)))


def _clamp_count(n: int, lo: int, hi: int, what: str, notes: list[str]) -> int:
    n = int(n)
    if n > hi:
        notes.append(f"{what} capped at {hi} (asked for {n})")
        return hi
    if n < lo:
        notes.append(f"{what} raised to {lo} (asked for {n})")
        return lo
    return n


def auto_range(
    values: Iterable[float],
    pad: float = 2.0,
    min_ratio: float = 100.0,
    max_ratio: float = 1e4,
    default: tuple[float, float] = (0.01, 100.0),
) -> tuple[float, float]:
    """A log-axis range (lo, hi) covering every positive finite value, padded by a
    factor ``pad`` on each side, at least ``min_ratio`` wide and at most ``max_ratio``
    (when the values span more, the top is kept and the bottom raised: points
    below are drawn at the edge)."""
    v = np.asarray([float(x) for x in values], dtype=float)
    v = v[np.isfinite(v) & (v > 0)]
    if v.size == 0:
        return default
    lo, hi = float(v.min()) / pad, float(v.max()) * pad
    if hi / lo < min_ratio:
        c = math.sqrt(lo * hi)
        lo, hi = c / math.sqrt(min_ratio), c * math.sqrt(min_ratio)
    if hi / lo > max_ratio:
        lo = hi / max_ratio
    return lo, hi


def _log_edges(centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cell edges (geometric midpoints) around log-spaced centers."""
    lc = np.log(centers)
    if len(lc) == 1:
        return centers / 1.1, centers * 1.1
    mid = (lc[1:] + lc[:-1]) / 2
    first = lc[0] - (mid[0] - lc[0])
    last = lc[-1] + (lc[-1] - mid[-1])
    edges = np.exp(np.concatenate([[first], mid, [last]]))
    return edges[:-1], edges[1:]


# --------------------------------------------------------------------------- coordinates


def theta_coords(model: str, thetas) -> pd.DataFrame:
    """θ (N × n_theta) → interpretable coordinates.

    ``intercept``/``within_between``: ``theta`` (= σ_group/σ).
    ``slope``: ``sd_int`` = θ₁ (σ_intercept/σ), ``sd_slope`` = √(θ₂² + θ₃²)
    (σ_slope/σ) and ``corr`` = θ₂/√(θ₂² + θ₃²) (NaN when the slope SD is 0).
    ``uncorrelated``: ``sd_int`` = θ₁, ``sd_slope`` = θ₂.
    """
    T = np.atleast_2d(np.asarray(thetas, dtype=float))
    if model in ONE_D:
        return pd.DataFrame({"theta": T[:, 0]})
    if model == "slope":
        sd_slope = np.hypot(T[:, 1], T[:, 2])
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.where(sd_slope > 0, T[:, 1] / sd_slope, np.nan)
        return pd.DataFrame({"sd_int": T[:, 0], "sd_slope": sd_slope, "corr": corr})
    if model == "uncorrelated":
        return pd.DataFrame({"sd_int": T[:, 0], "sd_slope": T[:, 1]})
    raise ValueError(f"unknown model {model!r}")


def coords_to_theta(model: str, sd_int, sd_slope, corr=None) -> np.ndarray:
    """The inverse of :func:`theta_coords` for the two-parameter views (N × n_theta)."""
    a = np.asarray(sd_int, dtype=float).ravel()
    b = np.asarray(sd_slope, dtype=float).ravel()
    if model == "uncorrelated":
        return np.column_stack([a, b])
    if model != "slope":
        raise ValueError(f"model {model!r} has no (sd_int, sd_slope) coordinates")
    r = np.clip(np.broadcast_to(np.asarray(corr, dtype=float).ravel(), a.shape), -1.0, 1.0)
    return np.column_stack([a, r * b, b * np.sqrt(np.maximum(1.0 - r * r, 0.0))])


def axis_titles(model: str, group: str = "subject") -> dict[str, str]:
    """Axis titles for the coordinates of ``model``."""
    if model in ONE_D:
        return {"theta": f"θ = σ_{group} / σ (log scale)"}
    return {
        "sd_int": f"σ_intercept / σ between {group}s (θ₁, log scale)",
        "sd_slope": f"σ_slope / σ between {group}s (log scale)",
        "corr": "correlation of intercept and slope",
    }


# --------------------------------------------------------------------------- batched criterion


@dataclass(frozen=True, eq=False)
class BatchDeviance:
    """lme4's profiled criterion at many θ at once (see the module docstring).

    ``self(thetas)`` takes an (N, n_theta) array and returns N criteria; a θ where
    the fixed-effects factor is not positive definite gives ``inf``, as
    :func:`lmmviz.deviance.objective` does. Groups with the same Z′Z share one
    weight, so designs where every subject has the same doses cost O(distinct
    designs) per θ.

    For the random-slope models every group is written in its own centred basis
    (1, x − x̄_g), where Z′Z = diag(n, Sxx): the variance of the group's line at
    its mean dose is formed as a sum of squares and every factor's determinant as
    a sum of positive terms, so no digits are lost however far the doses sit from 0
    or however strongly intercepts and slopes are correlated. That costs about a
    dozen passes over (θ, group) pairs. ``fast=True`` expands the same algebra into
    one matrix product (three passes); it can lose about 1e-8 relative where the
    slope SD is tens of residual SDs, which is harmless for locating a minimum and
    is what the profile search uses before the exact evaluation of each grid point.
    """

    design: Design
    reml: bool
    keys: np.ndarray = field(repr=False)  # (U, 1): n (q = 1); (U, 3): n, x̄, Sxx (q = 2)
    counts: np.ndarray = field(repr=False)  # (U,) groups per distinct Z′Z
    cmat: np.ndarray = field(repr=False)  # (U, k²) (q = 1) or (U, 4·k²): summed W-products

    @property
    def n_theta(self) -> int:
        return self.design.spec.n_theta

    @property
    def n_distinct(self) -> int:
        return len(self.counts)

    @cached_property
    def _basis(self) -> np.ndarray:
        """Rows 1 and x̄_g (2 × U)."""
        return np.ascontiguousarray(np.vstack([np.ones(len(self.keys)), self.keys[:, 1]]))

    @cached_property
    def _dterms(self) -> np.ndarray:
        """Rows 1, Sxx_g and n_g·Sxx_g (3 × U)."""
        n, sxx = self.keys[:, 0], self.keys[:, 2]
        return np.ascontiguousarray(np.vstack([np.ones(len(n)), sxx, n * sxx]))

    @cached_property
    def _fast_parts(self) -> tuple[np.ndarray, np.ndarray]:
        """For ``fast=True``: rows [1, n, 2n·x̄, n·x̄² + Sxx, n·Sxx] giving D from
        [1, S11, S12, S22, det Σ], and the W-products premultiplied so that one
        product with 1/D gives the weights of S11, S12, S22 and det Σ."""
        n, xb, sxx = self.keys[:, 0], self.keys[:, 1], self.keys[:, 2]
        C0, C1, C23 = self._cparts
        k2 = C0.shape[1]
        C3, E = C23[:, :k2], C23[:, k2:]
        dm = np.vstack([np.ones_like(n), n, 2 * n * xb, n * xb * xb + sxx, n * sxx])
        cm = np.hstack([C0, 2 * xb[:, None] * C0 + C1, (xb * xb)[:, None] * C0 + xb[:, None] * C1 + C3, E])
        return np.ascontiguousarray(dm), np.ascontiguousarray(cm)

    @cached_property
    def _cparts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The W-products as contiguous (U, k²), (U, k²) and (U, 2k²) blocks."""
        k2 = self.cmat.shape[1] // 4
        C = self.cmat.reshape(-1, 4, k2)
        return (np.ascontiguousarray(C[:, 0]), np.ascontiguousarray(C[:, 1]),
                np.ascontiguousarray(C[:, 2:].reshape(-1, 2 * k2)))

    def _factor(self, T: np.ndarray) -> tuple[np.ndarray, ...]:
        """θ (lme4's, for the raw x) → K = MΛ, the factor for the design's own x.

        When the design holds x' = (x − c)/s (see :mod:`lmmviz.design`), a group's
        effects on (1, x') are M b with M = [[1, c], [0, s]]."""
        c, s = _x_map(self.design)
        t1 = T[:, 0]
        if self.design.spec.n_theta == 3:
            t2, t3 = T[:, 1], T[:, 2]
        else:  # uncorrelated: Λ = diag(θ₁, θ₂)
            t2, t3 = np.zeros_like(t1), T[:, 1]
        return t1 + c * t2, c * t3, s * t2, s * t3, (s * t1 * t3) ** 2

    def _chunk(self, T: np.ndarray, fast: bool = False) -> np.ndarray:
        d = self.design
        k = d.sww.shape[0]
        N = len(T)
        if d.spec.q == 2 and fast:
            k11, k12, k21, k22, det = self._factor(T)
            S = np.column_stack([k11 * k11 + k12 * k12, k11 * k21 + k12 * k22, k21 * k21 + k22 * k22, det])
            dm, cm = self._fast_parts
            D = np.column_stack([np.ones(N), S]) @ dm
            ldL2 = np.log(D) @ self.counts
            np.reciprocal(D, out=D)
            contrib = np.einsum("na,nak->nk", S, (D @ cm).reshape(N, 4, k * k))
        elif d.spec.q == 1:
            s2 = T[:, :1] ** 2
            D = 1.0 + s2 * self.keys[:, 0]  # 1 + θ²·n_g
            ldL2 = np.log(D) @ self.counts
            np.reciprocal(D, out=D)
            contrib = s2 * (D @ self.cmat)
        else:
            n, sxx = self.keys[:, 0], self.keys[:, 2]
            k11, k12, k21, k22, det = self._factor(T)
            one = np.ones_like(k11)
            s22 = k21 * k21 + k22 * k22
            # The covariance of each group's line in the basis (1, x − x̄_g):
            # v = K′(1, x̄_g) and s11 = |v|² as a sum of squares (never cancels),
            # s12 = k11·k21 + k12·k22 + s22·x̄_g. Outer products of a few per-θ and
            # per-group columns are written as small matrix products (one pass each).
            v1 = np.column_stack([k11, k21]) @ self._basis
            v2 = np.column_stack([k12, k22]) @ self._basis
            s11 = v1 * v1
            v2 *= v2
            s11 += v2
            s12 = np.column_stack([k11 * k21 + k12 * k22, s22]) @ self._basis
            D = np.column_stack([one, s22, det]) @ self._dterms  # 1 + s22·Sxx + det Σ·n·Sxx
            s11n = s11 * n
            D += s11n
            ldL2 = np.log(D) @ self.counts
            np.reciprocal(D, out=D)
            s11 *= D
            s12 *= D
            C0, C1, C23 = self._cparts
            W = D @ C23  # [Σ_g C3/D | Σ_g E/D]
            contrib = s11 @ C0
            contrib += s12 @ C1
            contrib += s22[:, None] * W[:, :k * k]
            contrib += det[:, None] * W[:, k * k:]
        P = d.sww.reshape(1, k * k) - contrib
        return _criterion_from_p(P.reshape(N, k, k), ldL2, d.n, d.p, self.reml,
                                 float(getattr(d, "ldRX2_shift", 0.0)))

    def __call__(self, thetas, progress: Progress = None, start: float = 0.0, span: float = 1.0,
                 fast: bool = False) -> np.ndarray:
        with _one_blas_thread():
            return self._evaluate(thetas, progress, start, span, fast)

    def _evaluate(self, thetas, progress: Progress, start: float, span: float, fast: bool = False) -> np.ndarray:
        T = np.atleast_2d(np.asarray(thetas, dtype=float))
        if T.shape[1] != self.n_theta:
            raise ValueError(f"model {self.design.spec.name!r} takes {self.n_theta} θ values, got {T.shape[1]}")
        lower = np.array(self.design.spec.lower_bounds())
        bad = np.any(T < lower, axis=1) | ~np.all(np.isfinite(T), axis=1)
        T = np.where(bad[:, None], np.maximum(np.nan_to_num(T), lower), T)
        out = np.empty(len(T))
        step = max(1, CHUNK_ELEMENTS // max(self.n_distinct, 1))
        for s in range(0, len(T), step):
            out[s:s + step] = self._chunk(T[s:s + step], fast)
            _report(progress, start + span * min(s + step, len(T)) / len(T))
        out[bad] = np.inf
        return out


def _one_blas_thread():
    """Run BLAS single-threaded while a batch is evaluated, when threadpoolctl is
    installed. The products here are many small ones; on shared or busy cores
    OpenBLAS's threads wait on each other and a batch runs 2-5× slower (measured)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it BLAS keeps its own threads
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _x_map(design: Design) -> tuple[float, float]:
    """(c, s) of the design's internal x' = (x − c)/s; (0, 1) for a design on the raw x."""
    return float(getattr(design, "x_center", 0.0)), float(getattr(design, "x_scale", 1.0))


def _criterion_from_p(P: np.ndarray, ldL2: np.ndarray, n: int, p: int, reml: bool,
                      ldRX2_shift: float = 0.0) -> np.ndarray:
    """Batched Cholesky of the (k × k) blocks → REML criterion or −2 log-likelihood."""
    N, k, _ = P.shape
    L = np.zeros_like(P)
    ok = np.ones(N, dtype=bool)
    for j in range(k):
        piv = P[:, j, j] - np.einsum("nm,nm->n", L[:, j, :j], L[:, j, :j])
        ok &= piv > 0
        ljj = np.sqrt(np.where(piv > 0, piv, 1.0))
        L[:, j, j] = ljj
        for i in range(j + 1, k):
            L[:, i, j] = (P[:, i, j] - np.einsum("nm,nm->n", L[:, i, :j], L[:, j, :j])) / ljj
    d = np.einsum("nii->ni", L)
    pwrss = d[:, p] ** 2
    ldRX2 = 2.0 * np.log(d[:, :p]).sum(axis=1) + ldRX2_shift  # as lmmviz.deviance.objective
    ok &= pwrss > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        if reml:
            nmp = n - p
            crit = ldL2 + ldRX2 + nmp * (1.0 + LOG_2PI + np.log(pwrss / nmp))
        else:
            crit = ldL2 + n * (1.0 + LOG_2PI + np.log(pwrss / n))
    return np.where(ok & np.isfinite(crit), crit, np.inf)


def batch_deviance(source: Data | Design, model: str | None = None, reml: bool = True) -> BatchDeviance:
    """Precompute the per-group products for :class:`BatchDeviance` (O(groups), once)."""
    d = _design(source, model)
    k = d.sww.shape[0]
    if d.spec.q == 1:
        # Z = 1: Z′W is the group's row of sums n·w̄
        R = d.szw[:, 0, :]
        keys = d.szz[:, 0, 0][:, None]
        C = np.einsum("gi,gj->gij", R, R).reshape(len(R), k * k)
    else:
        # Z = [1, x] and W = [1, x, y − shift] in every group (lmmviz.design), on the
        # design's own x. In the centred basis Z′W has the rows n·w̄ and c = (0, Sxx, Sxy).
        st = getattr(d, "internal_stats", d.stats)
        n, sxx = st.n, st.sxx
        wbar = np.column_stack([np.ones_like(st.mx), st.mx, st.my - d.y_shift])
        cxw = np.column_stack([np.zeros_like(st.mx), sxx, st.sxy])
        r1 = n[:, None] * wbar
        C1 = np.einsum("gi,gj->gij", r1, r1)
        C2 = np.einsum("gi,gj->gij", r1, cxw)
        C2 = C2 + C2.transpose(0, 2, 1)
        C3 = np.einsum("gi,gj->gij", cxw, cxw)
        E = sxx[:, None, None] * C1 + n[:, None, None] * C3  # det Σ · R′adj(Z′Z)R
        keys = np.column_stack([n, st.mx, sxx])
        C = np.stack([C1, C2, C3, E], axis=1).reshape(len(n), 4 * k * k)
    uniq, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    if len(uniq) == len(keys):
        cm = C[np.argsort(inverse)]
    else:
        cm = np.zeros((len(uniq), C.shape[1]))
        np.add.at(cm, inverse, C)
    return BatchDeviance(d, reml, uniq, counts.astype(float), np.ascontiguousarray(cm))


# --------------------------------------------------------------------------- optimizer paths


@dataclass(frozen=True, eq=False)
class Paths:
    """Optimizer fit logs in landscape coordinates.

    ``frame``: one row per evaluation — ``run`` (unique label), ``optimizer``,
    ``start_label``, ``verdict``, ``evaluation`` (1-based), ``criterion``,
    ``best_so_far``, ``theta1``… and the coordinates of :func:`theta_coords`.
    ``ends``: two rows per run, ``point`` = "start" (the initial θ) and "end" (the
    final θ the run reports), with the same columns plus ``evaluations``.
    """

    model: str
    frame: pd.DataFrame
    ends: pd.DataFrame

    @property
    def runs(self) -> list[str]:
        return list(dict.fromkeys(self.ends["run"]))

    def coordinate_values(self) -> dict[str, np.ndarray]:
        """Every coordinate value on every path (for auto ranges)."""
        cols = ["theta"] if self.model in ONE_D else ["sd_int", "sd_slope"]
        return {c: np.concatenate([self.frame[c].to_numpy(), self.ends[c].to_numpy()]) for c in cols}


def _theta_columns(n: int) -> list[str]:
    return [f"theta{i + 1}" for i in range(n)]


def optimizer_paths(source, model: str | None = None) -> Paths:
    """Fit logs → :class:`Paths`.

    ``source`` is a :class:`lmmviz.Comparison` (one path per optimizer, verdicts from
    ``compare``), a :class:`lmmviz.Fit` (one path per run, e.g. the robust default's
    starts), or a sequence of ``OptSummary``. Failed comparison entries have no path.
    A run that did not converge and is not at the best criterion has the verdict
    "stopped early": where it ended is no optimum.
    """
    runs: list[tuple[str, object, str]] = []
    if hasattr(source, "entries"):  # Comparison
        model = source.model
        for e in source.entries:
            if e.fit is not None and e.fit.optsum is not None:
                early = e.verdict == "local optimum" and not e.fit.converged
                runs.append((e.optimizer, e.fit.optsum, "stopped early" if early else e.verdict))
    else:
        if hasattr(source, "runs") and hasattr(source, "model"):  # Fit
            model = source.model
            summaries = list(source.runs)
        else:
            summaries = list(source)
        if model is None:
            raise ValueError("give the model for a list of runs")
        finite = [r.fmin for r in summaries if math.isfinite(r.fmin)]
        best = min(finite) if finite else math.nan
        labels = [r.optimizer for r in summaries]
        for r in summaries:
            label = r.optimizer if labels.count(r.optimizer) == 1 else f"{r.optimizer} from {r.start_label}"
            if not math.isfinite(r.fmin):
                verdict = "failed"
            elif same_optimum(r.fmin, best):
                verdict = "best"
            else:
                verdict = "local optimum" if r.converged else "stopped early"
            runs.append((label, r, verdict))
    tcols = None
    frames, ends = [], []
    for label, r, verdict in runs:
        T = np.asarray(r.fitlog_theta, dtype=float)
        fv = np.asarray(r.fitlog_f, dtype=float)
        tcols = _theta_columns(T.shape[1])
        fr = pd.DataFrame(T, columns=tcols)
        fr.insert(0, "run", label)
        fr.insert(1, "optimizer", r.optimizer)
        fr.insert(2, "start_label", r.start_label)
        fr.insert(3, "verdict", verdict)
        fr.insert(4, "evaluation", np.arange(1, len(fv) + 1))
        fr.insert(5, "criterion", fv)
        fr.insert(6, "best_so_far", np.fmin.accumulate(np.where(np.isfinite(fv), fv, np.nan)) if len(fv) else fv)
        frames.append(pd.concat([fr, theta_coords(model, T)], axis=1))
        se = np.array([r.initial, r.final], dtype=float)
        first = float(fv[0]) if len(fv) else math.nan
        ef = pd.DataFrame(se, columns=tcols)
        ef.insert(0, "run", label)
        ef.insert(1, "optimizer", r.optimizer)
        ef.insert(2, "start_label", r.start_label)
        ef.insert(3, "verdict", verdict)
        ef.insert(4, "point", ["start", "end"])
        ef.insert(5, "criterion", [first, float(r.fmin)])
        ef.insert(6, "evaluations", int(r.feval))
        ends.append(pd.concat([ef, theta_coords(model, se)], axis=1))
    if not frames:
        empty_cols = ["run", "optimizer", "start_label", "verdict"]
        return Paths(model, pd.DataFrame(columns=empty_cols + ["evaluation", "criterion", "best_so_far"]),
                     pd.DataFrame(columns=empty_cols + ["point", "criterion", "evaluations"]))
    return Paths(model, pd.concat(frames, ignore_index=True), pd.concat(ends, ignore_index=True))


def thin_paths(paths: Paths, max_points: int = 300) -> pd.DataFrame:
    """At most ``max_points`` evaluations per run, evenly spaced, always keeping the
    first, the last and the best (for charts; the full log stays in ``paths.frame``)."""
    out = []
    for _, fr in paths.frame.groupby("run", sort=False):
        if len(fr) <= max_points:
            out.append(fr)
            continue
        idx = set(np.linspace(0, len(fr) - 1, max_points).round().astype(int).tolist())
        crit = fr["criterion"].to_numpy()
        if np.isfinite(crit).any():
            idx.add(int(np.nanargmin(np.where(np.isfinite(crit), crit, np.nan))))
        out.append(fr.iloc[sorted(idx)])
    return pd.concat(out, ignore_index=True) if out else paths.frame


# --------------------------------------------------------------------------- comparison


def comparison_frame(comparison) -> pd.DataFrame:
    """``Comparison.table()`` plus the optimum each optimizer reached.

    ``optimum`` numbers the distinct optima best first (1 = lowest criterion; runs
    near a cluster's best, :func:`lmmviz.results.same_basin`, join it) and
    ``optimum_label`` says e.g. "68.07 (slope -8.215)". Failed runs get 0 and
    "failed", optimizers left out of the comparison 0 and "not run". ``order`` is the
    entry's place in the comparison (allFit's order for lme4's twins first).
    """
    t = comparison.table().copy()
    t["order"] = np.arange(len(t))  # the comparison's own order: lme4's twins as in allFit, then lmmviz's
    if "criterion" not in t:
        t["criterion"] = np.nan
        t["slope"] = np.nan
    crit = t["criterion"].to_numpy(dtype=float)
    order = np.argsort(np.where(np.isfinite(crit), crit, np.inf), kind="stable")
    cluster = np.zeros(len(t), dtype=int)
    heads: list[float] = []
    for i in order:
        c = crit[i]
        if not math.isfinite(c):
            continue
        if heads and same_basin(c, heads[-1]):
            cluster[i] = len(heads)
        else:
            heads.append(c)
            cluster[i] = len(heads)
    t["optimum"] = cluster
    labels = {}
    for c in range(1, len(heads) + 1):
        rows = t[t["optimum"] == c]
        best = rows.loc[rows["criterion"].idxmin()]
        labels[c] = f"{best['criterion']:.2f} (slope {best['slope']:+.3f})"
    t["optimum_label"] = [labels.get(c, v) for c, v in zip(cluster, t["verdict"])]  # failed, not run
    t["start"] = comparison.start_label
    return t.sort_values(["optimum", "criterion"], key=lambda s: s.replace(0, 10**9) if s.name == "optimum" else s,
                         kind="stable").reset_index(drop=True)


def distinct_optima(comparison) -> pd.DataFrame:
    """One row per optimum the optimizers reached (best first): its criterion, θ,
    coordinates, x slope, how many optimizers ended there and which."""
    rows = []
    fr = comparison_frame(comparison)
    by = {e.optimizer: e for e in comparison.entries}
    for c, grp in fr[fr["optimum"] > 0].groupby("optimum"):
        best = grp.loc[grp["criterion"].idxmin()]
        fit = by[best["optimizer"]].fit
        rows.append({"optimum": int(c), "criterion": float(fit.criterion), "slope": float(fit.slope),
                     "singular": bool(fit.singular), "optimizers": ", ".join(grp["optimizer"]),
                     "n_optimizers": len(grp), "label": best["optimum_label"],
                     **dict(zip(_theta_columns(len(fit.theta)), fit.theta))})
    out = pd.DataFrame(rows)
    if len(out):
        T = out[_theta_columns(len(comparison.entries[0].fit.theta if comparison.entries[0].fit else ()))]
        out = pd.concat([out, theta_coords(comparison.model, T.to_numpy())], axis=1)
    return out


# --------------------------------------------------------------------------- 1-D curve


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
    d = _design(source, model)
    model = d.spec.name
    if model not in ONE_D:
        raise ValueError(f"the 1-D curve is for the one-parameter models {ONE_D}, not {model!r}")
    notes: list[str] = []
    n = _clamp_count(n, 20, MAX_CURVE, "curve points", notes)
    f = make_deviance(d, reml)
    bd = batch_deviance(d, reml=reml)
    if theta_range is None:
        vals = list(include)
        if paths is not None:
            vals += list(paths.coordinate_values()["theta"])
        # a coarse scan finds where the minima live, so the range shows them too
        scan = np.geomspace(1e-3, 1e4, 71)
        sv = bd(scan[:, None])
        vals += [scan[i] for i in range(1, 70) if sv[i] < sv[i - 1] and sv[i] <= sv[i + 1]]
        vals.append(float(scan[np.argmin(sv)]))
        theta_range = auto_range(vals)
    lo, hi = float(theta_range[0]), float(theta_range[1])
    if not (0 < lo < hi and math.isfinite(hi)):
        raise ValueError(f"θ range must satisfy 0 < lo < hi, got {theta_range}")
    grid = np.geomspace(lo, hi, n)
    vals = bd(grid[:, None], progress=progress, span=0.9)
    at_zero = float(f(np.array([0.0])))
    minima = _minima_1d(f, grid, vals, at_zero)
    _report(progress, 1.0)
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


# --------------------------------------------------------------------------- 2-D map


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

    def profile(self, axis: str = "sd_slope") -> pd.DataFrame:
        """The lowest criterion along each value of ``axis`` (minimized over the other
        axis of the grid): a grid profile of one relative SD."""
        other = "sd_int" if axis == "sd_slope" else "sd_slope"
        g = self.frame.loc[self.frame.groupby(axis)["criterion"].idxmin()]
        return g[[axis, other, "criterion"] + (["corr"] if "corr" in g else [])].reset_index(drop=True)


def _brent_bounded(fun, a: np.ndarray, b: np.ndarray, x: np.ndarray, fx: np.ndarray, xatol: float,
                   maxiter: int = 40) -> tuple[np.ndarray, np.ndarray, int]:
    """Brent's bounded scalar minimization (SciPy's ``minimize_scalar(method="bounded")``,
    step for step) run on many independent problems at once.

    ``fun(idx, u)`` evaluates problems ``idx`` at points ``u``. Each problem starts in
    [a, b] from a point x already evaluated (fx); each iteration evaluates one new
    point for every problem not yet converged. Returns (x, f(x), iterations).
    """
    sqrt_eps = math.sqrt(2.2e-16)
    gm = 0.5 * (3.0 - math.sqrt(5.0))
    a, b, xf, fx = a.copy(), b.copy(), x.copy(), fx.copy()
    nfc, fulc, fnfc, ffulc = xf.copy(), xf.copy(), fx.copy(), fx.copy()
    rat, e = np.zeros_like(xf), np.zeros_like(xf)
    with np.errstate(invalid="ignore", over="ignore"):  # inf where the criterion fails: comparisons still hold
        return _brent_loop(fun, a, b, xf, fx, nfc, fulc, fnfc, ffulc, rat, e, sqrt_eps, gm, xatol, maxiter)


def _brent_loop(fun, a, b, xf, fx, nfc, fulc, fnfc, ffulc, rat, e, sqrt_eps, gm, xatol, maxiter):
    it = 0
    for it in range(1, maxiter + 1):
        xm = 0.5 * (a + b)
        tol1 = sqrt_eps * np.abs(xf) + xatol / 3.0
        tol2 = 2.0 * tol1
        active = np.abs(xf - xm) > (tol2 - 0.5 * (b - a))
        if not active.any():
            it -= 1
            break
        i = np.flatnonzero(active)
        A, B, X, FX = a[i], b[i], xf[i], fx[i]
        N, FN, U, FU = nfc[i], fnfc[i], fulc[i], ffulc[i]
        R, E, XM, T1, T2 = rat[i], e[i], xm[i], tol1[i], tol2[i]
        par = np.abs(E) > T1
        r = (X - N) * (FX - FU)
        q = (X - U) * (FX - FN)
        p = (X - U) * q - (X - N) * r
        q = 2.0 * (q - r)
        p = np.where(q > 0.0, -p, p)
        q = np.abs(q)
        r_old = E
        E = np.where(par, R, E)
        with np.errstate(invalid="ignore", divide="ignore"):
            accept = par & (np.abs(p) < np.abs(0.5 * q * r_old)) & (p > q * (A - X)) & (p < q * (B - X))
            rat_p = np.where(accept, p / np.where(q > 0, q, 1.0), 0.0)
        xp = X + rat_p
        near = ((xp - A) < T2) | ((B - xp) < T2)
        si = np.sign(XM - X) + ((XM - X) == 0)
        R = np.where(accept, np.where(near, T1 * si, rat_p), R)
        gold = ~accept
        eg = np.where(X >= XM, A - X, B - X)
        E = np.where(gold, eg, E)
        R = np.where(gold, gm * eg, R)
        si = np.sign(R) + (R == 0)
        u = X + si * np.maximum(np.abs(R), T1)
        fu = np.asarray(fun(i, u), dtype=float)
        better = fu <= FX
        A = np.where(better & (u >= X), X, np.where(~better & (u < X), u, A))
        B = np.where(better & (u < X), X, np.where(~better & (u >= X), u, B))
        c1 = ~better & ((fu <= FN) | (N == X))
        c2 = ~better & ~c1 & ((fu <= FU) | (U == X) | (U == N))
        a[i], b[i] = A, B
        fulc[i] = np.where(better | c1, N, np.where(c2, u, U))
        ffulc[i] = np.where(better | c1, FN, np.where(c2, fu, FU))
        nfc[i] = np.where(better, X, np.where(c1, u, N))
        fnfc[i] = np.where(better, FX, np.where(c1, fu, FN))
        xf[i] = np.where(better, u, X)
        fx[i] = np.where(better, fu, FX)
        rat[i], e[i] = R, E
    return xf, fx, it


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
    x, fx, iters = _brent_bounded(ev, lo, hi, rc[j], F[everyone, j], tol)
    # the search ran on the fast expansion; every point's value is then computed exactly
    fx = bd(coords_to_theta("slope", a, b, x), progress, min(done / budget, 0.95), 0.05)
    return x, fx, n_coarse + iters + 1


_SEGMENTS = {  # marching squares: corners BL=1, BR=2, TR=4, TL=8 above the level
    1: ((0, 3),), 2: ((0, 1),), 3: ((1, 3),), 4: ((1, 2),), 5: ((0, 1), (2, 3)), 6: ((0, 2),),
    7: ((2, 3),), 8: ((2, 3),), 9: ((0, 2),), 10: ((0, 3), (1, 2)), 11: ((1, 2),), 12: ((1, 3),),
    13: ((0, 1),), 14: ((0, 3),),
}


def contour_segments(xs: np.ndarray, ys: np.ndarray, Z: np.ndarray, levels: Sequence[float]) -> pd.DataFrame:
    """Contour lines of Z (ny × nx over ys × xs) as straight segments (marching
    squares, linear interpolation in the given coordinates). Cells with a
    non-finite corner are skipped."""
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    z00, z01 = Z[:-1, :-1], Z[:-1, 1:]  # BL, BR
    z11, z10 = Z[1:, 1:], Z[1:, :-1]  # TR, TL
    finite = np.isfinite(z00) & np.isfinite(z01) & np.isfinite(z11) & np.isfinite(z10)
    X0, Y0 = np.meshgrid(xs[:-1], ys[:-1])
    X1, Y1 = np.meshgrid(xs[1:], ys[1:])
    out = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for level in levels:
            case = ((z00 > level) * 1 + (z01 > level) * 2 + (z11 > level) * 4 + (z10 > level) * 8)
            case = np.where(finite, case, 0)

            def edge(e, m):
                if e == 0:
                    t = (level - z00[m]) / (z01[m] - z00[m])
                    return X0[m] + t * (X1[m] - X0[m]), Y0[m]
                if e == 1:
                    t = (level - z01[m]) / (z11[m] - z01[m])
                    return X1[m], Y0[m] + t * (Y1[m] - Y0[m])
                if e == 2:
                    t = (level - z10[m]) / (z11[m] - z10[m])
                    return X0[m] + t * (X1[m] - X0[m]), Y1[m]
                t = (level - z00[m]) / (z10[m] - z00[m])
                return X0[m], Y0[m] + t * (Y1[m] - Y0[m])

            for c, segs in _SEGMENTS.items():
                m = case == c
                if not m.any():
                    continue
                for e1, e2 in segs:
                    ax, ay = edge(e1, m)
                    bx, by = edge(e2, m)
                    out.append(pd.DataFrame({"level": level, "x": ax, "y": ay, "x2": bx, "y2": by}))
    if not out:
        return pd.DataFrame(columns=["level", "x", "y", "x2", "y2"])
    return pd.concat(out, ignore_index=True)


def default_levels(fmin: float, fmax: float, extra: Sequence[float] = ()) -> list[float]:
    """Contour levels: the lowest value plus 0.5, 1, 2, 5, 10, 20, 50, … up to the
    grid's maximum, and the ``extra`` values (e.g. other optima's criteria)."""
    lv = []
    for dec in range(-1, 7):
        for m in (1, 2, 5):
            step = m * 10.0**dec
            if step >= 0.5 and fmin + step < fmax:
                lv.append(fmin + step)
    lv += [e for e in extra if fmin < e < fmax]
    return sorted(set(round(v, 10) for v in lv))


def _refine(design: Design, reml: bool, th0: np.ndarray) -> tuple[float, np.ndarray]:
    """Polish a grid point into a local minimum of the true criterion.

    NLopt's BOBYQA (through the engine's optimizer wrapper) in θ divided by its own
    size, so that a first step of 5% means the same at θ = 0.05 and at θ = 400 and
    the search stays in the grid point's basin; bounds keep diagonal entries ≥ 0, so
    boundary (singular) minima are reached exactly. If that run fails, SciPy's
    bounded L-BFGS-B takes over.
    """
    from .optimizers import OptimizerSettings, run_optimizer

    f = make_deviance(design, reml)
    lower = np.array(design.spec.lower_bounds())
    th0 = np.maximum(np.asarray(th0, float), lower)
    scale = np.maximum(np.abs(th0), 1e-3 * max(1.0, float(np.max(np.abs(th0)))))
    run = run_optimizer("nlopt_bobyqa", lambda z: f(z * scale), th0 / scale, lower / scale,
                        OptimizerSettings(initial_step=0.05, maxeval=1000, xtol_rel=1e-8, ftol_abs=1e-10,
                                          max_seconds=10.0), start_label="grid point")
    if not run.failed:
        th = np.maximum(np.asarray(run.final, float) * scale, lower)
        return float(f(th)), th
    from scipy.optimize import minimize

    res = minimize(lambda t: f(t), th0, method="L-BFGS-B",
                   bounds=[(lo if np.isfinite(lo) else None, None) for lo in lower])
    th = np.maximum(np.asarray(res.x, float), lower)
    return float(f(th)), th


def _grid_minima(design: Design, reml: bool, model: str, Z: np.ndarray, thetas: np.ndarray,
                 max_refine: int = 4) -> pd.DataFrame:
    """Local minima of the grid (≤ their 8 neighbours), refined on the true
    criterion (:func:`_refine`), deduplicated, best first."""
    ny, nx = Z.shape
    P = np.pad(np.where(np.isfinite(Z), Z, np.inf), 1, constant_values=np.inf)
    c = P[1:-1, 1:-1]
    is_min = np.isfinite(c)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            if dy or dx:
                is_min &= c <= P[1 + dy:1 + dy + ny, 1 + dx:1 + dx + nx]
    idx = np.flatnonzero(is_min.ravel())
    idx = idx[np.argsort(Z.ravel()[idx])][: max_refine]
    rows = []
    for i in idx:
        fv, th = _refine(design, reml, thetas[i])
        if not fv <= Z.ravel()[i]:
            th, fv = thetas[i], float(Z.ravel()[i])
        rows.append((fv, th))
    kept: list[tuple[float, np.ndarray]] = []
    for fv, th in sorted(rows, key=lambda r: r[0]):
        if any(abs(fv - k[0]) <= 1e-6 * max(1.0, abs(fv)) for k in kept):
            continue
        kept.append((fv, th))
    if not kept:
        return pd.DataFrame(columns=["criterion", "singular", "rank", "label"])
    T = np.array([k[1] for k in kept])
    out = pd.DataFrame(T, columns=_theta_columns(T.shape[1]))
    out.insert(0, "criterion", [k[0] for k in kept])
    diag = list(design.spec.diagonal())
    out["singular"] = np.any(T[:, diag] < 1e-4, axis=1)
    out = pd.concat([out, theta_coords(model, T)], axis=1)
    out["rank"] = np.arange(1, len(out) + 1)
    out["label"] = [f"{'lowest' if r == 1 else 'local'} minimum {c:.2f}" + (" (singular)" if s else "")
                    for r, c, s in zip(out["rank"], out["criterion"], out["singular"])]
    return out


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
    d = _design(source, model)
    model = d.spec.name
    if model not in TWO_D:
        raise ValueError(f"the 2-D map is for the models {TWO_D}, not {model!r}: use curve_1d")
    notes: list[str] = []
    nx = _clamp_count(nx, MIN_GRID, MAX_GRID, "grid columns", notes)
    ny = _clamp_count(ny, MIN_GRID, MAX_GRID, "grid rows", notes)
    bd = batch_deviance(d, reml=reml)
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
    xs = np.geomspace(x_range[0], x_range[1], nx)
    ys = np.geomspace(y_range[0], y_range[1], ny)
    A, B = np.meshgrid(xs, ys)  # rows: sd_slope, columns: sd_int
    a, b = A.ravel(), B.ravel()
    held_corr = None
    if model == "uncorrelated":
        third_used = "none"
        T = np.column_stack([a, b])
        F = bd(T, progress=progress, span=0.95)
        corr = np.full(len(a), np.nan)
        evals = 1
        description = "The uncorrelated model has exactly these two parameters: every point is one evaluation."
    elif third == "profile":
        third_used = "profiled"
        corr, F, evals = _profile_corr(bd, a, b, corr_tol, (lambda x: _report(progress, 0.95 * x)))
        T = coords_to_theta("slope", a, b, corr)
        description = ("The correlation is profiled out: at every point it takes the value (between -1 and 1) "
                       "that gives the lowest criterion, so each point shows the best the model can do with "
                       "those two SDs.")
    elif third == "held":
        if held_theta is None:
            raise ValueError('third="held" needs held_theta, the θ of the optimum whose correlation is held')
        ht = np.asarray(held_theta, float).ravel()
        held_corr = float(theta_coords("slope", ht[None, :])["corr"].iloc[0])
        if not math.isfinite(held_corr):
            held_corr = 0.0
        third_used = "held"
        corr = np.full(len(a), held_corr)
        T = coords_to_theta("slope", a, b, corr)
        F = bd(T, progress=progress, span=0.95)
        evals = 1
        description = (f"The correlation is held at {held_corr:.3f}, its value at the chosen optimum; "
                       "elsewhere on the map a different correlation could do better.")
    else:
        raise ValueError(f'third must be "profile" or "held", not {third!r}')
    Z = F.reshape(ny, nx)
    minima = _grid_minima(d, reml, model, Z, T)
    evaluable = np.isfinite(F)
    if not evaluable.any():
        notes.append("the criterion cannot be evaluated anywhere on this grid: try other ranges")
    fmin = float(F[evaluable].min()) if evaluable.any() else math.nan
    best = min(fmin, float(minima["criterion"].min())) if len(minima) else fmin
    xlo, xhi = _log_edges(xs)
    ylo, yhi = _log_edges(ys)
    frame = pd.DataFrame({
        "sd_int": a, "sd_slope": b,
        "sd_int_lo": np.tile(xlo, ny), "sd_int_hi": np.tile(xhi, ny),
        "sd_slope_lo": np.repeat(ylo, nx), "sd_slope_hi": np.repeat(yhi, nx),
        "corr": corr,
    })
    for i, c in enumerate(_theta_columns(T.shape[1])):
        frame[c] = T[:, i]
    frame["criterion"] = F
    frame["excess"] = F - best
    finite = F[np.isfinite(F)]
    if levels is None:
        # rings around every higher minimum make its (shallow) basin visible too
        rings = [c + o for c in (minima["criterion"][1:] if len(minima) else []) for o in (0.25, 1.0, 3.0)]
        levels = default_levels(best, float(finite.max()) if finite.size else best, extra=rings)
    seg = contour_segments(np.log(xs), np.log(ys), Z, levels)
    contours = pd.DataFrame({
        "level": seg["level"], "sd_int": np.exp(seg["x"]), "sd_slope": np.exp(seg["y"]),
        "sd_int2": np.exp(seg["x2"]), "sd_slope2": np.exp(seg["y2"]),
    })
    contours["excess"] = contours["level"] - best
    _report(progress, 1.0)
    return Map2D(model, reml, "REML criterion" if reml else "-2 log-likelihood", third_used, held_corr,
                 frame, minima, contours, (float(x_range[0]), float(x_range[1])),
                 (float(y_range[0]), float(y_range[1])), (ny, nx), int(evals * nx * ny), description,
                 tuple(notes))


# --------------------------------------------------------------------------- slice


@dataclass(frozen=True, eq=False)
class Slice:
    """The criterion along θ(t) = (1 − t)·θ_a + t·θ_b.

    ``frame``: ``t``, ``theta1``…, the coordinates, ``criterion``. ``ridge`` is the
    highest point strictly between the ends (``t``, ``criterion``), and
    ``barrier_a``/``barrier_b`` how far it rises above each end (negative when it
    does not: then the criterion has no barrier, see :attr:`has_barrier`). When a
    barrier sits close to one end (within the first or last quarter), ``zoom``
    holds the same columns on a fine grid over the stretch between that end and a
    little past the ridge, so that the rise can be seen.
    """

    model: str
    reml: bool
    criterion_name: str
    theta_a: tuple[float, ...]
    theta_b: tuple[float, ...]
    label_a: str
    label_b: str
    frame: pd.DataFrame
    ridge_t: float
    ridge_criterion: float
    barrier_a: float
    barrier_b: float
    zoom: pd.DataFrame | None = None

    @property
    def has_barrier(self) -> bool:
        """The criterion rises above both ends somewhere between them."""
        return min(self.barrier_a, self.barrier_b) > NO_BARRIER

    def points(self) -> pd.DataFrame:
        """Every evaluated point of the slice (``frame`` and ``zoom``), ordered by ``t``."""
        fr = self.frame if self.zoom is None else pd.concat([self.frame, self.zoom], ignore_index=True)
        return fr.drop_duplicates("t").sort_values("t", kind="stable").reset_index(drop=True)


def slice_between(
    source: Data | Design,
    theta_a,
    theta_b,
    model: str | None = None,
    reml: bool = True,
    n: int = 301,
    label_a: str = "A",
    label_b: str = "B",
    progress: Progress = None,
) -> Slice:
    """The criterion along the straight segment in θ from ``theta_a`` to ``theta_b``.

    The points crowd towards both ends (cosine spacing), where θ changes scale
    fastest relative to its size; the ends are evaluated exactly.
    """
    d = _design(source, model)
    notes: list[str] = []
    n = _clamp_count(n, 3, MAX_CURVE, "slice points", notes)
    ta = np.asarray(theta_a, float).ravel()
    tb = np.asarray(theta_b, float).ravel()
    if ta.size != d.spec.n_theta or tb.size != d.spec.n_theta:
        raise ValueError(f"model {d.spec.name!r} takes {d.spec.n_theta} θ values")
    bd = batch_deviance(d, reml=reml)

    def along(t: np.ndarray, prog: Progress, start: float, span: float) -> pd.DataFrame:
        T = (1.0 - t)[:, None] * ta[None, :] + t[:, None] * tb[None, :]
        T[t == 0.0], T[t == 1.0] = ta, tb
        fr = pd.DataFrame(T, columns=_theta_columns(T.shape[1]))
        fr.insert(0, "t", t)
        fr = pd.concat([fr, theta_coords(d.spec.name, T)], axis=1)
        fr["criterion"] = bd(T, progress=prog, start=start, span=span)
        return fr

    frame = along((1.0 - np.cos(np.linspace(0.0, math.pi, n))) / 2.0, progress, 0.0, 0.7)
    t, F = frame["t"].to_numpy(), frame["criterion"].to_numpy()
    inner = F[1:-1] if n > 2 else F
    j = int(np.argmax(np.where(np.isfinite(inner), inner, -np.inf))) + (1 if n > 2 else 0)
    zoom = None
    if 0.0 < t[j] < 0.25 or 0.75 < t[j] < 1.0:
        w = min(4.0 * min(t[j], 1.0 - t[j]), 0.5)
        zt = np.linspace(0.0, w, 201) if t[j] < 0.5 else np.linspace(1.0 - w, 1.0, 201)
        zoom = along(zt, progress, 0.7, 0.3)
        zF = zoom["criterion"].to_numpy()
        k = int(np.argmax(np.where(np.isfinite(zF[1:-1]), zF[1:-1], -np.inf))) + 1
        if zF[k] > F[j]:
            t_r, ridge = float(zt[k]), float(zF[k])
        else:
            t_r, ridge = float(t[j]), float(F[j])
    else:
        t_r, ridge = float(t[j]), float(F[j])
    if min(ridge - float(F[0]), ridge - float(F[-1])) <= NO_BARRIER:
        zoom = None  # no ridge to zoom on: the highest inner point is just next to the higher end
    _report(progress, 1.0)
    return Slice(d.spec.name, reml, "REML criterion" if reml else "-2 log-likelihood",
                 tuple(map(float, ta)), tuple(map(float, tb)), label_a, label_b, frame,
                 t_r, ridge, ridge - float(F[0]), ridge - float(F[-1]), zoom)


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


def format_height(value: float) -> str:
    """A rise or fall with two decimals, or more for small values: at least two
    significant digits, so that a real barrier never reads 0.00."""
    v = abs(float(value))
    decimals = 2 if v >= 0.1 or v == 0 else min(1 - math.floor(math.log10(v)), 10)
    return f"{v:.{decimals}f}"


def describe_slice(s: Slice) -> str:
    """What the criterion does along the slice, in words, from its numbers only.

    With a barrier (it rises more than :data:`NO_BARRIER` above both ends): how far
    it rises from ``label_a`` and falls to ``label_b``. Without: it falls from the
    higher end all the way to the lower one (or, when it climbs back on the way
    without reaching the higher end's value, by how much)."""
    fr = s.points()
    F = fr["criterion"].to_numpy(dtype=float)
    fa, fb = float(F[0]), float(F[-1])
    la, lb, h = s.label_a, s.label_b, format_height
    if s.has_barrier:
        before = F[: int(np.searchsorted(fr["t"].to_numpy(), s.ridge_t))]
        dip = fa - float(before.min()) if len(before) else 0.0
        start = (f"first rises by {h(s.barrier_a)}" if dip <= NO_BARRIER else
                 f"first falls by {h(dip)}, then rises to {h(s.barrier_a)} above {la}")
        return (f"From {la} to {lb} the criterion {start}, then falls by {h(s.barrier_b)}: an optimizer at "
                f"{la} must climb to {s.ridge_criterion:.2f} on this path before it can go down to {lb}.")
    hi_l, lo_l, G = (la, lb, F) if fa >= fb else (lb, la, F[::-1])
    climb = float(np.max(G - np.minimum.accumulate(G)))  # the largest rise on the way down
    if climb <= NO_BARRIER:
        return (f"Between {la} and {lb} there is no barrier: from {hi_l} the criterion falls all the way to "
                f"{lo_l}, by {h(abs(fa - fb))}. Nothing on this path holds an optimizer at {hi_l}.")
    return (f"Between {la} and {lb} there is no barrier above {hi_l}: the criterion never climbs back to "
            f"{hi_l} on the way to {lo_l}, though it rises by {h(climb)} on the way.")


def describe_optima(a: Optimum, b: Optimum) -> str:
    """Where the two ends of the slice come from, in words."""
    def where(o: Optimum) -> str:
        n = len(o.optimizers)
        if n == 0:
            return f"{o.label}, a minimum of the landscape that no optimizer converged to"
        return f"{o.label}, where {n} optimizer run{'s' if n > 1 else ''} converged"
    return f"The slice joins {where(a)}, and {where(b)} (the lowest criterion found)."


# --------------------------------------------------------------------------- profiles


@dataclass(frozen=True, eq=False)
class ProfilePoint:
    """The lowest criterion with one coordinate held fixed, and where it is."""

    value: float
    criterion: float
    theta: tuple[float, ...]


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

    d = _design(source, model)
    model = d.spec.name
    if model not in TWO_D:
        raise ValueError(f"profiles over one SD are for {TWO_D}; for {model!r} use curve_1d")
    if coord not in ("sd_int", "sd_slope"):
        raise ValueError('coord must be "sd_int" or "sd_slope"')
    f = make_deviance(d, reml)
    bd = batch_deviance(d, reml=reml)
    v = float(value)

    def theta_of(z) -> np.ndarray:
        other = math.exp(z[0])
        a, b = (v, other) if coord == "sd_int" else (other, v)
        if model == "slope":
            return coords_to_theta("slope", a, b, float(np.clip(z[1], -1.0, 1.0)))[0]
        return np.array([a, b])

    others = np.geomspace(1e-4, 1e5, 46)
    if model == "slope":
        cs = np.linspace(-1.0, 1.0, 21)
        O, R = np.meshgrid(others, cs)
        o, r = O.ravel(), R.ravel()
        a, b = (np.full_like(o, v), o) if coord == "sd_int" else (o, np.full_like(o, v))
        F = bd(coords_to_theta("slope", a, b, r))
        i = int(np.argmin(F))
        starts = [np.array([math.log(o[i]), r[i]])]
        bounds = [(math.log(1e-8), math.log(1e8)), (-1.0, 1.0)]
    else:
        a, b = (np.full_like(others, v), others) if coord == "sd_int" else (others, np.full_like(others, v))
        F = bd(np.column_stack([a, b]))
        starts = [np.array([math.log(others[int(np.argmin(F))])])]
        bounds = [(math.log(1e-8), math.log(1e8))]
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

    d = _design(source, model)
    model = d.spec.name
    if best_theta is None:
        from . import fit as _fit  # the public API (lazy attribute of the package)

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


# --------------------------------------------------------------------------- budget


def estimate_seconds(n_groups: int, points: int, profiled: bool = True, rate: float = 1.5e8) -> float:
    """A rough wall-clock estimate for a map: points × evaluations per point (20
    profiled, 1 held) × distinct groups / ``rate`` (θ·group products per second,
    measured on 2 busy cores), plus the polishing of the minima."""
    per_point = 20 if profiled else 1
    return float(points) * per_point * max(int(n_groups), 1) / rate + 2e-6 * max(int(n_groups), 1)


def suggest_grid(n_groups: int, profiled: bool = True, seconds: float = 3.0, largest: int = 60) -> int:
    """The largest square grid side (≥ 10, ≤ ``largest``, a multiple of 5) expected
    to finish in ``seconds``."""
    side = largest
    while side > 10 and estimate_seconds(n_groups, side * side, profiled) > seconds:
        side -= 5
    return side
