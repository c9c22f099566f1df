"""Landscape coordinates: θ ↔ relative SDs and correlation, axis titles and ranges."""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np
import pandas as pd

ONE_D = ("intercept", "within_between")
TWO_D = ("slope", "uncorrelated")


def theta_columns(n: int) -> list[str]:
    """Column names theta1 … theta<n>."""
    return [f"theta{i + 1}" for i in range(n)]


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


def log_edges(centers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cell edges (geometric midpoints) around log-spaced centers."""
    lc = np.log(centers)
    if len(lc) == 1:
        return centers / 1.1, centers * 1.1
    mid = (lc[1:] + lc[:-1]) / 2
    first = lc[0] - (mid[0] - lc[0])
    last = lc[-1] + (lc[-1] - mid[-1])
    edges = np.exp(np.concatenate([[first], mid, [last]]))
    return edges[:-1], edges[1:]
