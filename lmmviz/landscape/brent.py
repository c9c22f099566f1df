"""Brent's bounded scalar minimization run on many independent problems at once."""

from __future__ import annotations

import math

import numpy as np


def brent_bounded(fun, a: np.ndarray, b: np.ndarray, x: np.ndarray, fx: np.ndarray, xatol: float,
                  maxiter: int = 40) -> tuple[np.ndarray, np.ndarray, int]:
    """SciPy's ``minimize_scalar(method="bounded")``, step for step, vectorized.

    ``fun(idx, u)`` evaluates problems ``idx`` at points ``u``. Each problem starts in
    [a, b] from a point x already evaluated (fx); each iteration evaluates one new
    point for every problem not yet converged, so a whole grid costs one batched
    evaluation per iteration. Returns (x, f(x), iterations).
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
