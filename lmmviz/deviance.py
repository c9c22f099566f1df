"""lme4's profiled deviance as a function of θ alone (``mkLmerDevfun``).

For a given θ, with Λ the relative covariance factor and for each group g

    L_g L_g' = Λ' Z_g'Z_g Λ + I          (q × q, closed form for q ≤ 2)
    B_g      = L_g⁻¹ Λ' Z_g'W_g          (= [RZX_g | cu_g])
    P        = W'W − Σ_g B_g' B_g        (k × k, k = p + 1)

The Cholesky factor of P holds RX (its leading p × p block) and √pwrss (its last
diagonal entry). This is MixedModels.jl's ``updateL!`` done with batched scalar
arithmetic over groups, so an evaluation costs O(groups), never O(rows).

    REML criterion = ldL2 + ldRX2 + (n−p)(1 + log(2π·pwrss/(n−p)))
    ML  (−2 logLik) = ldL2 + n(1 + log(2π·pwrss/n))

One θ (the fit: :func:`update_factor`, which also keeps the pieces :func:`solve`
needs) or many at once (grids: :class:`BatchDeviance`) end in the same
:func:`criterion_from_blocks`, so a fix to the criterion is a fix everywhere.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

import numpy as np

from .design import Design
from .models import ModelSpec
from .numerics import cholesky, gram, log, sum_log

LOG_2PI = log(2.0 * math.pi)


def lambda_entries(spec: ModelSpec, theta) -> tuple[float, float, float]:
    """θ → (l11, l21, l22), the lower triangle of Λ (structural zeros filled in)."""
    th = np.asarray(theta, dtype=float).ravel()
    if th.size != spec.n_theta:
        raise ValueError(f"model {spec.name!r} takes {spec.n_theta} θ values, got {th.size}")
    return tuple(0.0 if i is None else float(th[i]) for i in spec.lambda_index)  # type: ignore[return-value]


def _chol_of_transformed(t1: float, t2: float, t3: float, c: float, s: float) -> tuple[float, float, float]:
    """Lower Cholesky factor of M Λ Λ' M' for M = [[1, c], [0, s]], Λ = [[t1, 0], [t2, t3]].

    l22 comes from |det(MΛ)| / l11, which has no cancellation."""
    k11, k12 = t1 + c * t2, c * t3
    l11 = math.hypot(k11, k12)
    if l11 == 0.0:
        return 0.0, 0.0, abs(s) * math.hypot(t2, t3)
    l21 = (k11 * s * t2 + k12 * s * t3) / l11
    l22 = abs(s * t1 * t3) / l11
    return l11, l21, l22


def internal_lambda(design: Design, theta) -> tuple[float, float, float]:
    """lme4's θ (for the raw x) → the factor Λ' for the internal x' = (x − c)/s.

    With x = c + s·x', a group's effects on (1, x) are b' = M b on (1, x'), M = [[1, c],
    [0, s]], so Λ'Λ'ᵀ = M ΛΛᵀ Mᵀ. Intercept-only models are unaffected."""
    t = lambda_entries(design.spec, theta)
    if design.spec.q == 1:
        return t
    return _chol_of_transformed(*t, design.x_center, design.x_scale)


def theta_from_internal(design: Design, lam) -> np.ndarray:
    """The inverse of :func:`internal_lambda` for the correlated slope model."""
    if design.spec.name != "slope":
        raise ValueError("only the correlated slope model is optimized in internal coordinates")
    c, s = design.x_center, design.x_scale
    return np.array(_chol_of_transformed(*map(float, lam), -c / s, 1.0 / s))


def lambda_matrix(spec: ModelSpec, theta) -> np.ndarray:
    """Λ as a q × q lower-triangular matrix."""
    l11, l21, l22 = lambda_entries(spec, theta)
    if spec.q == 1:
        return np.array([[l11]])
    return np.array([[l11, 0.0], [l21, l22]])


@dataclass(frozen=True, eq=False)
class Factor:
    """The result of ``updateL!`` at one θ: per-group factors and the dense block.

    ``B`` holds the rows of each group's B_g = L_g⁻¹ Λ' Z_g'W_g as q arrays of
    shape (G, k), so that the hot path never stacks or transposes.
    """

    theta: np.ndarray
    l11: np.ndarray
    l21: np.ndarray | None
    l22: np.ndarray | None
    B: tuple  # q arrays (G, k)
    P: np.ndarray  # (k, k)
    ldL2: float


def update_factor(design: Design, theta) -> Factor:
    """Factor the per-group blocks at θ (MixedModels.jl's ``updateL!(setθ!(m, θ))``).

    Batched closed-form 1×1 or 2×2 Cholesky factors over all groups at once: a
    few dozen vector operations of length G and two (G × k)ᵀ(G × k) products.
    """
    spec = design.spec
    t1, t2, t3 = internal_lambda(design, theta)
    m = design.zz  # contiguous (G,) arrays m11[, m12, m22]
    zw = design.zw  # contiguous (G, k) arrays Z[:, i]'W
    if spec.q == 1:
        a11 = 1.0 + (t1 * t1) * m[0]
        l11 = np.sqrt(a11)
        b1 = zw[0] * (t1 / l11)[:, None]
        P = design.sww - gram(b1)
        return Factor(np.asarray(theta, float).ravel().copy(), l11, None, None, (b1,), P, sum_log(a11))
    m11, m12, m22 = m
    # T = Λ' M Λ for Λ = [[t1, 0], [t2, t3]]
    u = m12 * t1 + m22 * t2
    a11 = 1.0 + m11 * (t1 * t1) + m12 * (2.0 * t1 * t2) + m22 * (t2 * t2)
    a21 = t3 * u
    a22 = 1.0 + m22 * (t3 * t3)
    l11 = np.sqrt(a11)
    l21 = a21 / l11
    # l22² = det/a11 stays > 0 without the cancellation of a22 − l21².
    l22sq = np.maximum((a11 * a22 - a21 * a21) / a11, np.finfo(float).tiny)
    l22 = np.sqrt(l22sq)
    b1 = (t1 * zw[0] + t2 * zw[1]) / l11[:, None]
    b2 = (t3 * zw[1] - l21[:, None] * b1) / l22[:, None]
    P = design.sww - gram(b1, b2)
    ldL2 = 2.0 * (sum_log(l11) + sum_log(l22))
    return Factor(np.asarray(theta, float).ravel().copy(), l11, l21, l22, (b1, b2), P, ldL2)


@dataclass(frozen=True)
class Objective:
    """The pieces of the profiled criterion at one θ."""

    criterion: float
    ldL2: float
    ldRX2: float
    pwrss: float


def _cholesky_diagonals(P: np.ndarray) -> np.ndarray:
    """The diagonals (N, k) of the Cholesky factors of N blocks P (N, k, k) for a grid:
    LAPACK, one call for a whole stack. Blocks that are not positive definite give rows
    of NaN."""
    try:
        return np.diagonal(np.linalg.cholesky(P), axis1=1, axis2=2)
    except np.linalg.LinAlgError:
        if len(P) == 1:
            return np.full(P.shape[:2], np.nan)
        # LAPACK reports a failure for the whole stack: halving finds the failing blocks
        # in O(failures · log N) factorizations (they are rare: far out in θ).
        h = len(P) // 2
        return np.concatenate([_cholesky_diagonals(P[:h]), _cholesky_diagonals(P[h:])])


def _formula(ldL2, ldRX2, pwrss, n: int, p: int, reml: bool, log):
    """REML criterion or −2 log-likelihood from its pieces (floats or arrays)."""
    if reml:
        nmp = n - p
        return ldL2 + ldRX2 + nmp * (1.0 + LOG_2PI + log(pwrss / nmp))
    return ldL2 + n * (1.0 + LOG_2PI + log(pwrss / n))


def _one_theta(design: Design, P: np.ndarray, ldL2: float, reml: bool):
    """A fit's evaluation, in arithmetic that gives the same bits on every computer
    (lmmviz.numerics: an optimizer's path follows every bit of it)."""
    p = design.p
    try:
        d = np.diag(cholesky(P))
    except np.linalg.LinAlgError:
        return math.inf, math.nan, math.nan
    pwrss = float(d[p]) ** 2
    ldRX2 = 2.0 * sum_log(d[:p]) + design.ldRX2_shift
    crit = _formula(float(ldL2), ldRX2, pwrss, design.n, p, reml, log) if pwrss > 0.0 else math.inf
    return (crit if math.isfinite(crit) else math.inf), ldRX2, pwrss


def criterion_from_blocks(design: Design, P: np.ndarray, ldL2, reml: bool):
    """The profiled criterion from the factor pieces at N θ: the step every evaluation
    shares (:func:`objective` at one θ, :class:`BatchDeviance` on grids).

    ``P`` (N, k, k) is W'W − Σ_g B_g'B_g and ``ldL2`` (N,) is log det(LL') = Σ_g log det(L_gL_g').
    Returns (criterion, ldRX2, pwrss), each (N,); the criterion is ``inf`` where P is not
    positive definite or the result is not finite. One θ (a fit) is computed the same on
    every computer; a grid uses LAPACK and vectorised logs, equal to it within 1e-10
    (tests/test_one_criterion.py) and fast.
    """
    if len(P) == 1:
        crit, ldRX2, pwrss = _one_theta(design, P[0], float(np.ravel(ldL2)[0]), reml)
        return np.array([crit]), np.array([ldRX2]), np.array([pwrss])
    n, p = design.n, design.p
    d = _cholesky_diagonals(P)
    with np.errstate(divide="ignore", invalid="ignore"):
        ldRX2 = 2.0 * np.log(d[:, :p]).sum(axis=1) + design.ldRX2_shift
        pwrss = d[:, p] ** 2
        crit = _formula(ldL2, ldRX2, pwrss, n, p, reml, np.log)
    return np.where((pwrss > 0.0) & np.isfinite(crit), crit, np.inf), ldRX2, pwrss


def objective(design: Design, factor: Factor, reml: bool) -> Objective:
    """The profiled REML criterion or −2 log-likelihood from a factor (a batch of one)."""
    crit, ldRX2, pwrss = criterion_from_blocks(design, factor.P[None], factor.ldL2, reml)
    return Objective(float(crit[0]), factor.ldL2, float(ldRX2[0]), float(pwrss[0]))


@dataclass(frozen=True, eq=False)
class Deviance:
    """``f(θ)``: the profiled criterion of a design, REML or ML (lme4's devfun).

    A plain picklable object: no hidden environment. Non-finite results (a θ
    where the factorization fails) come back as ``inf``.
    """

    design: Design
    reml: bool = True

    def __call__(self, theta) -> float:
        # Far out in θ (or with extreme x) the factors overflow; the result is then
        # reported as inf, so the floating-point warnings are noise.
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            value = objective(self.design, update_factor(self.design, theta), self.reml).criterion
        return value if math.isfinite(value) else math.inf

    @property
    def lower(self) -> np.ndarray:
        return np.array(self.design.spec.lower_bounds())

    @property
    def n_theta(self) -> int:
        return self.design.spec.n_theta


def make_deviance(design: Design, reml: bool = True) -> Deviance:
    """lme4's ``mkLmerDevfun``: the criterion as a function of θ."""
    return Deviance(design, reml)


CHUNK_ELEMENTS = 400_000  # (θ × group) elements per batch: keeps the work arrays in cache


@dataclass(frozen=True, eq=False)
class BatchDeviance:
    """The profiled criterion at many θ at once, for grids (see :func:`batch_deviance`).

    ``self(thetas)`` takes an (N, n_theta) array and returns N criteria, ``inf`` where
    θ is out of bounds or :func:`criterion_from_blocks` fails, as :class:`Deviance`.
    Only ldL2 and P are formed differently from :func:`update_factor`: through the
    relative covariance Σ = ΛΛ′, so that a batch of θ costs a few matrix products over
    the groups (BLAS) and one ``log`` per (θ, group). For group g with M = Z′Z, R = Z′W:

        det(I + Λ′MΛ) = 1 + tr(MΣ) + det(M)·det(Σ)             =: D_g
        R′Λ(Λ′MΛ + I)⁻¹Λ′R = R′(Σ + det(Σ)·adj(M))R / D_g        (q = 2)

    Groups with the same Z′Z share one weight, so designs where every subject has the
    same doses cost O(distinct designs) per θ.

    For the random-slope models every group is written in its own centred basis
    (1, x − x̄_g), where Z′Z = diag(n, Sxx): the variance of the group's line at its
    mean dose is a sum of squares and every determinant a sum of positive terms, so no
    digits are lost however far the doses sit from 0 or however strongly intercepts
    and slopes are correlated (about a dozen passes over (θ, group) pairs).
    ``fast=True`` expands the same algebra into one matrix product (three passes); it
    can lose about 1e-8 relative where the slope SD is tens of residual SDs, which is
    harmless for locating a minimum: the landscape's profile search uses it before the
    exact evaluation of each grid point.
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
        """θ (lme4's, for the raw x) → K = MΛ, the factor for the design's internal x'
        (as :func:`internal_lambda`), and det(KK′)."""
        c, s = self.design.x_center, self.design.x_scale
        t1 = T[:, 0]
        if self.design.spec.n_theta == 3:
            t2, t3 = T[:, 1], T[:, 2]
        else:  # uncorrelated: Λ = diag(θ₁, θ₂)
            t2, t3 = np.zeros_like(t1), T[:, 1]
        return t1 + c * t2, c * t3, s * t2, s * t3, (s * t1 * t3) ** 2

    def _pieces_intercept(self, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ldL2, Σ_g B_g′B_g flattened) for q = 1."""
        s2 = T[:, :1] ** 2
        D = 1.0 + s2 * self.keys[:, 0]  # 1 + θ²·n_g
        ldL2 = np.log(D) @ self.counts
        np.reciprocal(D, out=D)
        return ldL2, s2 * (D @ self.cmat)

    def _pieces_fast(self, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ldL2, Σ_g B_g′B_g flattened) for q = 2, expanded into one product."""
        k11, k12, k21, k22, det = self._factor(T)
        N, k2 = len(T), self.design.sww.size
        S = np.column_stack([k11 * k11 + k12 * k12, k11 * k21 + k12 * k22, k21 * k21 + k22 * k22, det])
        dm, cm = self._fast_parts
        D = np.column_stack([np.ones(N), S]) @ dm
        ldL2 = np.log(D) @ self.counts
        np.reciprocal(D, out=D)
        return ldL2, np.einsum("na,nak->nk", S, (D @ cm).reshape(N, 4, k2))

    def _pieces_slope(self, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(ldL2, Σ_g B_g′B_g flattened) for q = 2 in each group's centred basis."""
        n = self.keys[:, 0]
        k2 = self.design.sww.size
        k11, k12, k21, k22, det = self._factor(T)
        s22 = k21 * k21 + k22 * k22
        # The covariance of each group's line in the basis (1, x − x̄_g): v = K′(1, x̄_g)
        # and s11 = |v|² as a sum of squares (never cancels), s12 = k11·k21 + k12·k22 +
        # s22·x̄_g. Outer products of per-θ and per-group columns are small matrix
        # products (one pass each).
        v1 = np.column_stack([k11, k21]) @ self._basis
        v2 = np.column_stack([k12, k22]) @ self._basis
        s11 = v1 * v1
        v2 *= v2
        s11 += v2
        s12 = np.column_stack([k11 * k21 + k12 * k22, s22]) @ self._basis
        D = np.column_stack([np.ones_like(k11), s22, det]) @ self._dterms  # 1 + s22·Sxx + det Σ·n·Sxx
        D += s11 * n
        ldL2 = np.log(D) @ self.counts
        np.reciprocal(D, out=D)
        s11 *= D
        s12 *= D
        C0, C1, C23 = self._cparts
        W = D @ C23  # [Σ_g C3/D | Σ_g E/D]
        contrib = s11 @ C0
        contrib += s12 @ C1
        contrib += s22[:, None] * W[:, :k2]
        contrib += det[:, None] * W[:, k2:]
        return ldL2, contrib

    def _chunk(self, T: np.ndarray, fast: bool) -> np.ndarray:
        d = self.design
        if d.spec.q == 1:
            ldL2, sum_bb = self._pieces_intercept(T)
        elif fast:
            ldL2, sum_bb = self._pieces_fast(T)
        else:
            ldL2, sum_bb = self._pieces_slope(T)
        k = d.sww.shape[0]
        P = (d.sww.reshape(1, k * k) - sum_bb).reshape(len(T), k, k)
        return criterion_from_blocks(d, P, ldL2, self.reml)[0]

    def __call__(self, thetas, progress: Callable[[float], None] | None = None, start: float = 0.0,
                 span: float = 1.0, fast: bool = False) -> np.ndarray:
        """The criteria at the rows of ``thetas``; ``progress`` (if given) hears the
        fraction done, mapped into [start, start + span], after each chunk."""
        T = np.atleast_2d(np.asarray(thetas, dtype=float))
        if T.shape[1] != self.n_theta:
            raise ValueError(f"model {self.design.spec.name!r} takes {self.n_theta} θ values, got {T.shape[1]}")
        lower = np.array(self.design.spec.lower_bounds())
        bad = np.any(T < lower, axis=1) | ~np.all(np.isfinite(T), axis=1)
        T = np.where(bad[:, None], np.maximum(np.nan_to_num(T), lower), T)
        out = np.empty(len(T))
        step = max(1, CHUNK_ELEMENTS // max(self.n_distinct, 1))
        # threadpoolctl's set-up (0.3–3 ms) costs more than a small batch, whose products
        # OpenBLAS runs on one thread anyway (a profiled map of the seed makes ~40 calls).
        limit = _one_blas_thread() if len(T) * self.n_distinct >= CHUNK_ELEMENTS else nullcontext()
        with limit, np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # far out: inf
            for s in range(0, len(T), step):
                out[s:s + step] = self._chunk(T[s:s + step], fast)
                if progress is not None:
                    progress(min(start + span * min(s + step, len(T)) / len(T), 1.0))
        out[bad] = np.inf
        return out


def _one_blas_thread():
    """BLAS single-threaded while a batch runs: its products are many small ones, and on
    shared, busy cores OpenBLAS's threads wait on each other. Measured (2 cores, load
    5–17, 60×60 maps of 10,000 groups, runs interleaved): alike when the cores are free,
    but the worst profiled map took 211 s with OpenBLAS's threads and 28 s with one.
    threadpoolctl is pinned in requirements.txt; without it BLAS keeps its threads."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def batch_deviance(design: Design, reml: bool = True) -> BatchDeviance:
    """Precompute the per-group products for :class:`BatchDeviance` (O(groups), once)."""
    d = design
    k = d.sww.shape[0]
    if d.spec.q == 1:
        R = d.szw[:, 0, :]  # Z = 1: Z′W is the group's row of sums n·w̄
        keys = d.szz[:, 0, 0][:, None]
        C = np.einsum("gi,gj->gij", R, R).reshape(len(R), k * k)
    else:
        # Z = [1, x] and W = [1, x, y − shift] in every group (lmmviz.design), on the
        # design's internal x. In the centred basis Z′W has rows n·w̄ and (0, Sxx, Sxy).
        st = d.internal_stats
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


@dataclass(frozen=True, eq=False)
class Solution:
    """Everything that follows from θ: β̂, σ, conditional modes and their variances."""

    objective: Objective
    beta: np.ndarray
    vcov_unscaled: np.ndarray  # (RX'RX)⁻¹; vcov(β̂) = σ² × this
    sigma: float
    u: np.ndarray  # spherical modes (G, q), for the internal x
    b: np.ndarray  # conditional modes (G, q) on the scale of the data
    condvar: np.ndarray  # (G, q, q) conditional covariance of b (lme4's condVar)


def solve(design: Design, theta, reml: bool = True) -> Solution:
    """Evaluate the model at θ and recover β̂, σ and the conditional modes."""
    f = update_factor(design, theta)
    obj = objective(design, f, reml)
    p, q = design.p, design.q
    if not math.isfinite(obj.criterion):
        raise FloatingPointError("the model cannot be evaluated at this θ")
    # Reuse the Cholesky factor of P: RX is its leading block, RX'β̂ = its last row.
    try:
        Lp = cholesky(f.P)  # the criterion's own factor: where it was finite, this succeeds
        RXinv = np.linalg.inv(Lp[:p, :p])  # lower triangular, p ≤ 3
    except np.linalg.LinAlgError:
        raise FloatingPointError("the fixed effects cannot be estimated at this θ") from None
    beta_c = RXinv.T @ Lp[p, :p]
    if not np.all(np.isfinite(beta_c)):
        raise FloatingPointError("the fixed effects cannot be estimated at this θ")
    sigma = math.sqrt(obj.pwrss / (design.n - p if reml else design.n))
    # c_g = cu_g − RZX_g β̂ ; then L_g' u_g = c_g.
    B = np.stack(f.B, axis=1)  # (G, q, k)
    c = B[:, :, p] - B[:, :, :p] @ beta_c
    t1, t2, t3 = internal_lambda(design, theta)
    G = design.n_groups
    if q == 1:
        u = (c[:, 0] / f.l11)[:, None]
        k = t1 / f.l11
        condvar = (sigma**2 * k * k)[:, None, None]
        lam = np.array([[t1]])
    else:
        u2 = c[:, 1] / f.l22
        u1 = (c[:, 0] - f.l21 * u2) / f.l11
        u = np.column_stack([u1, u2])
        # K = L⁻¹ Λ' ; Var(b | y) = σ² K'K
        K = np.zeros((G, 2, 2))
        K[:, 0, 0] = t1 / f.l11
        K[:, 0, 1] = t2 / f.l11
        K[:, 1, 0] = -f.l21 * K[:, 0, 0] / f.l22
        K[:, 1, 1] = (t3 - f.l21 * K[:, 0, 1]) / f.l22
        condvar = sigma**2 * np.einsum("gki,gkj->gij", K, K)
        lam = np.array([[t1, 0.0], [t2, t3]])
    b = u @ lam.T
    # Back from the internal x' = (x − c)/s to the raw x.
    Q = design.beta_map
    beta = Q @ beta_c
    beta[0] += design.y_shift
    vcov_unscaled = Q @ (RXinv.T @ RXinv) @ Q.T
    if q == 2:
        cs, s = design.x_center, design.x_scale
        Minv = np.array([[1.0, -cs / s], [0.0, 1.0 / s]])
        b = b @ Minv.T
        condvar = Minv @ condvar @ Minv.T
    return Solution(obj, beta, vcov_unscaled, sigma, u, b, condvar)
