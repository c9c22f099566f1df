"""Altair charts for the explore views: optimizer comparison, the criterion
landscape, optimizer traces, and random effects (caterpillar and shrinkage).

DataFrames (or the frozen results of :mod:`lmmviz.landscape`, which hold
DataFrames) in, charts out; no Streamlit. Every mark has a tooltip. Charts stay
readable from 3 to a few hundred groups: beyond ``max_groups`` the random-effect
charts show an evenly spaced subset and say so in the subtitle.

Frames of more than 5,000 rows (a 200 × 200 map) exceed Altair's default
``MaxRowsError`` limit when converted with ``to_dict()``; Streamlit's
``st.altair_chart`` sends data as Arrow and is not limited. Wrap ``to_dict()`` in
``alt.data_transformers.disable_max_rows()`` when you need the spec itself.
"""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Sequence

import altair as alt
import numpy as np
import pandas as pd

from .landscape import Curve, Map2D, Paths, Slice, axis_titles, thin_paths
from .landscape import format_height
from .palette import subject_colors

VERDICT_SHAPES = MappingProxyType({"best": "circle", "local optimum": "triangle-up", "failed": "cross"})
# Okabe–Ito colours (colour-blind safe), best optimum first; shapes repeat the verdict.
OPTIMUM_COLORS = ("#009E73", "#D55E00", "#0072B2", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
MAX_GROUP_COLORS = 20  # as the main chart's subject legend (charts.LEGEND_SUBJECTS)


def subject_scale(subjects: Sequence[str]) -> alt.Scale:
    """The subjects' colour scale, the same as the main chart's (lmmviz.palette)."""
    subjects = [str(s) for s in subjects]
    return alt.Scale(domain=subjects, range=subject_colors(subjects))


# Legends under a chart are stacked one below the other (never pushed off a narrow screen).
STACKED_LEGENDS = alt.ExprRef(expr="{bottom: {anchor: 'start', direction: 'vertical', margin: 6}}")


def _container(chart):
    """As wide as the page (``width="container"``): the plot takes what the axes and
    legends (all below it) leave, on a phone as on a desktop."""
    return chart.properties(width="container", autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))


def _bottom_legend(**kw) -> alt.Legend:
    """A legend under the plot, in as many columns as the plot's width holds."""
    return alt.Legend(orient="bottom", direction="vertical", labelLimit=280, symbolLimit=0,
                      columns=alt.ExprRef(expr="max(1, floor(width / 210))"), **kw)


def _natural(chart):
    """Keep the plotting area at the size asked for, axes and legends around it.

    Streamlit gives a chart without ``autosize`` the type "fit", which squeezes the
    legends into the width and shrinks the plot (a map with two legends loses half
    of it); "pad" lets the chart grow around its plot."""
    return chart.properties(autosize=alt.AutoSizeParams(type="pad", contains="padding"))


def _fmt(v: float, digits: int = 4) -> str:
    return f"{v:.{digits}g}" if isinstance(v, (int, float)) and math.isfinite(v) else "–"


# --------------------------------------------------------------------------- compare


def compare_dotplot(frame: pd.DataFrame, x_name: str = "x", width: int = 180) -> alt.VConcatChart:
    """Criterion and x slope by optimizer, one row per optimizer in the comparison's order
    (lme4's twins as in allFit, then lmmviz's optimizers), coloured by the optimum it
    reached (``landscape.comparison_frame`` output). Shapes mark the verdict; a run
    without a result (failed, not run) keeps its row and says why; clicking a legend
    entry highlights one optimum in both panels. When every run reached one optimum the
    criterion axis spans at least 2 units, so that differences of 1e-4 do not look like
    disagreement.

    The two panels are stacked and the legends sit below them, so the chart is as
    narrow as one panel and fits a phone's screen (390 px): the nloptwrap twins' labels drop
    NLopt's "NLOPT_LN_" prefix (the tooltip has the full name)."""
    fr = frame.sort_values("order", kind="stable") if "order" in frame else frame.copy()
    ok = np.isfinite(fr["criterion"].astype(float)) if "criterion" in fr else np.zeros(len(fr), bool)
    order = list(fr["optimizer"])
    done, missing = fr[ok], fr[~ok].assign(why=lambda d: d["verdict"] + ": " + d["message"].astype(str).str.slice(0, 60))
    labels = list(dict.fromkeys(done.sort_values("optimum")["optimum_label"])) if len(done) else []
    colors = alt.Scale(domain=labels, range=list(OPTIMUM_COLORS[: max(len(labels), 1)]))
    pick = alt.selection_point(fields=["optimum_label"], bind="legend", name="optimum_pick")
    tips = [
        alt.Tooltip("optimizer:N"), alt.Tooltip("label:N", title="library: algorithm"),
        alt.Tooltip("verdict:N"), alt.Tooltip("criterion:Q", format=".4f"),
        alt.Tooltip("slope:Q", title=f"{x_name} slope", format="+.4f"),
        alt.Tooltip("evaluations:Q"), alt.Tooltip("seconds:Q", format=".3f"),
        alt.Tooltip("message:N"),
    ]
    height = max(120, 24 * len(order))
    yaxis = alt.Y("optimizer:N", sort=order, scale=alt.Scale(domain=order), title=None,
                  axis=alt.Axis(labelLimit=170, labelExpr="replace(datum.label, 'NLOPT_LN_', '')"))
    base = alt.Chart(done).encode(
        y=yaxis,
        color=alt.Color("optimum_label:N", scale=colors, title="optimum reached",
                        legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=300, symbolLimit=0)),
        shape=alt.Shape("verdict:N", scale=alt.Scale(domain=list(VERDICT_SHAPES), range=list(VERDICT_SHAPES.values())),
                        title="verdict", legend=alt.Legend(orient="bottom", direction="vertical")),
        opacity=alt.when(pick).then(alt.value(1.0)).otherwise(alt.value(0.2)),
        tooltip=tips,
    )
    crits = done["criterion"].astype(float)
    cscale = alt.Scale(zero=False, padding=12)
    if len(labels) == 1:  # all agree: no zoom onto their last digits
        cscale = alt.Scale(zero=False, nice=False, domain=[float(crits.min()) - 1.0, float(crits.max()) + 1.0])
    cx = alt.X("criterion:Q", scale=cscale, title="criterion (lower is better)")
    crit = base.mark_point(filled=True, size=110).encode(x=cx)
    layers = [crit.add_params(pick)]
    if len(missing):  # a run without a result keeps its row, with the reason (full text in the tooltip)
        anchor = float(crits.min()) if len(crits) else 0.0
        layers.append(alt.Chart(missing.assign(x=anchor)).mark_text(align="left", color="#4b5563", fontSize=11).encode(
            y=yaxis, x=alt.X("x:Q", scale=cscale), text="why:N",
            tooltip=[alt.Tooltip("optimizer:N"), alt.Tooltip("verdict:N"), alt.Tooltip("message:N")]))
    crit_panel = (layers[0] if len(layers) == 1 else alt.layer(*layers)).properties(
        width=width, height=height, title="Where each optimizer stopped")
    zero = alt.Chart(pd.DataFrame({"zero": [0.0]})).mark_rule(color="#888", strokeDash=[4, 3]).encode(x="zero:Q")
    slope = base.mark_point(filled=True, size=110).encode(
        x=alt.X("slope:Q", scale=alt.Scale(zero=True, padding=12), title=f"fixed {x_name} slope"),
        y=yaxis,
    ).properties(width=width, height=height, title=f"…and the {x_name} slope it reports")
    return _natural(alt.vconcat(crit_panel, alt.layer(zero, slope)).resolve_scale(y="shared")
                    .configure_legend(layout=STACKED_LEGENDS))


# --------------------------------------------------------------------------- landscape


def _clip_log(values: pd.Series, lo: float, hi: float) -> np.ndarray:
    v = values.to_numpy(dtype=float)
    v = np.where(np.isfinite(v) & (v > 0), v, lo)
    return np.clip(v, lo, hi)


def _path_frames(paths: Paths, xcol: str, ycol: str | None, xr, yr, max_points: int):
    """Thinned path rows and start/end rows, with ``px``/``py``: the coordinates
    clipped into the axis ranges (zeros and outliers drawn at the edge; tooltips
    keep the true values)."""
    fr = thin_paths(paths, max_points).copy()
    ends = paths.ends.copy()
    fr["px"] = _clip_log(fr[xcol], *xr)
    ends["px"] = _clip_log(ends[xcol], *xr)
    if ycol is not None:
        fr["py"] = _clip_log(fr[ycol], *yr)
        ends["py"] = _clip_log(ends[ycol], *yr)
    return fr, ends


def _run_color(runs: Sequence[str]) -> alt.Scale:
    """One colour per optimizer run, from the colour-blind-safe palettes of lmmviz.palette."""
    return alt.Scale(domain=list(runs), range=subject_colors(runs))


def landscape_map(
    m: Map2D,
    paths: Paths | None = None,
    group: str = "subject",
    width: int | str = "container",
    height: int = 420,
    max_path_points: int = 300,
    show_contours: bool = True,
) -> alt.LayerChart:
    """Heat map of the criterion over (σ_intercept/σ, σ_slope/σ), log axes, with
    contour lines, each optimizer's path (start: square, end: diamond) and the
    minima (white cross, labelled). The colour is the criterion above the lowest
    point, on a symmetric-log scale so that both basins show."""
    xr, yr = m.x_range, m.y_range
    xs = alt.Scale(type="log", domain=list(xr), nice=False)
    ys = alt.Scale(type="log", domain=list(yr), nice=False)
    third = {"profiled": "correlation profiled out (best value at each point)",
             "held": f"correlation held at {_fmt(m.held_corr, 3)}",
             "none": "uncorrelated model: these are its two parameters"}[m.third]
    layers = [_heat_layer(m, xs, ys, axis_titles(m.model, group))]
    if show_contours and len(m.contours):
        layers.append(alt.Chart(m.contours).mark_rule(color="white", opacity=0.55, strokeWidth=1, clip=True).encode(
            x=alt.X("sd_int:Q", scale=xs), y=alt.Y("sd_slope:Q", scale=ys), x2="sd_int2:Q", y2="sd_slope2:Q",
            tooltip=[alt.Tooltip("level:Q", title=f"contour: {m.criterion_name}", format=".2f"),
                     alt.Tooltip("excess:Q", title="above lowest", format=".2f")],
        ))
    params = []
    if paths is not None and len(paths.frame):
        run_pick = alt.selection_point(fields=["run"], bind="legend", name="run_pick_map")
        params.append(run_pick)
        layers += _path_layers(paths, run_pick, xr, yr, xs, ys, max_path_points)
    if len(m.minima):
        layers += _minima_layers(m.minima, xr, yr, xs, ys)
    chart = alt.layer(*layers).resolve_scale(color="independent", shape="independent")
    if params:
        chart = chart.add_params(*params)
    chart = chart.properties(height=height, title=alt.TitleParams(
        f"{m.criterion_name} over the two random-effect SDs", subtitle=[third], anchor="start"))
    if width == "container":  # as wide as the page, legends stacked below the map
        return _container(chart).configure_legend(layout=STACKED_LEGENDS)
    return _natural(chart.properties(width=width)).configure_legend(layout=STACKED_LEGENDS)


def _heat_layer(m: Map2D, xs: alt.Scale, ys: alt.Scale, titles: dict) -> alt.Chart:
    """One rectangle per grid cell, coloured by the criterion above the lowest point."""
    heat_tips = [
        alt.Tooltip("sd_int:Q", title="σ_int/σ", format=".4g"),
        alt.Tooltip("sd_slope:Q", title="σ_slope/σ", format=".4g"),
        alt.Tooltip("criterion:Q", title=m.criterion_name, format=".3f"),
        alt.Tooltip("excess:Q", title="above lowest", format=".3f"),
    ]
    if m.third != "none":
        heat_tips.insert(2, alt.Tooltip("corr:Q", title="correlation", format=".3f"))
    heat_scale = alt.Scale(type="symlog", scheme="viridis")
    return alt.Chart(m.frame).mark_rect(strokeWidth=0.6).encode(
        x=alt.X("sd_int_lo:Q", scale=xs, title=titles["sd_int"]),
        x2="sd_int_hi:Q",
        y=alt.Y("sd_slope_lo:Q", scale=ys, title=titles["sd_slope"]),
        y2="sd_slope_hi:Q",
        color=alt.Color("excess:Q", scale=heat_scale, title=["criterion above", "the lowest point"],
                        legend=alt.Legend(orient="bottom", direction="horizontal", gradientLength=200)),
        stroke=alt.Stroke("excess:Q", scale=heat_scale, legend=None),  # no hairline gaps between cells
        tooltip=heat_tips,
    )


def _path_layers(paths: Paths, run_pick, xr, yr, xs: alt.Scale, ys: alt.Scale, max_path_points: int) -> list:
    """Each optimizer run's path, and its start (square) and end (diamond); a run picked
    in the legend stands out."""
    fr, ends = _path_frames(paths, "sd_int", "sd_slope", xr, yr, max_path_points)
    colors = _run_color(paths.runs)
    op = alt.when(run_pick).then(alt.value(0.95)).otherwise(alt.value(0.12))
    path_tips = [alt.Tooltip("run:N"), alt.Tooltip("verdict:N"), alt.Tooltip("evaluation:Q"),
                 alt.Tooltip("criterion:Q", format=".3f"),
                 alt.Tooltip("sd_int:Q", title="σ_int/σ", format=".4g"),
                 alt.Tooltip("sd_slope:Q", title="σ_slope/σ", format=".4g")]
    if "corr" in fr:
        path_tips.append(alt.Tooltip("corr:Q", title="correlation", format=".3f"))
    line = alt.Chart(fr).mark_line(strokeWidth=1.6, clip=True).encode(
        x=alt.X("px:Q", scale=xs), y=alt.Y("py:Q", scale=ys), order="evaluation:Q",
        detail="run:N", color=alt.Color("run:N", scale=colors, title="optimizer path", legend=_bottom_legend()),
        opacity=op, tooltip=path_tips,
    )
    end_tips = [alt.Tooltip("run:N"), alt.Tooltip("point:N"), alt.Tooltip("verdict:N"),
                alt.Tooltip("criterion:Q", format=".4f"), alt.Tooltip("evaluations:Q"),
                alt.Tooltip("sd_int:Q", title="σ_int/σ", format=".4g"),
                alt.Tooltip("sd_slope:Q", title="σ_slope/σ", format=".4g")]
    marks = alt.Chart(ends).mark_point(filled=True, stroke="black", strokeWidth=0.8, clip=True).encode(
        x=alt.X("px:Q", scale=xs), y=alt.Y("py:Q", scale=ys),
        shape=alt.Shape("point:N", scale=alt.Scale(domain=["start", "end"], range=["square", "diamond"]),
                        title="marker", legend=alt.Legend(orient="bottom", direction="horizontal")),
        size=alt.Size("point:N", scale=alt.Scale(domain=["start", "end"], range=[70, 150]), legend=None),
        color=alt.Color("run:N", scale=colors, legend=None), opacity=op, tooltip=end_tips,
    )
    return [line, marks]


def _minima_layers(minima: pd.DataFrame, xr, yr, xs: alt.Scale, ys: alt.Scale) -> list:
    """The minima as white crosses labelled with their criterion."""
    mins = minima.copy()
    mins["px"] = _clip_log(mins["sd_int"], *xr)
    mins["py"] = _clip_log(mins["sd_slope"], *yr)
    mins["text"] = [f"{c:.2f}" for c in mins["criterion"]]
    min_tips = [alt.Tooltip("label:N", title="minimum"), alt.Tooltip("criterion:Q", format=".4f"),
                alt.Tooltip("sd_int:Q", title="σ_int/σ", format=".4g"),
                alt.Tooltip("sd_slope:Q", title="σ_slope/σ", format=".4g"), alt.Tooltip("singular:N")]
    pts = alt.Chart(mins).encode(x=alt.X("px:Q", scale=xs), y=alt.Y("py:Q", scale=ys), tooltip=min_tips)
    return [pts.mark_point(shape="cross", size=260, filled=True, color="white", stroke="black", strokeWidth=1.2),
            pts.mark_text(align="left", dx=10, dy=-10, fontSize=13, fontWeight="bold", color="white",
                          stroke="black", strokeWidth=0.4).encode(text="text:N")]


def curve_chart(
    curve: Curve,
    paths: Paths | None = None,
    group: str = "subject",
    width: int = 250,
    height: int = 280,
    max_path_points: int = 300,
) -> alt.VConcatChart | alt.LayerChart:
    """The criterion against θ (log axis) with its minima labelled; below it, one
    strip per optimizer showing every θ it evaluated in order, from its start
    (square) to its end (diamond), on the same θ axis."""
    xr = curve.theta_range
    xs = alt.Scale(type="log", domain=list(xr), nice=False)
    title = axis_titles(curve.model, group)["theta"]
    line = alt.Chart(curve.frame).mark_line(color="#333", strokeWidth=2).encode(
        x=alt.X("theta:Q", scale=xs, title=title),
        y=alt.Y("criterion:Q", scale=alt.Scale(zero=False), title=curve.criterion_name),
        tooltip=[alt.Tooltip("theta:Q", title="θ", format=".4g"),
                 alt.Tooltip("criterion:Q", format=".4f")],
    )
    layers = [line]
    mins = curve.minima[curve.minima["theta"] > 0].copy()
    if len(mins):
        mins["text"] = [f"{c:.2f} at θ ≈ {t:.3g}" for c, t in zip(mins["criterion"], mins["theta"])]
        base = alt.Chart(mins).encode(
            x=alt.X("theta:Q", scale=xs), y="criterion:Q",
            tooltip=[alt.Tooltip("label:N", title="minimum"), alt.Tooltip("theta:Q", title="θ", format=".5g"),
                     alt.Tooltip("criterion:Q", format=".4f")])
        layers.append(base.mark_point(shape="diamond", filled=True, size=160, color="#d62728"))
        layers.append(base.mark_text(dy=-14, fontSize=12, fontWeight="bold", color="#d62728").encode(text="text:N"))
    top = alt.layer(*layers).properties(width=width, height=height, title=alt.TitleParams(
        f"{curve.criterion_name} against θ", subtitle=(
            [f"at θ = 0 (no {group} variation) it is {curve.at_zero:.2f}"] + list(curve.notes))))
    if paths is None or not len(paths.frame):
        return _natural(top)
    run_pick = alt.selection_point(fields=["run"], bind="legend", name="run_pick_curve")
    fr, ends = _path_frames(paths, "theta", None, xr, None, max_path_points)
    runs = paths.runs
    colors = _run_color(runs)
    op = alt.when(run_pick).then(alt.value(0.95)).otherwise(alt.value(0.15))
    tips = [alt.Tooltip("run:N"), alt.Tooltip("verdict:N"), alt.Tooltip("evaluation:Q"),
            alt.Tooltip("theta:Q", title="θ", format=".4g"), alt.Tooltip("criterion:Q", format=".4f")]
    ysort = alt.Y("run:N", sort=runs, title=None)
    strip = alt.Chart(fr).mark_line(point=alt.OverlayMarkDef(size=14), strokeWidth=1, clip=True).encode(
        x=alt.X("px:Q", scale=xs, title=title), y=ysort, order="evaluation:Q", detail="run:N",
        color=alt.Color("run:N", scale=colors, title="optimizer", legend=_bottom_legend()), opacity=op,
        tooltip=tips)
    marks = alt.Chart(ends).mark_point(filled=True, stroke="black", strokeWidth=0.8, clip=True).encode(
        x=alt.X("px:Q", scale=xs), y=ysort,
        shape=alt.Shape("point:N", scale=alt.Scale(domain=["start", "end"], range=["square", "diamond"]),
                        title="marker", legend=alt.Legend(orient="bottom", direction="horizontal")),
        size=alt.Size("point:N", scale=alt.Scale(domain=["start", "end"], range=[60, 140]), legend=None),
        color=alt.Color("run:N", scale=colors, legend=None), opacity=op,
        tooltip=[alt.Tooltip("run:N"), alt.Tooltip("point:N"), alt.Tooltip("theta:Q", title="θ", format=".5g"),
                 alt.Tooltip("criterion:Q", format=".4f"), alt.Tooltip("evaluations:Q")])
    bottom = alt.layer(strip, marks).add_params(run_pick).properties(
        width=width, height=max(60, 22 * len(runs)),
        title=alt.TitleParams("where each optimizer evaluated θ, in order", fontSize=12))
    return _natural(alt.vconcat(top, bottom).resolve_scale(x="shared")).configure_legend(layout=STACKED_LEGENDS)


LABEL_GAP = 10  # px between a marked point and its label


def _slice_points(s: Slice) -> pd.DataFrame:
    """The ends (and the ridge, when there is a barrier) with their labels.

    An end that is a minimum along the path (the curve rises next to it) is labelled
    below its point, an end the curve falls away from above it, and the ridge above:
    a label never sits on the line, and the ridge's label is never level with the
    label of the end it rises from."""
    F = s.points()["criterion"].to_numpy(dtype=float)
    fa, fb = float(F[0]), float(F[-1])

    def text(label: str, f: float) -> str:  # a label that is the criterion already is not repeated
        return label if label == f"{f:.2f}" else f"{label}: {f:.2f}"

    rows = [(0.0, fa, s.label_a, text(s.label_a, fa), "left", "below" if F[1] >= fa else "above"),
            (1.0, fb, s.label_b, text(s.label_b, fb), "right", "below" if F[-2] >= fb else "above")]
    if s.has_barrier:
        rows.append((s.ridge_t, s.ridge_criterion, "ridge", f"ridge: {s.ridge_criterion:.2f}", "center", "above"))
    return pd.DataFrame(rows, columns=["t", "criterion", "what", "text", "align", "side"])


def _slice_panel(s: Slice, frame: pd.DataFrame, domain, title, points: pd.DataFrame, height: int,
                 xtitle: str) -> alt.LayerChart:
    tcols = [c for c in frame.columns if c.startswith("theta")]
    tips = [alt.Tooltip("t:Q", format=".4f")] + [alt.Tooltip(f"{c}:Q", format=".5g") for c in tcols] + [
        alt.Tooltip("criterion:Q", format=".4f")]
    xs = alt.Scale(domain=list(domain), nice=False)
    F = frame["criterion"].to_numpy(dtype=float)
    F = F[np.isfinite(F)]
    lo, hi = (float(F.min()), float(F.max())) if F.size else (0.0, 1.0)
    pad = 0.2 * (hi - lo) if hi > lo else 1.0  # room for a label above the top and below the bottom point
    ys = alt.Scale(domain=[lo - pad, hi + pad], nice=False, zero=False)
    line = alt.Chart(frame).mark_line(color="#333", strokeWidth=2, clip=True).encode(
        x=alt.X("t:Q", title=xtitle, scale=xs, axis=alt.Axis(labelOverlap="greedy", tickCount=5)),
        y=alt.Y("criterion:Q", scale=ys, title=s.criterion_name), tooltip=tips)
    marks = alt.Chart(points).encode(
        x=alt.X("t:Q", scale=xs), y=alt.Y("criterion:Q", scale=ys),
        tooltip=[alt.Tooltip("what:N"), alt.Tooltip("criterion:Q", format=".4f"), alt.Tooltip("t:Q", format=".4f")])
    layers = [line, marks.mark_point(filled=True, size=110, color="#d62728")]
    for align, dx in (("left", 8), ("right", -8), ("center", 0)):
        for side, dy, baseline in (("below", LABEL_GAP, "top"), ("above", -LABEL_GAP, "bottom")):
            sub = points[(points["align"] == align) & (points["side"] == side)]
            if len(sub):
                layers.append(alt.Chart(sub).mark_text(align=align, baseline=baseline, dx=dx, dy=dy, fontSize=12,
                                                       fontWeight="bold")
                              .encode(x=alt.X("t:Q", scale=xs), y=alt.Y("criterion:Q", scale=ys), text="text:N"))
    # The width follows the container (a column of the page), so the chart never runs off
    # its right edge; a single layered view is what Vega-Lite can fit to a container.
    return alt.LayerChart(layer=layers, width="container", height=height, title=title,
                          autosize=alt.AutoSizeParams(type="fit-x", contains="padding"))


def slice_headline(s: Slice) -> str:
    """The chart's subtitle: the barrier's height, or that there is none."""
    if s.has_barrier:
        h = format_height
        return (f"a barrier: it rises {h(s.barrier_a)} above {s.label_a} and {h(s.barrier_b)} "
                f"above {s.label_b}")
    return "no barrier between the two optima"


def slice_chart(s: Slice, height: int = 260) -> alt.LayerChart:
    """The criterion along the straight segment in θ between two optima, the ends
    and the highest point between them (the ridge, when there is a barrier) marked.
    When the ridge sits close to one end, it is drawn in :func:`slice_zoom_chart`
    instead."""
    pts = _slice_points(s)
    if s.zoom is not None:  # the ridge is drawn (and labelled) in the zoom, not on top of an end
        pts = pts[pts["what"] != "ridge"]
    return _slice_panel(s, s.frame, (0.0, 1.0), alt.TitleParams(
        "The criterion on the straight path between the two optima", subtitle=[slice_headline(s)]), pts, height,
        f"position on the straight line in θ from {s.label_a} (0) to {s.label_b} (1)")


def slice_zoom_chart(s: Slice, height: int = 260) -> alt.LayerChart | None:
    """A zoom on the stretch between one end and a little past the ridge, when the
    ridge sits close to that end (``Slice.zoom``); None otherwise."""
    if s.zoom is None:
        return None
    z = s.zoom
    lo, hi = float(z["t"].min()), float(z["t"].max())
    pts = _slice_points(s)
    return _slice_panel(s, z, (lo, hi), alt.TitleParams("zoom on the ridge", subtitle=[f"t from {lo:.3g} to {hi:.3g}"]),
                        pts[(pts["t"] >= lo) & (pts["t"] <= hi)], height, f"position t from {s.label_a} (0)")


# --------------------------------------------------------------------------- traces


def trace_chart(
    paths: Paths,
    log: bool = False,
    best_so_far: bool = False,
    width: int | str = "container",
    height: int = 300,
    max_points: int = 500,
) -> alt.Chart:
    """The criterion against evaluation number for every optimizer run (fit logs).

    ``log=True`` plots how far each evaluation is above the best criterion any run
    found, on a log axis (so the last digits of convergence show);
    ``best_so_far=True`` plots each run's running minimum instead of every value.
    """
    fr = thin_paths(paths, max_points).copy()
    ycol = "best_so_far" if best_so_far else "criterion"
    finite = fr[ycol][np.isfinite(fr[ycol].astype(float))]
    best = float(finite.min()) if len(finite) else 0.0
    run_pick = alt.selection_point(fields=["run"], bind="legend", name="run_pick_trace")
    op = alt.when(run_pick).then(alt.value(0.95)).otherwise(alt.value(0.12))
    if log:
        fr["above_best"] = np.maximum(fr[ycol].astype(float) - best, 1e-8)
        y = alt.Y("above_best:Q", scale=alt.Scale(type="log"), title="criterion − best found (log scale)")
    else:
        starts = paths.ends[paths.ends["point"] == "start"]["criterion"].astype(float)
        top = float(np.nanmax(starts)) if len(starts) and np.isfinite(starts).any() else float(finite.max())
        top = best + max(1.15 * (top - best), 1.0)
        y = alt.Y(f"{ycol}:Q", scale=alt.Scale(zero=False, domain=[best - 0.02 * (top - best), top], clamp=True),
                  title="criterion" + (" (best so far)" if best_so_far else ""))
    fr = fr[np.isfinite(fr[ycol].astype(float))]
    line = alt.Chart(fr).mark_line(strokeWidth=1.5, clip=True, interpolate="step-after" if best_so_far else "linear")
    size = _container if width == "container" else _natural
    return size(line.encode(
        x=alt.X("evaluation:Q", title="evaluation number"),
        y=y,
        color=alt.Color("run:N", scale=_run_color(paths.runs), title="optimizer", legend=_bottom_legend()),
        opacity=op,
        tooltip=[alt.Tooltip("run:N"), alt.Tooltip("verdict:N"), alt.Tooltip("evaluation:Q"),
                 alt.Tooltip("criterion:Q", format=".6f"), alt.Tooltip("best_so_far:Q", format=".6f")],
    ).add_params(run_pick).properties(height=height, title=alt.TitleParams(
        "Optimizer traces", subtitle=["every evaluation of the criterion, in order", "(values far above the start "
                                      "are clipped)"] if not log else ["distance above the best value found"],
        anchor="start")).properties(**({} if width == "container" else {"width": width})))


# --------------------------------------------------------------------------- random effects


def _subset(frame: pd.DataFrame, sort_col: str, max_groups: int) -> tuple[pd.DataFrame, str]:
    fr = frame.sort_values(sort_col, kind="stable").reset_index(drop=True)
    if len(fr) <= max_groups:
        return fr, ""
    idx = np.unique(np.linspace(0, len(fr) - 1, max_groups).round().astype(int))
    return fr.iloc[idx].reset_index(drop=True), f"showing {len(idx)} of {len(fr)} groups, evenly spaced by estimate"


def caterpillar_chart(
    ranef: pd.DataFrame,
    terms: Sequence[str] | None = None,
    group: str = "subject",
    max_groups: int = 200,
    width: int = 260,
) -> alt.VConcatChart:
    """Each group's conditional mode (BLUP) with a ±1.96 conditional-SD interval,
    one panel per random-effect term (stacked, so that it fits a phone), groups sorted
    by the estimate. Up to MAX_GROUP_COLORS groups, each point has its subject's colour
    (the same as on the main chart)."""
    groups = [str(g) for g in ranef["group"]]
    colored = len(groups) <= MAX_GROUP_COLORS
    point_color = (alt.Color("group:N", title=group, scale=subject_scale(groups), legend=None) if colored
                   else alt.value("#1f3b63"))
    terms = list(terms) if terms is not None else [c[len("condsd_"):] for c in ranef.columns
                                                    if c.startswith("condsd_")]
    panels = []
    for term in terms:
        fr = pd.DataFrame({"group": ranef["group"].astype(str), "blup": ranef[term].astype(float),
                           "condsd": ranef[f"condsd_{term}"].astype(float)})
        fr["lo"] = fr["blup"] - 1.96 * fr["condsd"]
        fr["hi"] = fr["blup"] + 1.96 * fr["condsd"]
        fr, note = _subset(fr, "blup", max_groups)
        n = len(fr)
        order = list(fr["group"])
        show_labels = n <= 40
        height = int(min(max(16 * n, 90), 640))
        tips = [alt.Tooltip("group:N", title=group), alt.Tooltip("blup:Q", title="BLUP", format=".4g"),
                alt.Tooltip("condsd:Q", title="conditional SD", format=".3g"),
                alt.Tooltip("lo:Q", title="lower 95%", format=".4g"), alt.Tooltip("hi:Q", title="upper 95%", format=".4g")]
        y = alt.Y("group:N", sort=order, title=group if show_labels else f"{n} {group}s (sorted)",
                  axis=alt.Axis(labels=show_labels, ticks=show_labels))
        base = alt.Chart(fr).encode(y=y, tooltip=tips)
        size = 60 if n <= 40 else 14
        panel = alt.layer(
            alt.Chart(pd.DataFrame({"zero": [0.0]})).mark_rule(color="#999", strokeDash=[4, 3]).encode(x="zero:Q"),
            base.mark_rule(color="#4c78a8", strokeWidth=2 if n <= 40 else 1).encode(
                x=alt.X("lo:Q", title=f"{term}: deviation from the population value"), x2="hi:Q"),
            base.mark_point(filled=True, size=size, stroke="#1f3b63", strokeWidth=0.6).encode(
                x="blup:Q", color=point_color),
        ).properties(width=width, height=height, title=alt.TitleParams(
            "Random intercepts" if term == "(Intercept)" else f"Random slopes of {term}",
            subtitle=[note] if note else ["BLUP ± 1.96 conditional SD"]))
        panels.append(panel)
    return _natural(alt.vconcat(*panels))


def shrinkage_frame(per_group: pd.DataFrame, ranef: pd.DataFrame) -> pd.DataFrame:
    """Join each group's own OLS line (``lmmviz.per_group_ols``) with its line in the
    mixed model (``Fit.ranef``: ``line_intercept``, ``line_slope``)."""
    a = per_group[["group", "n", "x_mean", "intercept", "slope"]].rename(
        columns={"intercept": "ols_intercept", "slope": "ols_slope"})
    b = ranef[["group", "line_intercept", "line_slope"]].rename(
        columns={"line_intercept": "mixed_intercept", "line_slope": "mixed_slope"})
    a = a.assign(group=a["group"].astype(str))
    b = b.assign(group=b["group"].astype(str))
    return a.merge(b, on="group", how="inner")


def population_point(fit, per_group: pd.DataFrame | None = None) -> tuple[float, float]:
    """The fixed-effects line as (intercept, slope). For ``within_between`` there is
    no single population line in these coordinates: it is the line of a group at
    the average group mean of x, (β₀ + (β_mean − β_within)·mean x̄, β_within)."""
    beta = np.asarray(fit.beta, float)
    if fit.model == "within_between":
        xm = float(per_group["x_mean"].mean()) if per_group is not None else 0.0
        return float(beta[0] + (beta[2] - beta[1]) * xm), float(beta[1])
    return float(beta[0]), float(beta[1])


def shrinkage_chart(
    frame: pd.DataFrame,
    population: tuple[float, float] | None = None,
    pooled: tuple[float, float] | None = None,
    x_name: str = "x",
    group: str = "subject",
    max_groups: int = 300,
    width: int = 290,
    height: int = 320,
) -> alt.LayerChart:
    """Each group's own OLS (intercept, slope) — hollow circle — with an arrow to its
    line in the mixed model (filled arrowhead); the population (fixed-effects) line
    as a black cross and, optionally, the pooled OLS line as a red plus.

    Partial pooling pulls every group towards the population; at a singular
    random-slope fit with Corr −1 all arrowheads land on one straight line.
    """
    fr = frame.copy()
    subjects = [str(g) for g in fr["group"]]  # the data's order: each subject keeps its colour
    fr, note = _subset(fr, "mixed_slope", max_groups)
    extra = _references(population, pooled)
    xd, yd = _shrinkage_domains(fr, extra)
    dx = (fr["mixed_intercept"] - fr["ols_intercept"]) / (xd[1] - xd[0]) * width
    dy = (fr["mixed_slope"] - fr["ols_slope"]) / (yd[1] - yd[0]) * height
    fr["angle"] = np.degrees(np.arctan2(dx, dy)) % 360  # Vega rotates clockwise from "up"
    fr["moved"] = np.hypot(dx, dy) > 3
    xs = alt.Scale(domain=xd, nice=False, zero=False)
    ys = alt.Scale(domain=yd, nice=False, zero=False)
    layers = [_shrinkage_arrows(fr, subjects, xs, ys, x_name, group)]
    if len(extra):
        layers.append(_reference_points(extra, xs, ys, x_name))
    sub = [f"hollow: each {group}'s own OLS line;", "arrowhead: its line in the mixed model"]
    if note:
        sub.append(note)
    return _natural(alt.layer(*layers).resolve_scale(shape="independent", color="independent")).properties(
        width=width, height=height, title=alt.TitleParams("Shrinkage: partial pooling toward the population",
                                                          subtitle=sub)).configure_legend(layout=STACKED_LEGENDS)


def _references(population, pooled) -> pd.DataFrame:
    """The population and pooled OLS lines given, as (what, intercept, slope) rows."""
    rows = []
    if population is not None:
        rows.append({"what": "population (fixed effects)", "intercept": population[0], "slope": population[1]})
    if pooled is not None:
        rows.append({"what": "pooled OLS (ignores groups)", "intercept": pooled[0], "slope": pooled[1]})
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=["what", "intercept", "slope"])


def _shrinkage_domains(fr: pd.DataFrame, extra: pd.DataFrame) -> tuple[list[float], list[float]]:
    """Intercept and slope axis ranges holding every finite point and reference, padded."""
    xs_all = [fr["ols_intercept"], fr["mixed_intercept"]]
    ys_all = [fr["ols_slope"], fr["mixed_slope"]]
    if len(extra):
        xs_all.append(extra["intercept"])
        ys_all.append(extra["slope"])
    xv = pd.concat(xs_all).astype(float)
    yv = pd.concat(ys_all).astype(float)
    xv, yv = xv[np.isfinite(xv)], yv[np.isfinite(yv)]

    def dom(v):
        lo, hi = (float(v.min()), float(v.max())) if len(v) else (0.0, 1.0)
        pad = 0.06 * (hi - lo) if hi > lo else max(abs(lo), 1.0) * 0.1
        return [lo - pad, hi + pad]

    return dom(xv), dom(yv)


def _shrinkage_arrows(fr: pd.DataFrame, subjects: list[str], xs: alt.Scale, ys: alt.Scale, x_name: str,
                      group: str) -> alt.LayerChart:
    """Per group: a hollow circle at its own OLS line, a rule to its mixed-model line and
    an arrowhead there (a dot when it hardly moved), labelled when there are few."""
    n = len(fr)
    colored = n <= MAX_GROUP_COLORS
    color = (alt.Color("group:N", title=group, scale=subject_scale(subjects),
                       legend=alt.Legend(orient="bottom", direction="horizontal", symbolLimit=0, labelLimit=90,
                                         columns=max(1, min(n, 4))))
             if colored else alt.value("#4c78a8"))
    tips = [alt.Tooltip("group:N", title=group), alt.Tooltip("n:Q", title="observations"),
            alt.Tooltip("ols_intercept:Q", title="own OLS intercept", format=".4g"),
            alt.Tooltip("ols_slope:Q", title=f"own OLS {x_name} slope", format=".4g"),
            alt.Tooltip("mixed_intercept:Q", title="mixed-model intercept", format=".4g"),
            alt.Tooltip("mixed_slope:Q", title=f"mixed-model {x_name} slope", format=".4g")]
    base = alt.Chart(fr).encode(tooltip=tips, color=color)
    small = n > 40
    layers = [
        base.mark_rule(strokeWidth=1 if small else 1.8, opacity=0.5 if small else 0.8).encode(
            x=alt.X("ols_intercept:Q", scale=xs, title=f"intercept (line's value at {x_name} = 0)"),
            y=alt.Y("ols_slope:Q", scale=ys, title=f"{x_name} slope"),
            x2="mixed_intercept:Q", y2="mixed_slope:Q"),
        base.mark_point(size=25 if small else 90, strokeWidth=1.5, opacity=0.6 if small else 1).encode(
            x=alt.X("ols_intercept:Q", scale=xs), y=alt.Y("ols_slope:Q", scale=ys)),
        base.transform_filter("datum.moved").mark_point(shape="triangle", filled=True,
                                                        size=30 if small else 110, opacity=0.9).encode(
            x=alt.X("mixed_intercept:Q", scale=xs), y=alt.Y("mixed_slope:Q", scale=ys), angle="angle:Q"),
        base.transform_filter("!datum.moved").mark_point(shape="circle", filled=True,
                                                         size=20 if small else 70).encode(
            x=alt.X("mixed_intercept:Q", scale=xs), y=alt.Y("mixed_slope:Q", scale=ys)),
    ]
    if not small:
        layers.append(base.mark_text(align="left", dx=7, dy=-7, fontSize=11).encode(
            x=alt.X("ols_intercept:Q", scale=xs), y=alt.Y("ols_slope:Q", scale=ys), text="group:N"))
    return alt.layer(*layers)  # one shared colour legend for the groups


def _reference_points(extra: pd.DataFrame, xs: alt.Scale, ys: alt.Scale, x_name: str) -> alt.Chart:
    """The population line as a black cross, the pooled OLS line as a red diamond."""
    ref_scale = dict(domain=["population (fixed effects)", "pooled OLS (ignores groups)"])
    legend = alt.Legend(labelLimit=260, symbolSize=160, orient="bottom", direction="vertical")
    return alt.Chart(extra).mark_point(size=260, filled=True, opacity=0.95).encode(
        x=alt.X("intercept:Q", scale=xs), y=alt.Y("slope:Q", scale=ys),
        shape=alt.Shape("what:N", title="reference", legend=legend,
                        scale=alt.Scale(**ref_scale, range=["cross", "diamond"])),
        color=alt.Color("what:N", title="reference", legend=legend,
                        scale=alt.Scale(**ref_scale, range=["black", "#d62728"])),
        tooltip=[alt.Tooltip("what:N"), alt.Tooltip("intercept:Q", format=".4g"),
                 alt.Tooltip("slope:Q", title=f"{x_name} slope", format=".4g")])
