"""Arithmetic that gives the same bits on every machine.

A criterion as flat as the seed's random-slope REML surface turns a difference in the last bit
into a different optimizer path: another number of evaluations, another stopping message, at
worst another optimum. Three things in numpy differ between CPUs:

* matrix products and LAPACK (``A.T @ A``, ``np.linalg.cholesky``) run OpenBLAS kernels chosen
  at run time (Haswell, SkylakeX, ...), which sum in different orders and fuse differently;
* ``np.log`` and ``np.exp`` on arrays use AVX-512 code where the CPU has it, an ulp away from
  the scalar code elsewhere;
* libm's ``log`` has a fused-multiply-add variant.

So the criterion is built from what IEEE 754 defines exactly (+, −, ×, ÷, √, numpy's elementwise
operations and its fixed-order reductions) and from mpmath's logarithm, which is integer
arithmetic in pure Python. tests/test_numerics.py runs fits under other OpenBLAS kernels and
numpy SIMD levels and checks them bit for bit.
"""

from __future__ import annotations

import math

import numpy as np
from mpmath.libmp import from_float, mpf_log, round_nearest, to_float

_LN2 = to_float(mpf_log(from_float(2.0), 53, round_nearest))


def log(x: float) -> float:
    """The natural logarithm, correctly rounded (nan for x < 0, -inf at 0)."""
    x = float(x)
    if not 0.0 < x < math.inf:
        return -math.inf if x == 0.0 else (math.inf if x == math.inf else math.nan)
    return to_float(mpf_log(from_float(x), 53, round_nearest))


def sum_log(x: np.ndarray) -> float:
    """Σ log xᵢ for positive xᵢ: the product, kept in range by splitting off exponents (frexp is
    exact; products of 64 mantissas in [½, 1) cannot underflow), then one logarithm. Relative
    error of the product about n·2⁻⁵³, as for a sum of n logarithms."""
    m, e = np.frexp(np.asarray(x, dtype=float).ravel())
    if m.size == 0:
        return 0.0
    if not (m > 0.0).all():
        return -math.inf if (m >= 0.0).all() else math.nan
    exponent = int(e.sum())
    while m.size > 1:
        pad = -m.size % _CHUNK
        if pad:
            m = np.concatenate([m, np.ones(pad)])
        m, e = np.frexp(m.reshape(-1, _CHUNK).prod(axis=1))
        exponent += int(e.sum())
    return exponent * _LN2 + log(float(m[0]))


_CHUNK = 64


def gram(*blocks: np.ndarray) -> np.ndarray:
    """Σ over blocks and rows of bᵀb for (G × k) blocks, each entry a pairwise sum over the
    G rows in numpy's fixed order (a BLAS product sums in an order that depends on the CPU's
    kernel)."""
    out = None
    for b in blocks:
        bt = np.ascontiguousarray(np.asarray(b, dtype=float).T)
        g = (bt[:, None, :] * bt[None, :, :]).sum(axis=-1)
        out = g if out is None else out + g
    return out


def cholesky(a: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of a small symmetric positive definite matrix (the k × k blocks of
    lmmviz, k ≤ 4), by the textbook recurrence in a fixed order. Raises LinAlgError as numpy."""
    a = np.asarray(a, dtype=float)
    k = a.shape[0]
    L = [[0.0] * k for _ in range(k)]
    for j in range(k):
        s = float(a[j, j])
        for t in range(j):
            s -= L[j][t] * L[j][t]
        if not s > 0.0:
            raise np.linalg.LinAlgError("Matrix is not positive definite")
        L[j][j] = math.sqrt(s)
        for i in range(j + 1, k):
            s = float(a[i, j])
            for t in range(j):
                s -= L[i][t] * L[j][t]
            L[i][j] = s / L[j][j]
    return np.array(L)
