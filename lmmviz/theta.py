"""Starting values for θ: lme4's own and the extra ones the robust default tries.

lme4 starts intercept-only models from a moment estimate, θ = √(v / (var(y) − v))
with v the variance of each row's group mean of y, and every other model from
diagonal 1, off-diagonal 0. The moment start below estimates the random-effects
covariance from per-group OLS fits, which lands near the right basin when subjects
differ by orders of magnitude more than the residual noise (the seed's case).
"""

from __future__ import annotations

import math

import numpy as np

from .design import Design
from .numerics import cholesky, gram


def lme4_start(design: Design) -> np.ndarray:
    """The start lme4 1.1 uses."""
    spec, st = design.spec, design.stats
    if spec.q == 1:
        # var(ave(y, g)) and var(y) with R's n − 1 denominators
        n = design.n
        ybar = float((st.n * st.my).sum() / n)
        v = float((st.n * (st.my - ybar) ** 2).sum() / (n - 1))
        vy = float((st.syy.sum() + (st.n * (st.my - ybar) ** 2).sum()) / (n - 1))
        if vy > v > 0:
            return np.array([math.sqrt(v / (vy - v))])
        return np.array([1.0])
    return np.array([1.0, 0.0, 1.0]) if spec.n_theta == 3 else np.ones(spec.n_theta)


def _theta_from_cov(design: Design, cov: np.ndarray) -> np.ndarray:
    """Relative covariance (q × q, already divided by σ²) → θ in lme4's order."""
    spec = design.spec
    if spec.q == 1:
        return np.array([math.sqrt(max(float(cov[0, 0]), 0.0))])
    if spec.n_theta == 2:
        return np.sqrt(np.maximum(np.diag(cov), 0.0))
    L = cholesky(_nearest_pd_2x2(cov))
    return np.array([L[0, 0], L[1, 0], L[1, 1]])


def _nearest_pd_2x2(cov: np.ndarray) -> np.ndarray:
    """The 2 × 2 symmetric matrix with its eigenvalues raised to at least 1e-8 × the largest, in
    closed form (LAPACK's eigh gives other last bits on other CPUs, and this only starts a search)."""
    a, b, d = float(cov[0, 0]), float(cov[0, 1]), float(cov[1, 1])
    half_gap = math.hypot((a - d) / 2.0, b)
    hi, lo = (a + d) / 2.0 + half_gap, (a + d) / 2.0 - half_gap
    floor = 1e-8 * max(hi, 1e-12)
    if lo >= floor:
        return np.array([[a, b], [b, d]])
    # eigenvector of the small eigenvalue, then raise that eigenvalue (and the large one if needed)
    v = (b, lo - a) if abs(b) > 0.0 else ((1.0, 0.0) if a <= d else (0.0, 1.0))
    norm = math.hypot(*v)
    v = (v[0] / norm, v[1] / norm)
    u = (-v[1], v[0])
    hi = max(hi, floor)
    return np.array([[hi * u[0] * u[0] + floor * v[0] * v[0], hi * u[0] * u[1] + floor * v[0] * v[1]],
                     [hi * u[0] * u[1] + floor * v[0] * v[1], hi * u[1] * u[1] + floor * v[1] * v[1]]])


def moment_start(design: Design) -> np.ndarray | None:
    """θ from the between-group spread of per-group OLS estimates (None when unusable)."""
    st, spec = design.stats, design.spec
    n = st.n
    # Pooled within-group slope (common to every model) and residual variance.
    sxx_tot = float(st.sxx.sum())
    if spec.q == 1:
        bw = float(st.sxy.sum() / sxx_tot) if sxx_tot > 0 else 0.0
        rss = float(st.syy.sum() - bw * st.sxy.sum())
        df = design.n - st.n_groups - 1
        if df <= 0 or rss <= 0:
            return None
        s2 = rss / df
        a = st.my - bw * st.mx
        if spec.within_between:
            # Between-group variance left after x̄ explains the group intercepts.
            # (simple regression in closed form: lstsq's LAPACK differs in the last bits by CPU)
            dm = st.mx - st.mx.mean()
            sdd = float(np.sum(dm * dm))
            resid = a - a.mean() - (float(np.sum(dm * (a - a.mean()))) / sdd * dm if sdd > 0 else 0.0)
            tau2 = float(np.sum(resid * resid) / max(len(a) - 2, 1) - s2 * np.mean(1.0 / n))
        else:
            tau2 = float(np.var(a, ddof=1) - s2 * np.mean(1.0 / n))
        return _theta_from_cov(design, np.array([[max(tau2, 0.0) / s2]]))
    ok = (n >= 3) & (st.sxx > 0)
    if ok.sum() < 2:
        return None
    slope = st.sxy[ok] / st.sxx[ok]
    inter = st.my[ok] - slope * st.mx[ok]
    rss = st.syy[ok] - slope * st.sxy[ok]
    df = float((n[ok] - 2).sum())
    s2 = float(rss.sum() / df)
    if not s2 > 0:
        return None
    coefs = np.column_stack([inter, slope])
    centred = coefs - coefs.mean(axis=0)
    between = gram(centred) / (len(coefs) - 1)  # np.cov, summed in a fixed order
    # Mean sampling covariance of (intercept, slope) from OLS: s²(Z'Z)⁻¹.
    nn, mx, sxx = n[ok], st.mx[ok], st.sxx[ok]
    samp = np.array([
        [np.mean(1.0 / nn + mx**2 / sxx), np.mean(-mx / sxx)],
        [np.mean(-mx / sxx), np.mean(1.0 / sxx)],
    ]) * s2
    return _theta_from_cov(design, (between - samp) / s2)


def candidate_starts(design: Design) -> list[tuple[str, np.ndarray]]:
    """Labelled starts for the robust default: lme4's, the moment start, and
    boundary points (a variance set to zero) around it."""
    out: list[tuple[str, np.ndarray]] = [("lme4 start", lme4_start(design))]
    m = moment_start(design)
    spec = design.spec
    if m is not None and np.all(np.isfinite(m)):
        out.append(("moment start", m))
        if spec.q == 1:
            out.append(("moment start × 10", m * 10.0))
            out.append(("θ = 1 (statsmodels' start)", np.ones(1)))
        elif spec.n_theta == 3:
            out.append(("moment start, slope SD 0", np.array([m[0], m[1], 0.0])))
            out.append(("moment start, intercept SD only", np.array([m[0], 0.0, 0.0])))
        else:
            out.append(("moment start, slope SD 0", np.array([m[0], 0.0])))
            out.append(("moment start, intercept SD 0", np.array([0.0, m[1]])))
    # Drop near-duplicates so no start is run twice.
    unique: list[tuple[str, np.ndarray]] = []
    for label, th in out:
        th = np.maximum(th, np.array(spec.lower_bounds()))
        if all(np.max(np.abs(th - u)) > 1e-6 * (1 + np.max(np.abs(u))) for _, u in unique):
            unique.append((label, th))
    return unique
