"""Optimizer runs in landscape coordinates: their paths, and the optima they reached."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..results import same_basin, same_optimum
from .coords import ONE_D, theta_columns, theta_coords


@dataclass(frozen=True, eq=False)
class Paths:
    """Optimizer fit logs in landscape coordinates.

    ``frame``: one row per evaluation — ``run`` (unique label), ``optimizer``,
    ``start_label``, ``verdict``, ``evaluation`` (1-based), ``criterion``,
    ``best_so_far``, ``theta1``… and the coordinates of :func:`theta_coords`.
    ``ends``: two rows per run, ``point`` = "start" (the initial θ) and "end" (the
    final θ the run reports), with the same columns plus ``evaluations``.
    """

    model: str
    frame: pd.DataFrame
    ends: pd.DataFrame

    @property
    def runs(self) -> list[str]:
        return list(dict.fromkeys(self.ends["run"]))

    def coordinate_values(self) -> dict[str, np.ndarray]:
        """Every coordinate value on every path (for auto ranges)."""
        cols = ["theta"] if self.model in ONE_D else ["sd_int", "sd_slope"]
        return {c: np.concatenate([self.frame[c].to_numpy(), self.ends[c].to_numpy()]) for c in cols}


def _comparison_runs(comparison) -> list[tuple[str, object, str]]:
    """(label, OptSummary, verdict) per comparison entry that has a fit log."""
    runs = []
    for e in comparison.entries:
        if e.fit is not None and e.fit.optsum is not None:
            early = e.verdict == "local optimum" and not e.fit.converged
            runs.append((e.optimizer, e.fit.optsum, "stopped early" if early else e.verdict))
    return runs


def _summary_runs(summaries) -> list[tuple[str, object, str]]:
    """(label, OptSummary, verdict) per run, judged against the best of them."""
    finite = [r.fmin for r in summaries if math.isfinite(r.fmin)]
    best = min(finite) if finite else math.nan
    labels = [r.optimizer for r in summaries]
    runs = []
    for r in summaries:
        label = r.optimizer if labels.count(r.optimizer) == 1 else f"{r.optimizer} from {r.start_label}"
        if not math.isfinite(r.fmin):
            verdict = "failed"
        elif same_optimum(r.fmin, best):
            verdict = "best"
        else:
            verdict = "local optimum" if r.converged else "stopped early"
        runs.append((label, r, verdict))
    return runs


def _run_frames(model: str, label: str, r, verdict: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One run's evaluations and its start and end rows."""
    T = np.asarray(r.fitlog_theta, dtype=float)
    fv = np.asarray(r.fitlog_f, dtype=float)
    tcols = theta_columns(T.shape[1])
    fr = pd.DataFrame(T, columns=tcols)
    fr.insert(0, "run", label)
    fr.insert(1, "optimizer", r.optimizer)
    fr.insert(2, "start_label", r.start_label)
    fr.insert(3, "verdict", verdict)
    fr.insert(4, "evaluation", np.arange(1, len(fv) + 1))
    fr.insert(5, "criterion", fv)
    fr.insert(6, "best_so_far", np.fmin.accumulate(np.where(np.isfinite(fv), fv, np.nan)) if len(fv) else fv)
    se = np.array([r.initial, r.final], dtype=float)
    first = float(fv[0]) if len(fv) else math.nan
    ef = pd.DataFrame(se, columns=tcols)
    ef.insert(0, "run", label)
    ef.insert(1, "optimizer", r.optimizer)
    ef.insert(2, "start_label", r.start_label)
    ef.insert(3, "verdict", verdict)
    ef.insert(4, "point", ["start", "end"])
    ef.insert(5, "criterion", [first, float(r.fmin)])
    ef.insert(6, "evaluations", int(r.feval))
    return pd.concat([fr, theta_coords(model, T)], axis=1), pd.concat([ef, theta_coords(model, se)], axis=1)


def optimizer_paths(source, model: str | None = None) -> Paths:
    """Fit logs → :class:`Paths`.

    ``source`` is a :class:`lmmviz.Comparison` (one path per optimizer, verdicts from
    ``compare``), a :class:`lmmviz.Fit` (one path per run, e.g. the robust default's
    starts), or a sequence of ``OptSummary``. Failed comparison entries have no path.
    A run that did not converge and is not at the best criterion has the verdict
    "stopped early": where it ended is no optimum.
    """
    if hasattr(source, "entries"):  # Comparison
        model = source.model
        runs = _comparison_runs(source)
    else:
        if hasattr(source, "runs") and hasattr(source, "model"):  # Fit
            model = source.model
            summaries = list(source.runs)
        else:
            summaries = list(source)
        if model is None:
            raise ValueError("give the model for a list of runs")
        runs = _summary_runs(summaries)
    if not runs:
        empty_cols = ["run", "optimizer", "start_label", "verdict"]
        return Paths(model, pd.DataFrame(columns=empty_cols + ["evaluation", "criterion", "best_so_far"]),
                     pd.DataFrame(columns=empty_cols + ["point", "criterion", "evaluations"]))
    frames, ends = zip(*(_run_frames(model, label, r, verdict) for label, r, verdict in runs))
    return Paths(model, pd.concat(frames, ignore_index=True), pd.concat(ends, ignore_index=True))


def thin_paths(paths: Paths, max_points: int = 300) -> pd.DataFrame:
    """At most ``max_points`` evaluations per run, evenly spaced, always keeping the
    first, the last and the best (for charts; the full log stays in ``paths.frame``)."""
    out = []
    for _, fr in paths.frame.groupby("run", sort=False):
        if len(fr) <= max_points:
            out.append(fr)
            continue
        idx = set(np.linspace(0, len(fr) - 1, max_points).round().astype(int).tolist())
        crit = fr["criterion"].to_numpy()
        if np.isfinite(crit).any():
            idx.add(int(np.nanargmin(np.where(np.isfinite(crit), crit, np.nan))))
        out.append(fr.iloc[sorted(idx)])
    return pd.concat(out, ignore_index=True) if out else paths.frame


def comparison_frame(comparison) -> pd.DataFrame:
    """``Comparison.table()`` plus the optimum each optimizer reached.

    ``optimum`` numbers the distinct optima best first (1 = lowest criterion; runs
    near a cluster's best, :func:`lmmviz.results.same_basin`, join it) and
    ``optimum_label`` says e.g. "68.07 (slope -8.215)". Failed runs get 0 and
    "failed", optimizers left out of the comparison 0 and "not run". ``order`` is the
    entry's place in the comparison (allFit's order for lme4's twins first).
    """
    t = comparison.table().copy()
    t["order"] = np.arange(len(t))  # the comparison's own order: lme4's twins as in allFit, then lmmviz's
    if "criterion" not in t:
        t["criterion"] = np.nan
        t["slope"] = np.nan
    crit = t["criterion"].to_numpy(dtype=float)
    order = np.argsort(np.where(np.isfinite(crit), crit, np.inf), kind="stable")
    cluster = np.zeros(len(t), dtype=int)
    heads: list[float] = []
    for i in order:
        c = crit[i]
        if not math.isfinite(c):
            continue
        if heads and same_basin(c, heads[-1]):
            cluster[i] = len(heads)
        else:
            heads.append(c)
            cluster[i] = len(heads)
    t["optimum"] = cluster
    labels = {}
    for c in range(1, len(heads) + 1):
        rows = t[t["optimum"] == c]
        best = rows.loc[rows["criterion"].idxmin()]
        labels[c] = f"{best['criterion']:.2f} (slope {best['slope']:+.3f})"
    t["optimum_label"] = [labels.get(c, v) for c, v in zip(cluster, t["verdict"])]  # failed, not run
    t["start"] = comparison.start_label
    return t.sort_values(["optimum", "criterion"], key=lambda s: s.replace(0, 10**9) if s.name == "optimum" else s,
                         kind="stable").reset_index(drop=True)


def distinct_optima(comparison) -> pd.DataFrame:
    """One row per optimum the optimizers reached (best first): its criterion, θ,
    coordinates, x slope, how many optimizers ended there and which."""
    rows = []
    fr = comparison_frame(comparison)
    by = {e.optimizer: e for e in comparison.entries}
    for c, grp in fr[fr["optimum"] > 0].groupby("optimum"):
        best = grp.loc[grp["criterion"].idxmin()]
        fit = by[best["optimizer"]].fit
        rows.append({"optimum": int(c), "criterion": float(fit.criterion), "slope": float(fit.slope),
                     "singular": bool(fit.singular), "optimizers": ", ".join(grp["optimizer"]),
                     "n_optimizers": len(grp), "label": best["optimum_label"],
                     **dict(zip(theta_columns(len(fit.theta)), fit.theta))})
    out = pd.DataFrame(rows)
    if len(out):  # θ's width from a fit that exists (the first entry may have failed)
        T = out[theta_columns(len(fit.theta))]
        out = pd.concat([out, theta_coords(comparison.model, T.to_numpy())], axis=1)
    return out
