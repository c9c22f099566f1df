"""Altair charts of the data and the fitted lines: DataFrames in, charts out. No Streamlit.

The visual language, the same everywhere in the app:

* **within subjects**: each subject has its colour; its points, its own OLS line
  (dotted) and its fitted lines from each mixed model (solid, dashed, ...) are drawn
  in it, over the subject's own x range;
* **pooled / population**: lines that ignore subjects (pooled OLS, grey and dashed)
  and each mixed model's population line (its fixed effects, thick and in the
  model's own colour) span the whole x range, and are labelled with their slope.

:func:`chart_frames` turns data and fits into three tidy frames (points, subject
lines, population lines); :func:`fit_chart` draws them. Internal column names
(``subject``, ``x``, ``y``, ...) keep user column names out of Vega field names.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

import altair as alt
import numpy as np
import pandas as pd

from .palette import subject_colors, subject_shapes

LAYERS = ("points", "subject_lines", "population", "pooled", "per_group")
LAYER_LABELS = MappingProxyType({
    "points": "Points",
    "subject_lines": "Fitted subject lines",
    "population": "Population lines",
    "pooled": "Pooled OLS line",
    "per_group": "Own OLS lines",
})
MODEL_LABELS = MappingProxyType({
    "pooled": "Pooled OLS",
    "per_group": "Per-subject OLS",
    "intercept": "Random intercept",
    "slope": "Random slope",
    "uncorrelated": "Uncorrelated random slope",
    "within_between": "Within-between",
})
MIXED = ("intercept", "slope", "uncorrelated", "within_between")
# Population lines: pooled is grey; each mixed model has its own strong colour.
POPULATION_COLORS = MappingProxyType({
    "pooled": "#4b5563",
    "intercept": "#1d4ed8",
    "slope": "#c2410c",
    "uncorrelated": "#7e22ce",
    "within_between": "#047857",
})
POPULATION_DASH = MappingProxyType({"pooled": (9, 5), "intercept": (1, 0), "slope": (1, 0),
                                    "uncorrelated": (1, 0), "within_between": (1, 0)})
# Subject-level lines: the subject's colour, one dash pattern per model.
SUBJECT_DASH = MappingProxyType({"per_group": (2, 3), "intercept": (1, 0), "slope": (7, 3),
                                 "uncorrelated": (11, 3, 2, 3), "within_between": (4, 2)})
SUBJECT_LINE_LABELS = MappingProxyType({
    "per_group": "Own OLS line",
    "intercept": "Random intercept",
    "slope": "Random slope",
    "uncorrelated": "Uncorrelated random slope",
    "within_between": "Within-between",
})
# Subject colours come from lmmviz.palette (the same on every chart).
MAX_POINTS = 5000
MAX_SUBJECTS = 300
LEGEND_SUBJECTS = 20
SELECTION = "pick"


def population_label(model: str, unit: str = "subject") -> str:
    if model == "pooled":
        return f"Pooled OLS (ignores {unit}s)"
    if model == "within_between":
        return f"Within-between: between-{unit} line"
    return f"{MODEL_LABELS[model]}: population line"


def signed(v: float, digits: int = 2) -> str:
    """+7.86 / −8.16 (a real minus sign), or "n/a"; one digit more on a rounding boundary
    (see :func:`lmmviz.report.plain_number`)."""
    from .report import plain_number

    if v is None:
        return "n/a"
    return plain_number(v, digits, sign=True)


@dataclass(frozen=True)
class ChartFrames:
    """Tidy inputs of :func:`fit_chart`.

    ``points``: subject, x, y and ``fit_<model>`` (fitted value of each mixed model).
    ``subject_lines``: two rows per line (x at the subject's min and max): subject,
    model, label, x, y, intercept, slope. ``population``: two rows per line over the
    whole x range: model, label, x, y, intercept, slope, text.
    """

    points: pd.DataFrame
    subject_lines: pd.DataFrame
    population: pd.DataFrame
    subjects: tuple  # subject labels shown, in the data's level order
    n_subjects: int
    n_points: int
    unit: str = "subject"

    @property
    def sampled(self) -> bool:
        return len(self.subjects) < self.n_subjects or len(self.points) < self.n_points


def unit_word(group_name: str) -> str:
    """The noun for one group: "subject" for subject-like columns, else "group"."""
    g = (group_name or "").lower()
    for word in ("subject", "participant", "patient", "school", "person", "animal", "chick", "rat"):
        if word in g:
            return word
    return "group" if "id" not in g else "subject"


def chart_frames(
    data,
    fits: Mapping[str, object] | None = None,
    pooled=None,
    per_group: pd.DataFrame | None = None,
    max_points: int = MAX_POINTS,
    max_subjects: int = MAX_SUBJECTS,
    keep: str | None = None,
) -> ChartFrames:
    """Build the chart's frames from a :class:`lmmviz.Data`, fitted mixed models
    (``{model: Fit}``), the pooled OLS fit and the per-group OLS table.

    Large data are thinned for drawing, reproducibly: at most ``max_subjects``
    subjects (``keep`` is always among them) and ``max_points`` points.
    """
    fits = dict(fits or {})
    fr = data.frame
    g = fr[data.group].astype(str).to_numpy()
    x = fr[data.x].to_numpy(float)
    y = fr[data.y].to_numpy(float)
    if per_group is not None:
        labels = per_group["group"].astype(str).to_numpy()
    else:
        labels = pd.unique(g)
    shown, rows = _thin(g, labels, max_points, max_subjects, keep)
    points = pd.DataFrame({"subject": g[rows], "x": x[rows], "y": y[rows]})
    for model, ft in fits.items():
        fitted = getattr(ft, "fitted", None)
        if fitted is not None and len(fitted) == len(fr):
            points[f"fit_{model}"] = np.asarray(fitted, float)[rows]
    unit = unit_word(data.group)
    subject_lines = _subject_lines(shown, g, x, fits, per_group)
    population = _population_lines(x, fits, pooled, unit)
    return ChartFrames(points, subject_lines, population, tuple(shown.tolist()), len(labels), len(fr), unit)


def _thin(g: np.ndarray, labels: np.ndarray, max_points: int, max_subjects: int, keep: str | None):
    """(subjects shown, rows drawn): all of them, or a reproducible sample of at most
    ``max_subjects`` subjects (``keep`` among them) and ``max_points`` of their rows."""
    n_subjects = len(labels)
    rng = np.random.default_rng(20240611)
    if n_subjects > max_subjects:
        chosen = np.sort(rng.choice(n_subjects, max_subjects, replace=False))
        if keep is not None and keep in set(labels) and keep not in set(labels[chosen]):
            chosen[-1] = int(np.flatnonzero(labels == keep)[0])
            chosen = np.sort(chosen)
        shown = labels[chosen]
    else:
        shown = labels
    shown_set = set(shown.tolist())
    row_mask = np.fromiter((v in shown_set for v in g), bool, len(g)) if len(shown) < n_subjects \
        else np.ones(len(g), bool)
    rows = np.flatnonzero(row_mask)
    if len(rows) > max_points:
        rows = np.sort(rng.choice(rows, max_points, replace=False))
    return shown, rows


def _subject_lines(shown: np.ndarray, g: np.ndarray, x: np.ndarray, fits: dict,
                   per_group: pd.DataFrame | None) -> pd.DataFrame:
    """Each shown subject's own OLS line and its line in each fitted model, over the
    subject's own x range (two rows a line: its ends)."""
    if per_group is not None:
        pg = per_group.assign(group=per_group["group"].astype(str)).set_index("group")
        xr = pg.loc[list(shown), ["x_min", "x_max"]]
    else:
        xr = pd.DataFrame({"x": x, "g": g}).groupby("g")["x"].agg(["min", "max"])
        xr = xr.rename(columns={"min": "x_min", "max": "x_max"}).loc[list(shown)]
    lo, hi = xr["x_min"].to_numpy(float), xr["x_max"].to_numpy(float)
    line_rows: list[pd.DataFrame] = []

    def add_lines(model: str, a: np.ndarray, b: np.ndarray) -> None:
        ok = np.isfinite(a) & np.isfinite(b) & (hi > lo)
        if not ok.any():
            return
        subj = np.asarray(shown)[ok]
        for xs in (lo[ok], hi[ok]):
            line_rows.append(pd.DataFrame({
                "subject": subj, "model": model, "label": SUBJECT_LINE_LABELS[model],
                "x": xs, "y": a[ok] + b[ok] * xs, "intercept": a[ok], "slope": b[ok],
            }))

    if per_group is not None:
        add_lines("per_group", pg.loc[list(shown), "intercept"].to_numpy(float),
                  pg.loc[list(shown), "slope"].to_numpy(float))
    for model, ft in fits.items():
        ranef = getattr(ft, "ranef", None)
        if ranef is None:
            continue
        re = ranef.assign(group=ranef["group"].astype(str)).set_index("group").reindex(list(shown))
        add_lines(model, re["line_intercept"].to_numpy(float), re["line_slope"].to_numpy(float))
    return pd.concat(line_rows, ignore_index=True) if line_rows else pd.DataFrame(
        columns=["subject", "model", "label", "x", "y", "intercept", "slope"])


def _population_lines(x: np.ndarray, fits: dict, pooled, unit: str) -> pd.DataFrame:
    """The pooled OLS line and each model's population line over the whole x range."""
    x0, x1 = (float(np.min(x)), float(np.max(x))) if len(x) else (0.0, 1.0)
    pop_rows = []
    if pooled is not None:
        pop_rows.append(("pooled", pooled.intercept, pooled.slope))
    for model, ft in fits.items():
        a, b = ft.population_line()
        pop_rows.append((model, a, b))
    return pd.DataFrame([
        {"model": m, "label": population_label(m, unit), "x": xx, "y": a + b * xx, "intercept": a,
         "slope": b, "end": xx == x1, "text": f"{MODEL_LABELS[m]} {signed(b)}"}
        for m, a, b in pop_rows if math.isfinite(a) and math.isfinite(b) for xx in (x0, x1)
    ], columns=["model", "label", "x", "y", "intercept", "slope", "end", "text"])


LABEL_DY = 13  # px between a line's end and its label's centre
LABEL_GAP = 17  # px between the centres of two labels that share x
LABEL_MARGIN = 10  # px between a label's centre and the plot's top or bottom edge


def _label_points(lines: pd.DataFrame, x_domain, y_domain, height: int = 400) -> pd.DataFrame:
    """Where to write each line's name and slope: at the right end of its visible part,
    LABEL_DY px to the side away from the line (below a falling line, above a rising one).

    ``y`` is the line's point the label hangs from; the label's centre is drawn LABEL_DY
    px above or below it. Both stay inside the plot (never over the axis and its ticks),
    and labels that would overprint each other are moved apart."""
    rows = []
    x0, x1 = x_domain
    y0, y1 = y_domain
    px = ((y1 - y0) or 1.0) / max(height, 1)  # data units per pixel
    span_x = (x1 - x0) or 1.0
    for (model, label), g in lines.groupby(["model", "label"], sort=False):
        a, b = float(g["intercept"].iloc[0]), float(g["slope"].iloc[0])
        xr = min(float(g["x"].max()), x1)
        y = a + b * xr
        if not y0 <= y <= y1 and b != 0:
            y = y1 if y > y1 else y0
            xr = (y - a) / b
        if not x0 <= xr <= x1:
            continue
        side = "below" if b < 0 else "above"
        rows.append({"model": model, "label": label, "x": xr, "y": y, "side": side,
                     "centre": y + (-LABEL_DY if side == "below" else LABEL_DY) * px, "text": g["text"].iloc[0]})
    lo, hi = y0 + LABEL_MARGIN * px, y1 - LABEL_MARGIN * px
    gap = LABEL_GAP * px
    placed: list[dict] = []
    for r in sorted(rows, key=lambda r: r["centre"], reverse=True):
        want = min(max(r["centre"], lo), hi)
        near = [p["centre"] for p in placed if abs(r["x"] - p["x"]) < 0.45 * span_x]
        # the free spot closest to where the label wants to be, inside the plot
        spots = [want] + [c + d for c in near for d in (gap, -gap)]
        spots = [c for c in spots if lo <= c <= hi and all(abs(c - n) >= gap - 1e-9 for n in near)]
        if spots:
            r["centre"] = min(spots, key=lambda c: abs(c - want))
        else:
            r["centre"] = want
        placed.append(r)
    for r in rows:  # the anchor the text layer draws from (it adds ±LABEL_DY px)
        r["y"] = r["centre"] + (LABEL_DY if r["side"] == "below" else -LABEL_DY) * px
    return pd.DataFrame(rows, columns=["model", "label", "x", "y", "side", "centre", "text"])


def _inline(frame: pd.DataFrame):
    """A layer's data. Small frames go in as inline values, which skips Altair's
    per-frame sanitizing (~10 ms each); large ones as the frame itself, because inline
    values are validated row by row when the chart is built."""
    if len(frame) > 200:
        return frame
    return alt.InlineData(values=json.loads(frame.to_json(orient="records", double_precision=15)))


def _domain(values: np.ndarray, pad: float = 0.06) -> list[float]:
    v = values[np.isfinite(values)]
    if not len(v):
        return [0.0, 1.0]
    lo, hi = float(v.min()), float(v.max())
    span = hi - lo if hi > lo else max(abs(hi), 1.0)
    return [lo - pad * span, hi + pad * span]


# Legends under the plot are stacked one below the other, left-aligned, so that none is
# pushed past the right edge of a narrow screen.
LEGEND_LAYOUT = MappingProxyType({"expr": "{bottom: {anchor: 'start', direction: 'vertical', margin: 6}}"})
WRAP_LABEL = "width < 420 && length(datum.label) > 30 ? split(datum.label, ': ') : datum.label"
POPULATION_FIT = 0.5  # the y axis grows by at most this share of the data's span to show population lines


def _y_domain(frames: ChartFrames, layers) -> list[float]:
    """The data's y range, grown so that the pooled and population lines shown fit in
    it too, unless one runs far away (then it is clipped at the plot's edge)."""
    y = frames.points["y"].to_numpy(float)
    lo, hi = _domain(y, 0.06)
    pop = frames.population
    if not len(pop):
        return [lo, hi]
    shown = [m for m in pop["model"].unique()
             if (("pooled" in layers) if m == "pooled" else ("population" in layers))]
    ly = pop.loc[pop["model"].isin(shown), "y"].to_numpy(float)
    ly = ly[np.isfinite(ly)]
    if not len(ly):
        return [lo, hi]
    reach = POPULATION_FIT * (hi - lo)
    plo, phi = _domain(np.concatenate([y[np.isfinite(y)], ly]), 0.06)
    return [max(min(lo, plo), lo - reach), min(max(hi, phi), hi + reach)]


def fit_chart(
    frames: ChartFrames,
    layers=LAYERS,
    selected: str | None = None,
    x_title: str = "x",
    y_title: str = "y",
    group_title: str = "subject",
    height: int = 400,
    interactive: bool = True,
) -> alt.LayerChart:
    """The main chart: points and lines in the "pooled" vs "within subjects" language.

    Each layer is named (``points``, ``subject_lines``, ``per_group``, ``population``,
    ``pooled``, ``labels``) so that tests and the browser can find it. Clicking a point,
    a line or a legend entry selects a subject (parameter ``pick``); ``selected``
    preselects one.
    """
    layers = set(layers)
    style = _style(frames, layers, selected, x_title, y_title, group_title)
    charts = [_points_layer(frames, layers, style, x_title, y_title, group_title, interactive)]
    charts += _subject_line_layers(frames, layers, style, group_title)
    charts += _population_layers(frames, layers, style, height)
    return _layered(charts, style.shapes is not None, height)


@dataclass(frozen=True)
class _Style:
    """What the layers of :func:`fit_chart` share: the subjects' colours and shapes,
    their legend, the selection, and the axes."""

    many: bool  # too many subjects for a legend of them
    subject_scale: alt.Scale
    shapes: list | None
    legend: alt.Legend | None
    pick: object  # the selection parameter
    dim: float  # opacity of what is not selected
    x_scale: alt.Scale
    y_scale: alt.Scale
    x_enc: alt.X
    y_enc: alt.Y


def _style(frames: ChartFrames, layers: set, selected, x_title: str, y_title: str, group_title: str) -> _Style:
    many = len(frames.subjects) > LEGEND_SUBJECTS
    subjects = list(frames.subjects)
    subject_scale = alt.Scale(domain=subjects or [""], range=subject_colors(subjects) or ["#000000"])
    shapes = None if many else subject_shapes(subjects)
    # Legends sit under the plot, stacked (see LEGEND_LAYOUT), each in as many columns as
    # fit a phone's width; every entry is listed (symbolLimit), none is cut.
    # A column is about 7 px a character of the longest name plus 42 px for the symbol and gaps;
    # the legend starts under the plot's left edge, so the plot's width ("width") is what it has.
    longest = max((len(s) for s in subjects), default=1)
    columns = alt.ExprRef(expr=f"max(1, min({max(len(subjects), 1)}, floor(width / {7 * min(longest, 12) + 42})))")
    legend = None if many else alt.Legend(title=group_title, orient="bottom", direction="horizontal",
                                          columns=columns, symbolLimit=0, labelLimit=90,
                                          **({"symbolType": "circle"} if shapes is None else {}))
    pick_kwargs = {"fields": ["subject"], "on": "click", "clear": "dblclick", "name": SELECTION}
    if not many:
        pick_kwargs["bind"] = "legend"
    if selected is not None and selected in set(subjects):
        pick_kwargs["value"] = [{"subject": selected}]
    pick = alt.selection_point(**pick_kwargs)
    x_scale = alt.Scale(domain=_domain(frames.points["x"].to_numpy(float), 0.03), zero=False, nice=False)
    y_scale = alt.Scale(domain=_y_domain(frames, layers), zero=False, nice=False)
    return _Style(many, subject_scale, shapes, legend, pick, 0.12 if not many else 0.06, x_scale, y_scale,
                  alt.X("x:Q", title=x_title, scale=x_scale), alt.Y("y:Q", title=y_title, scale=y_scale))


def _points_layer(frames: ChartFrames, layers: set, st: _Style, x_title: str, y_title: str, group_title: str,
                  interactive: bool) -> alt.Chart:
    """The data points. They carry the selection (and zoom) parameters, so they are always
    drawn, invisibly when the layer is off. They come first, so every line is drawn over
    them: small and half filled, they leave a subject's own fitted lines visible."""
    pts, many = frames.points, st.many
    subject_color = alt.Color("subject:N", title=group_title, scale=st.subject_scale, legend=st.legend)
    point_enc = {}
    if st.shapes is not None:  # one shape per shade of the palette, in the same legend as the colour
        point_enc["shape"] = alt.Shape("subject:N", title=group_title, legend=st.legend,
                                       scale=alt.Scale(domain=list(frames.subjects), range=st.shapes))
    fit_cols = [c for c in pts.columns if c.startswith("fit_")]
    show_points = "points" in layers
    point_tips = [alt.Tooltip("subject:N", title=group_title), alt.Tooltip("x:Q", title=x_title, format=".5~g"),
                  alt.Tooltip("y:Q", title=y_title, format=".5~g")]
    point_tips += [alt.Tooltip(f"{c}:Q", title=f"fitted, {MODEL_LABELS[c[4:]].lower()}", format=".5~g")
                   for c in fit_cols]
    points = (
        alt.Chart(_inline(pts), name="points")
        .mark_point(filled=True, size=48 if not many else 24, fillOpacity=0.45 if not many else 0.7,
                    strokeWidth=1.3 if not many else 0)
        .encode(
            x=st.x_enc, y=st.y_enc, color=subject_color, **point_enc,
            opacity=alt.condition(st.pick, alt.value(0.95 if show_points else 0.0),
                                  alt.value(st.dim if show_points else 0.0)),
            tooltip=point_tips,
        )
        .add_params(st.pick)
    )
    if interactive:
        points = points.add_params(alt.selection_interval(bind="scales", name="zoom", encodings=["x", "y"]))
    return points


def _subject_line_layers(frames: ChartFrames, layers: set, st: _Style, group_title: str) -> list[alt.Chart]:
    """Each subject's own OLS line (``per_group``) and its fitted lines (``subject_lines``),
    in its colour, one dash pattern per model; one dash legend under the last layer."""
    sl = frames.subject_lines
    line_tips = [alt.Tooltip("subject:N", title=group_title), alt.Tooltip("label:N", title="line"),
                 alt.Tooltip("slope:Q", title="slope", format=".4~g"),
                 alt.Tooltip("intercept:Q", title="intercept", format=".5~g")]
    line_color = alt.Color("subject:N", scale=st.subject_scale, legend=None)
    shown_kinds = [k for k, models in (("per_group", ("per_group",)), ("subject_lines", MIXED))
                   if k in layers and len(sl) and sl["model"].isin(models).any()]
    present = [m for m in ("per_group", *MIXED) if len(sl) and m in set(sl["model"]) and
               ("per_group" if m == "per_group" else "subject_lines") in shown_kinds]
    dash_scale = alt.Scale(domain=[SUBJECT_LINE_LABELS[m] for m in present],
                           range=[list(SUBJECT_DASH[m]) for m in present])
    charts = []
    for i, layer in enumerate(shown_kinds):
        models = ("per_group",) if layer == "per_group" else MIXED
        part = sl[sl["model"].isin(models)]
        dash = alt.StrokeDash(
            "label:N", title=f"Within each {frames.unit}", scale=dash_scale,
            legend=alt.Legend(orient="bottom", direction="vertical", symbolStrokeColor="#374151",
                              symbolStrokeWidth=2, symbolType="stroke", symbolSize=300, labelLimit=220)
            if i == len(shown_kinds) - 1 else None,
        )
        charts.append(
            alt.Chart(_inline(part), name=layer)
            .mark_line(strokeWidth=2.6 if not st.many else 1.2, clip=True)
            .encode(
                x=st.x_enc, y=st.y_enc, color=line_color, strokeDash=dash,
                detail="subject:N",
                opacity=alt.condition(st.pick, alt.value(0.9 if not st.many else 0.6), alt.value(st.dim)),
                tooltip=line_tips,
            )
        )
    return charts


def _population_layers(frames: ChartFrames, layers: set, st: _Style, height: int) -> list[alt.Chart]:
    """The pooled OLS line and the population lines across the whole x range, each in its
    model's colour, and their labels (name and slope) at their right ends."""
    pop = frames.population
    if not len(pop):
        return []
    wanted = [m for m in ("pooled", *MIXED) if m in set(pop["model"]) and
              (("pooled" in layers) if m == "pooled" else ("population" in layers))]
    part = pop[pop["model"].isin(wanted)]
    if not len(part):
        return []
    domain = [population_label(m, frames.unit) for m in wanted]
    pop_scale = alt.Scale(domain=domain, range=[POPULATION_COLORS[m] for m in wanted])
    pop_dash = alt.Scale(domain=domain, range=[list(POPULATION_DASH[m]) for m in wanted])
    tips = [alt.Tooltip("label:N", title="line"), alt.Tooltip("slope:Q", title="slope", format=".4~g"),
            alt.Tooltip("intercept:Q", title="intercept", format=".5~g")]
    charts = []
    first = True
    for name, models in (("pooled", ("pooled",)), ("population", MIXED)):
        sub = part[part["model"].isin(models)]
        if not len(sub):
            continue
        # On a narrow plot a long name breaks after its colon onto a second line.
        pop_legend = alt.Legend(orient="bottom", direction="vertical", symbolType="stroke",
                                symbolStrokeWidth=3, symbolSize=400, labelLimit=320,
                                titleLimit=320, labelExpr=WRAP_LABEL) if first else None
        first = False
        charts.append(
            alt.Chart(_inline(sub), name=name)
            .mark_line(strokeWidth=3.2, clip=True)
            .encode(x=st.x_enc, y=st.y_enc,
                    color=alt.Color("label:N", title="Pooled and population lines", scale=pop_scale,
                                    legend=pop_legend),
                    strokeDash=alt.StrokeDash("label:N", title="Pooled and population lines",
                                              scale=pop_dash, legend=pop_legend),
                    tooltip=tips, detail="model:N")
        )
    return charts + _label_layers(part, st, pop_scale, height)


def _label_layers(lines: pd.DataFrame, st: _Style, pop_scale: alt.Scale, height: int) -> list[alt.Chart]:
    """The population lines' labels (``labels`` above, ``labels_below`` below a line),
    each over a white halo that keeps it legible where it crosses a line."""
    labels = _label_points(lines, st.x_scale.domain, st.y_scale.domain, height)
    charts = []
    for name, side, dy in (("labels", "above", -LABEL_DY), ("labels_below", "below", LABEL_DY)):
        sub = labels[labels["side"] == side]
        if len(sub):
            text = dict(align="right", dx=-2, dy=dy, baseline="middle", fontSize=12, fontWeight="bold")
            values = _inline(sub)
            charts.append(
                alt.Chart(values, name=f"{name}_halo")
                .mark_text(**text, color="white", stroke="white", strokeWidth=4, strokeJoin="round")
                .encode(x=st.x_enc, y=st.y_enc, text="text:N")
            )
            charts.append(
                alt.Chart(values, name=name)
                .mark_text(**text)
                .encode(x=st.x_enc, y=st.y_enc, text="text:N",
                        color=alt.Color("label:N", scale=pop_scale, legend=None))
            )
    return charts


def _layered(charts: list, with_shapes: bool, height: int) -> alt.LayerChart:
    """The layers as one chart, sized to its container, with the app's fonts and legends."""
    # One constructor call: every chained method would deep-copy the whole layered chart.
    return alt.LayerChart(
        layer=charts,
        resolve=alt.Resolve(scale=alt.ScaleResolveMap(color="independent", strokeDash="independent",
                                                     **({"shape": "independent"} if with_shapes else {}))),
        height=height,
        width="container",
        # Fit the width to the container; the height is the plot's, legends come on top of it.
        autosize=alt.AutoSizeParams(type="fit-x", contains="padding"),
        # Vega sizes the chart for one-line legend labels; the room below takes the second
        # line of a wrapped one (WRAP_LABEL).
        padding={"left": 5, "top": 5, "right": 5, "bottom": 24},
        config={
            "axis": {"labelFontSize": 12, "titleFontSize": 13, "gridColor": "#eef0f3"},
            "legend": {"labelFontSize": 12, "titleFontSize": 12, "orient": "bottom", "layout": dict(LEGEND_LAYOUT)},
            "view": {"stroke": None},
            "font": "'Source Sans Pro', 'Source Sans 3', 'Helvetica Neue', Arial, sans-serif",
        },
    )


def _base_name(name: str) -> str:
    # Altair suffixes the names of views that share a selection ("points_0").
    return re.sub(r"_\d+$", "", name)


def layer_names(spec: dict) -> list[str]:
    """Names of the layers of a :func:`fit_chart` spec (``chart.to_dict()``), depth first."""
    out: list[str] = []

    def walk(node: dict) -> None:
        if "name" in node and "mark" in node:
            out.append(_base_name(node["name"]))
        for child in node.get("layer", []):
            walk(child)

    walk(spec)
    return out


def find_layer(spec: dict, name: str) -> dict | None:
    def walk(node: dict):
        if "mark" in node and _base_name(node.get("name", "")) == name:
            return node
        for child in node.get("layer", []):
            hit = walk(child)
            if hit is not None:
                return hit
        return None

    return walk(spec)


def static_spec(chart, width: int = 760) -> dict:
    """The chart (an Altair chart or its spec) as a self-contained spec for export:
    fixed width, white background, no pan/zoom."""
    import copy

    spec = copy.deepcopy(chart) if isinstance(chart, dict) else chart.to_dict()
    spec["width"] = width
    spec["params"] = [p for p in spec.get("params", []) if p.get("name") != "zoom"]
    if not spec["params"]:
        spec.pop("params")
    spec.setdefault("background", "white")
    return spec


def chart_png(chart, width: int = 760, scale: float = 2.0) -> bytes:
    import vl_convert as vlc

    return vlc.vegalite_to_png(static_spec(chart, width), scale=scale)


def chart_svg(chart, width: int = 760) -> str:
    import vl_convert as vlc

    return vlc.vegalite_to_svg(static_spec(chart, width))


__all__ = ["ChartFrames", "chart_frames", "fit_chart", "chart_png", "chart_svg", "layer_names", "find_layer",
           "LAYERS", "LAYER_LABELS", "MODEL_LABELS", "population_label", "signed", "unit_word"]
