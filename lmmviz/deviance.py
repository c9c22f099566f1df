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
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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


def objective(design: Design, factor: Factor, reml: bool) -> Objective:
    """The profiled REML criterion or −2 log-likelihood from a factor."""
    n, p = design.n, design.p
    try:
        R = cholesky(factor.P)
    except np.linalg.LinAlgError:
        return Objective(math.inf, factor.ldL2, math.nan, math.nan)
    d = np.diag(R)
    pwrss = float(d[p] ** 2)
    ldRX2 = 2.0 * sum_log(d[:p]) + design.ldRX2_shift
    if not pwrss > 0.0:
        return Objective(math.inf, factor.ldL2, ldRX2, pwrss)
    if reml:
        nmp = n - p
        crit = factor.ldL2 + ldRX2 + nmp * (1.0 + LOG_2PI + log(pwrss / nmp))
    else:
        crit = factor.ldL2 + n * (1.0 + LOG_2PI + log(pwrss / n))
    return Objective(float(crit), factor.ldL2, ldRX2, pwrss)


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
