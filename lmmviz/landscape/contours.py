"""Contour lines of a gridded criterion (marching squares) and their levels."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

# Marching squares: (case, the edges each segment joins); a case adds 1, 2, 4, 8 for the
# corners BL, BR, TR, TL above the level; edges are 0 bottom, 1 right, 2 top, 3 left.
_SEGMENTS = (
    (1, ((0, 3),)), (2, ((0, 1),)), (3, ((1, 3),)), (4, ((1, 2),)), (5, ((0, 1), (2, 3))), (6, ((0, 2),)),
    (7, ((2, 3),)), (8, ((2, 3),)), (9, ((0, 2),)), (10, ((0, 3), (1, 2))), (11, ((1, 2),)), (12, ((1, 3),)),
    (13, ((0, 1),)), (14, ((0, 3),)),
)


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

            for c, segs in _SEGMENTS:
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
