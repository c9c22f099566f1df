"""Inference for the fixed effects: Satterthwaite df and p-values as lmerTest 3.1 computes
them, and confidence intervals as lme4's ``confint`` (Wald and profile).

lmerTest differentiates numerically (numDeriv's Richardson extrapolation); the same
scheme is used here, so that the df agree to far below the df's own numerical error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from .design import Design
from .deviance import Objective, objective, update_factor
from .numerics import cholesky

LOG_2PI = math.log(2.0 * math.pi)
METHODS = ("wald", "profile")


# ----------------------------------------------------------------- numDeriv (Richardson)


STEP = 0.05


def _steps(x: np.ndarray) -> np.ndarray:
    """numDeriv's first step d·|x| (eps = 1e-4 where x is near zero), with d = 0.05 where
    numDeriv has 1e-4: the criterion from sufficient statistics carries ~1e-12 relative
    rounding (sums of y² less their fit), which second differences at numDeriv's steps
    amplify to ~10% of the Hessian on the seed; after four Richardson halvings the
    truncation error at d = 0.05 is far below lmerTest's own (df agree to 1e-5)."""
    zero_tol = math.sqrt(np.finfo(float).eps / 7e-7)
    return np.abs(STEP * x) + 1e-4 * (np.abs(x) < zero_tol)


def _richardson(a: np.ndarray) -> np.ndarray:
    """Richardson extrapolation over the first axis (4 halvings of the step) to its first row."""
    for m in range(1, len(a)):
        a = (a[1:] * 4.0**m - a[:-1]) / (4.0**m - 1.0)
    return a[0]


def hessian(f, x) -> np.ndarray:
    """numDeriv's ``hessian`` (``genD``, method "Richardson", r = 4, v = 2)."""
    x = np.asarray(x, float)
    n, f0, h0 = len(x), f(x), _steps(x)
    e = np.eye(n)
    hk = [h0 / 2.0**k for k in range(4)]
    diag = np.array([
        _richardson(np.array([(f(x + e[i] * h[i]) - 2 * f0 + f(x - e[i] * h[i])) / h[i] ** 2 for h in hk]))
        for i in range(n)
    ])
    H = np.diag(diag)
    for i in range(n):
        for j in range(i):
            a = np.array([
                (f(x + e[i] * h[i] + e[j] * h[j]) - 2 * f0 + f(x - e[i] * h[i] - e[j] * h[j])
                 - diag[i] * h[i] ** 2 - diag[j] * h[j] ** 2) / (2 * h[i] * h[j])
                for h in hk
            ])
            H[i, j] = H[j, i] = _richardson(a)
    return H


def jacobian(f, x) -> np.ndarray:
    """numDeriv's ``jacobian`` (method "Richardson"): rows follow f's (flattened) values."""
    x = np.asarray(x, float)
    e, h0 = np.eye(len(x)), _steps(x)
    cols = []
    for i in range(len(x)):
        a = np.array([(np.ravel(f(x + e[i] * h[i])) - np.ravel(f(x - e[i] * h[i]))) / (2 * h[i])
                      for h in (h0 / 2.0**k for k in range(4))])
        cols.append(_richardson(a))
    return np.column_stack(cols)


# ------------------------------------------------------------------------ Satterthwaite


def _at(design: Design, theta, reml: bool) -> tuple[Objective, np.ndarray, np.ndarray]:
    """The criterion's pieces, β̂ and (RX'RX)⁻¹ at θ: :func:`lmmviz.solve` without the
    conditional modes (O(groups) work saved at each of the ~100 evaluations of the df)."""
    f = update_factor(design, theta)
    o = objective(design, f, reml)
    p = design.p
    try:
        L = cholesky(f.P)
        RXinv = np.linalg.inv(L[:p, :p])
    except np.linalg.LinAlgError:
        raise FloatingPointError("the fixed effects cannot be estimated at this θ") from None
    Q = design.beta_map
    beta = Q @ (RXinv.T @ L[p, :p])
    beta[0] += design.y_shift
    return o, beta, Q @ (RXinv.T @ RXinv) @ Q.T


def _deviance_vp(design: Design, reml: bool):
    """lmerTest's ``devfun_vp``: the (REML) deviance in varpar = (θ, σ), σ not profiled out."""
    n, p = design.n, design.p

    def dev(varpar):
        s2 = varpar[-1] ** 2
        o = _at(design, varpar[:-1], reml)[0]
        d = o.ldL2 + o.pwrss / s2 + n * (LOG_2PI + math.log(s2))
        return d + o.ldRX2 - p * (LOG_2PI + math.log(s2)) if reml else d

    return dev


def _covbeta(design: Design, reml: bool):
    """lmerTest's ``get_covbeta``: vcov(β̂) as a function of varpar = (θ, σ)."""
    return lambda varpar: varpar[-1] ** 2 * _at(design, varpar[:-1], reml)[2]


def satterthwaite_df(design: Design, theta, sigma: float, vcov: np.ndarray, reml: bool) -> np.ndarray:
    """Each fixed effect's Satterthwaite denominator df (lmerTest's ``contest1D`` with a unit
    contrast): 2·Var(β̂ⱼ)² / (∇Var(β̂ⱼ)' · A · ∇Var(β̂ⱼ)), where A = 2·H⁻¹ is the asymptotic
    covariance of (θ, σ) from the Hessian H of the deviance, inverted on its positive
    eigenvalues as lmerTest does."""
    varpar = np.append(np.asarray(theta, float), sigma)
    w, v = np.linalg.eigh(hessian(_deviance_vp(design, reml), varpar))
    pos = w > 1e-8
    A = 2.0 * (v[:, pos] / w[pos]) @ v[:, pos].T
    p = len(vcov)
    J = jacobian(_covbeta(design, reml), varpar)  # rows: vcov entries in row-major order
    grads = J[[j * p + j for j in range(p)]]  # (p, k): the gradient of each Var(β̂ⱼ)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 2.0 * np.diag(vcov) ** 2 / np.einsum("jk,kl,jl->j", grads, A, grads)


# ------------------------------------------------------------------------ confint


@dataclass(frozen=True)
class Confint:
    """lme4's ``confint(m, parm = "beta_", method = ...)``: one interval per fixed effect."""

    method: str
    level: float
    names: tuple
    lower: tuple
    upper: tuple

    def intervals(self) -> dict:
        return {n: [lo, up] for n, lo, up in zip(self.names, self.lower, self.upper)}

    def to_dict(self) -> dict:
        """The keys ``fit --json --confint`` adds (docs/cli-and-api.md)."""
        return {"confint": self.intervals(), "confint_method": self.method, "confint_level": self.level}


def wald(names, beta, se, level: float = 0.95) -> Confint:
    """β̂ ± z·SE with z the normal quantile (lme4's ``method = "Wald"``)."""
    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    beta, se = np.asarray(beta, float), np.asarray(se, float)
    return Confint("wald", level, tuple(names), tuple(map(float, beta - z * se)), tuple(map(float, beta + z * se)))


def _held_deviance(design: Design, j: int, b: float):
    """−2 log-likelihood at θ with βⱼ held at b and the other β at their best:
    r²(β) = r²(β̂) + (β − β̂)'RX'RX(β − β̂), whose minimum over the others is
    r² + (b − β̂ⱼ)²/[(RX'RX)⁻¹]ⱼⱼ (the same as refitting y − b·xⱼ without column j)."""
    n = design.n

    def dev(theta):
        try:
            o, beta, V = _at(design, theta, False)
        except FloatingPointError:
            return math.inf
        r2 = o.pwrss + (b - beta[j]) ** 2 / V[j, j]
        return o.ldL2 + n * (1.0 + LOG_2PI + math.log(r2 / n))

    return dev


def _minimize(f, x0, lower) -> tuple[float, np.ndarray]:
    """Bounded BOBYQA (NLopt, as lme4's default) from x0: the profile's previous θ, as
    lme4 continues from the last point."""
    import nlopt

    x0 = np.maximum(np.asarray(x0, float), lower)
    opt = nlopt.opt(nlopt.LN_BOBYQA, len(x0))
    opt.set_min_objective(lambda x, grad: f(x))
    opt.set_lower_bounds(lower)
    opt.set_initial_step(0.1 * np.maximum(np.abs(x0), 0.1))
    opt.set_ftol_abs(1e-9)
    opt.set_xtol_rel(1e-8)
    opt.set_maxeval(5000)
    x = opt.optimize(x0)
    return opt.last_optimum_value(), x


def _crossing(zeta, beta_j: float, se_j: float, target: float) -> float:
    """The b where ζ(b) = target, bracketed by doubling steps of SE from β̂ⱼ."""
    from scipy.optimize import brentq

    step = math.copysign(se_j, target)
    inner, outer = beta_j, beta_j + abs(target) * step
    for _ in range(40):
        if abs(zeta(outer)) >= abs(target):
            return brentq(lambda b: zeta(b) - target, inner, outer, xtol=1e-7 * se_j)
        inner, outer = outer, beta_j + 2.0 * (outer - beta_j)
    return math.copysign(math.inf, target)


def profile(design: Design, ml_theta, ml_criterion: float, ml_beta, ml_se, level: float = 0.95) -> Confint:
    """lme4's ``confint(method = "profile")`` for the fixed effects, from the ML fit (lme4
    profiles the ML deviance, refitting a REML model by ML first): for each βⱼ, the signed
    root ζ(b) = ±√(min_θ dev(θ | βⱼ = b) − dev_ML) solved for ζ = ±z exactly (Brent), where
    lme4 interpolates a spline through profile points."""
    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    lower = np.array(design.spec.lower_bounds())
    theta0 = np.asarray(ml_theta, float)
    lo, up = [], []
    for j in range(design.p):
        warm = [theta0]

        def zeta(b, j=j, warm=warm):
            value, x = _minimize(_held_deviance(design, j, b), warm[0], lower)
            warm[0] = x
            return math.copysign(math.sqrt(max(value - ml_criterion, 0.0)), b - ml_beta[j])

        lo.append(_crossing(zeta, float(ml_beta[j]), float(ml_se[j]), -z))
        warm[0] = theta0
        up.append(_crossing(zeta, float(ml_beta[j]), float(ml_se[j]), z))
    return Confint("profile", level, tuple(design.fixef_names), tuple(lo), tuple(up))


def confint(fit, data=None, method: str = "wald", level: float = 0.95) -> Confint:
    """lme4's ``confint(m, parm = "beta_", method = ...)`` for a :class:`~lmmviz.Fit`:
    ``"wald"`` (β̂ ± z·SE) or ``"profile"`` (needs ``data``, the Data or Design the fit was
    made from; a REML fit is refitted by ML with the robust default, as lme4 refits by ML)."""
    from .design import make_design
    from .fitting import fit as fit_model

    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be between 0 and 1, not {level!r}")
    if method == "wald":
        return wald(fit.fixef_names, fit.beta, fit.se, level)
    if data is None:
        raise ValueError("profile intervals need the data the fit was made from")
    design = data if isinstance(data, Design) else make_design(data, fit.model)
    ml = fit_model(design, fit.model, reml=False) if fit.reml else fit
    return profile(design, ml.theta, ml.criterion, ml.beta, ml.se, level)
