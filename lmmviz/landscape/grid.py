"""The engine's criterion on grids of θ, and the local minima of a grid.

Every grid value comes from :class:`lmmviz.deviance.BatchDeviance`, which ends in
the same :func:`lmmviz.deviance.criterion_from_blocks` as the fit's deviance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import deviance
from ..data import Data
from ..deviance import BatchDeviance
from ..design import Design, make_design
from .coords import theta_columns, theta_coords

def design_of(source: Data | Design, model: str | None) -> Design:
    """The design for ``model`` on ``source`` (a Design is checked, Data is built)."""
    if isinstance(source, Design):
        if model is not None and model != source.spec.name:
            raise ValueError(f"the design is for model {source.spec.name!r}, not {model!r}")
        return source
    if model is None:
        raise ValueError("give the model name with the data")
    return make_design(source, model)


def batch_deviance(source: Data | Design, model: str | None = None, reml: bool = True) -> BatchDeviance:
    """The criterion at many θ at once (:func:`lmmviz.deviance.batch_deviance`)."""
    return deviance.batch_deviance(design_of(source, model), reml)


def _refine(design: Design, reml: bool, th0: np.ndarray) -> tuple[float, np.ndarray]:
    """Polish a grid point into a local minimum of the true criterion.

    NLopt's BOBYQA (through the engine's optimizer wrapper) in θ divided by its own
    size, so that a first step of 5% means the same at θ = 0.05 and at θ = 400 and
    the search stays in the grid point's basin; bounds keep diagonal entries ≥ 0, so
    boundary (singular) minima are reached exactly. If that run fails, SciPy's
    bounded L-BFGS-B takes over.
    """
    from ..optimizers import OptimizerSettings, run_optimizer

    f = deviance.make_deviance(design, reml)
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


def grid_minima(design: Design, reml: bool, model: str, Z: np.ndarray, thetas: np.ndarray,
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
    out = pd.DataFrame(T, columns=theta_columns(T.shape[1]))
    out.insert(0, "criterion", [k[0] for k in kept])
    diag = list(design.spec.diagonal())
    out["singular"] = np.any(T[:, diag] < 1e-4, axis=1)
    out = pd.concat([out, theta_coords(model, T)], axis=1)
    out["rank"] = np.arange(1, len(out) + 1)
    out["label"] = [f"{'lowest' if r == 1 else 'local'} minimum {c:.2f}" + (" (singular)" if s else "")
                    for r, c, s in zip(out["rank"], out["criterion"], out["singular"])]
    return out
