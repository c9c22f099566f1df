"""Reference fits beside the mixed models: pooled OLS and per-group OLS (no pooling).

The pooled line comes from statsmodels; the per-group lines come from the same
per-group sufficient statistics the deviance uses, so they cost O(groups).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .data import Data
from .design import GroupStats, group_stats


@dataclass(frozen=True)
class PooledOLS:
    """``y ~ x`` ignoring groups: the line that shows Simpson's paradox."""

    intercept: float
    slope: float
    se_intercept: float
    se_slope: float
    sigma: float
    r2: float
    n_obs: int


def pooled_ols(data: Data) -> PooledOLS:
    """Pooled OLS fitted with statsmodels."""
    import statsmodels.api as sm

    x = data.frame[data.x].to_numpy(float)
    y = data.frame[data.y].to_numpy(float)
    res = sm.OLS(y, sm.add_constant(x, has_constant="add")).fit()
    b, se = res.params, res.bse
    return PooledOLS(float(b[0]), float(b[1]), float(se[0]), float(se[1]),
                     float(np.sqrt(res.scale)), float(res.rsquared), len(y))


def stats_of(data: Data) -> GroupStats:
    fr = data.frame
    return group_stats(fr[data.group].to_numpy(), fr[data.x].to_numpy(float), fr[data.y].to_numpy(float))


def per_group_ols(data: Data, stats: GroupStats | None = None) -> pd.DataFrame:
    """Each group's own OLS line: intercept, slope and their SEs (NaN where a group
    has fewer than 2 distinct x values, or no residual degrees of freedom for the SEs)."""
    st = stats if stats is not None else stats_of(data)
    n, mx, my, sxx, sxy, syy = st.n, st.mx, st.my, st.sxx, st.sxy, st.syy
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = sxx > 1e-12 * np.maximum(1.0, mx * mx) * n
        slope = np.where(ok, sxy / sxx, np.nan)
        intercept = my - slope * mx
        df = n - 2
        rss = np.where(ok, np.maximum(syy - slope * sxy, 0.0), np.nan)
        s2 = np.where(df > 0, rss / np.where(df > 0, df, 1), np.nan)
        se_slope = np.sqrt(s2 / sxx)
        se_intercept = np.sqrt(s2 * (1.0 / n + mx * mx / sxx))
    return pd.DataFrame({
        "group": st.labels, "n": n.astype(int), "x_mean": mx, "y_mean": my,
        "x_min": _group_extreme(data, st, np.minimum), "x_max": _group_extreme(data, st, np.maximum),
        "intercept": intercept, "slope": slope, "se_intercept": se_intercept, "se_slope": se_slope,
    })


def _group_extreme(data: Data, st: GroupStats, op) -> np.ndarray:
    x = data.frame[data.x].to_numpy(float)
    init = np.full(st.n_groups, np.inf if op is np.minimum else -np.inf)
    op.at(init, st.codes, x)
    return init
