"""Text alternatives for the charts: one sentence per chart, built from the same numbers the
chart draws, so that a screen reader says what a sighted student sees (WCAG 1.1.1).

Each function takes the inputs of the matching builder in :mod:`lmmviz.charts` /
:mod:`lmmviz.charts_explore` and returns plain text (no Markdown).
"""

from __future__ import annotations

import pandas as pd

from .charts import MODEL_LABELS, signed


def _crits(values, digits: int = 2) -> str:
    vals = [f"{v:.{digits}f}" for v in values]
    return vals[0] if len(vals) == 1 else ", ".join(vals[:-1]) + " and " + vals[-1]


def fit_chart_alt(pooled, per_group: pd.DataFrame | None, fits: dict, x: str, y: str, unit: str) -> str:
    """The main chart: points by subject, each subject's lines, the pooled and population lines."""
    parts = [f"Scatter plot of {y} against {x}"]
    if per_group is not None:
        parts[0] += f" for {len(per_group)} {unit}s, coloured by {unit}"
        slopes = per_group["slope"].dropna()
        if len(slopes):
            falling = int((slopes < 0).sum())
            parts.append(f"{unit}s' own OLS lines: {falling} of {len(slopes)} fall")
    if pooled is not None:
        parts.append(f"pooled OLS line, ignoring {unit}s: slope {signed(pooled.slope)}")
    for model, ft in fits.items():
        if model == "within_between":
            parts.append(f"within-between model: within slope {signed(ft.beta[1])}, between {signed(ft.beta[2])}")
        else:
            parts.append(f"{MODEL_LABELS[model].lower()} population line: slope {signed(ft.slope)}")
    return ". ".join(parts) + "."


def compare_alt(frame: pd.DataFrame, x_name: str, criterion_name: str = "criterion") -> str:
    """The compare dot plot: where each optimizer stopped, grouped by optimum."""
    ok = frame[frame["optimum"] > 0]
    groups = []
    for _, g in ok.groupby("optimum"):
        best = g.loc[g["criterion"].idxmin()]
        groups.append(f"{len(g)} at {best['criterion']:.2f} ({x_name} slope {signed(best['slope'])})")
    failed = int((frame["optimum"] == 0).sum())
    text = (f"Dot plot of the {criterion_name} and the {x_name} slope where each of {len(frame)} optimizer runs "
            f"stopped: " + "; ".join(groups))
    text += f"; {failed} without a result" if failed else ""
    if "family" in frame:  # lme4's optimizers by name, as allFit lists them
        twins = frame[(frame["family"] == "lme4") & (frame["optimum"] > 0)]
        twins = twins.sort_values("order") if "order" in twins else twins
        if len(twins):
            text += ". lme4's optimizers (lmmviz's twins): " + ", ".join(
                f"{o.split(':', 1)[1]} {c:.2f} ({signed(b)})"
                for o, c, b in zip(twins["optimizer"], twins["criterion"], twins["slope"]))
    return text + "."


def trace_alt(paths) -> str:
    """The traces: the criterion at every evaluation of each run."""
    ends = paths.ends[paths.ends["point"] == "end"]
    if not len(ends):
        return "No optimizer runs to trace."
    ev = ends["evaluations"]
    return (f"Line chart of the criterion at every evaluation for {len(ends)} optimizer runs, of "
            f"{int(ev.min())} to {int(ev.max())} evaluations; they end at "
            f"{_crits(sorted(set(round(c, 2) for c in ends['criterion'])))}.")


def curve_alt(curve, paths=None) -> str:
    """The one-parameter landscape: the criterion against θ."""
    m = curve.minima.sort_values("criterion")
    where = ", ".join(f"{c:.2f} at θ ≈ {t:.3g}" for c, t in zip(m["criterion"], m["theta"]))
    runs = f"; {len(paths.runs)} optimizer paths drawn below it" if paths is not None and len(paths.ends) else ""
    return (f"Line chart of the {curve.criterion_name} against θ on a log axis; "
            f"{len(m)} minim{'um' if len(m) == 1 else 'a'}: {where}{runs}.")


def map_alt(m, paths=None, group: str = "subject") -> str:
    """The two-parameter landscape map."""
    mins = m.minima.sort_values("criterion")
    runs = f"; {len(paths.runs)} optimizer paths" if paths is not None and len(paths.ends) else ""
    lo, hi = m.frame["criterion"].min(), m.frame["criterion"].max()
    return (f"Heat map of the {m.criterion_name} over σ_intercept/σ and σ_slope/σ of {group} (log axes), "
            f"from {lo:.2f} to {hi:.2f}; minima at {_crits(mins['criterion']) if len(mins) else 'none'}{runs}.")


def slice_alt(sl) -> str:
    """The straight path between two optima."""
    rise = (f"it rises to {sl.ridge_criterion:.2f} between them" if sl.has_barrier
            else "there is no barrier between them")
    return (f"Line chart of the {sl.criterion_name} along the straight path from {sl.label_a} to {sl.label_b}; "
            f"{rise}.")


def shrinkage_alt(frame: pd.DataFrame, unit: str = "subject") -> str:
    """The shrinkage plot: each subject's own line and its mixed-model line."""
    return (f"Arrow plot of intercept against slope for {len(frame)} {unit}s: each arrow goes from the {unit}'s "
            f"own OLS line to its line in the mixed model, pulled towards the population line.")


def caterpillar_alt(ranef: pd.DataFrame, group: str = "subject") -> str:
    """The caterpillar plot of conditional modes (``ranef``: one row per level, a column per term)."""
    terms = [c for c in ranef.columns if c not in ("group", "n", "line_intercept", "line_slope")
             and not str(c).startswith("condsd_")]
    return (f"Interval plot of the conditional modes (BLUPs) of {len(ranef)} {group} levels with 95% intervals, "
            f"one panel per term ({', '.join(map(str, terms))}).")
