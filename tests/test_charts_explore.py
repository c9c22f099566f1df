"""The explore charts (lmmviz.charts_explore) through their Vega-Lite specs, and the
explore views (lmmviz.ui.explore) rendered in Streamlit's AppTest."""

from __future__ import annotations

import math
import textwrap

import altair as alt
import numpy as np
import pandas as pd
import pytest

import lmmviz
from lmmviz import charts_explore as C
from lmmviz import landscape as L


@pytest.fixture(scope="module")
def paths(cmp_slope):
    return L.optimizer_paths(cmp_slope)


@pytest.fixture(scope="module")
def many():
    data = lmmviz.frame_to_data(lmmviz.simulate(lmmviz.PRESETS["many_subjects"]))
    return data, lmmviz.fit(data, "slope")


def _units(spec: dict) -> list[dict]:
    """Every unit (single-mark) view of a spec, depth first."""
    out = []
    if "mark" in spec:
        out.append(spec)
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for sub in spec.get(key, []):
            out.extend(_units(sub))
    return out


def _rows(spec: dict, unit: dict) -> list[dict]:
    """The data rows a unit view draws (its own data, else the top level's)."""
    data = unit.get("data") or spec["data"]
    return spec["datasets"][data["name"]]


def _mark(unit: dict) -> str:
    m = unit["mark"]
    return m if isinstance(m, str) else m["type"]


def _field(enc: dict, channel: str):
    ch = enc.get(channel)
    return ch.get("field") if isinstance(ch, dict) else None


def _assert_tooltips(spec: dict) -> None:
    for unit in _units(spec):
        if _mark(unit) in ("text",) or unit.get("encoding", {}).get("x", {}).get("field") == "zero":
            continue
        assert "tooltip" in unit.get("encoding", {}), f"{_mark(unit)} layer without a tooltip"


# --------------------------------------------------------------------------- compare


def test_compare_dotplot(cmp_slope):
    frame = L.comparison_frame(cmp_slope)
    spec = C.compare_dotplot(frame, "dosage").to_dict()
    left, right = spec["vconcat"]  # stacked: one panel wide, fits a phone
    assert left["encoding"]["x"]["field"] == "criterion" and left["encoding"]["y"]["field"] == "optimizer"
    assert left["encoding"]["color"]["field"] == "optimum_label"
    assert left["encoding"]["shape"]["field"] == "verdict"
    slope = [u for u in _units(right) if _field(u["encoding"], "x") == "slope"][0]
    assert slope["encoding"]["color"]["field"] == "optimum_label"
    # lme4's twins first, in allFit's order, then lmmviz's optimizers grouped by optimum
    order = list(frame.sort_values("order")["optimizer"])
    assert left["encoding"]["y"]["sort"] == order and order[:5] == [
        "lme4:bobyqa", "lme4:Nelder_Mead", "lme4:optimx.L-BFGS-B", "lme4:nloptwrap.NLOPT_LN_NELDERMEAD",
        "lme4:nloptwrap.NLOPT_LN_BOBYQA"]
    assert left["encoding"]["color"]["scale"]["domain"] == ["68.07 (slope -8.215)", "101.34 (slope +7.204)"]
    assert spec["params"][0]["bind"] == "legend" or left.get("params")
    _assert_tooltips(spec)
    values = _rows(spec, left)
    assert {v["optimizer"] for v in values} == set(frame["optimizer"])


def test_compare_dotplot_drawn_fits_a_phone(cmp_slope):
    """Rendered by Vega (vl-convert), the whole chart, labels and legends included, fits the
    358 px of a 390 px phone's main column, so no optimum is cut off at the right edge."""
    import re

    import vl_convert as vlc

    svg = vlc.vegalite_to_svg(C.compare_dotplot(L.comparison_frame(cmp_slope), "dosage").to_dict())
    width = float(re.search(r'<svg[^>]*\bwidth="([0-9.]+)"', svg).group(1))
    assert 300 < width <= 358, width
    assert "lme4:nloptwrap.NELDERMEAD" in svg and "101.34 (slope +7.204)" in svg


def test_compare_dotplot_keeps_failed_runs_with_their_reason(cmp_slope):
    frame = L.comparison_frame(cmp_slope).copy()
    i = frame.index[frame["optimizer"] == "pybobyqa"][0]
    frame.loc[i, ["criterion", "slope", "verdict", "message"]] = [np.nan, np.nan, "failed", "TypeError: boom"]
    spec = C.compare_dotplot(frame, "dosage").to_dict()
    left = spec["vconcat"][0]
    assert left["layer"][0]["encoding"]["y"]["sort"][-1] == frame.sort_values("order")["optimizer"].iloc[-1]
    text = left["layer"][1]
    assert text["mark"]["type"] == "text" and text["encoding"]["text"]["field"] == "why"
    assert [r["why"] for r in _rows(spec, text)] == ["failed: TypeError: boom"]


def test_compare_dotplot_does_not_zoom_when_all_agree(cmp_slope):
    frame = L.comparison_frame(cmp_slope)
    best = frame[frame["optimum"] == 1].copy()
    spec = C.compare_dotplot(best, "dosage").to_dict()
    lo, hi = spec["vconcat"][0]["encoding"]["x"]["scale"]["domain"]
    assert hi - lo >= 2.0 and lo < best["criterion"].min() < best["criterion"].max() < hi


# --------------------------------------------------------------------------- landscape


def test_landscape_map_layers(seed, paths):
    m = L.map_2d(seed, "slope", paths=paths)
    spec = C.landscape_map(m, paths, group="subject").to_dict()
    units = spec["layer"]
    marks = [_mark(u) for u in units]
    assert marks == ["rect", "rule", "line", "point", "point", "text"]
    heat, contours, lines, ends, minima, labels = units
    assert heat["encoding"]["x"]["scale"]["type"] == "log" and heat["encoding"]["y"]["scale"]["type"] == "log"
    assert heat["encoding"]["x"]["field"] == "sd_int_lo" and heat["encoding"]["x2"]["field"] == "sd_int_hi"
    assert heat["encoding"]["color"]["field"] == "excess" and heat["encoding"]["color"]["scale"]["type"] == "symlog"
    assert {"x2", "y2"} <= set(contours["encoding"])
    assert lines["encoding"]["detail"]["field"] == "run" and lines["encoding"]["order"]["field"] == "evaluation"
    assert ends["encoding"]["shape"]["field"] == "point"
    assert ends["encoding"]["shape"]["scale"]["domain"] == ["start", "end"]
    assert minima["mark"]["shape"] == "cross" and labels["encoding"]["text"]["field"] == "text"
    assert "profiled" in str(spec["title"])
    _assert_tooltips(spec)
    # the end markers sit where compare says each optimizer stopped
    end_rows = [r for r in _rows(spec, ends) if r["point"] == "end"]
    for e in cmp_slope_entries(paths):
        row = [r for r in end_rows if r["run"] == e][0]
        assert row["criterion"] == pytest.approx(paths.ends.set_index(["run", "point"]).loc[(e, "end"), "criterion"])


def cmp_slope_entries(paths):
    return paths.runs


def test_landscape_map_held_and_big_grid(seed, paths, cmp_slope):
    m = L.map_2d(seed, "slope", nx=200, ny=200, third="held", held_theta=next(e for e in cmp_slope.entries if e.optimizer == cmp_slope.best).fit.theta)
    chart = C.landscape_map(m, None, show_contours=False)
    with alt.data_transformers.disable_max_rows():
        spec = chart.to_dict()
    assert [_mark(u) for u in spec["layer"]] == ["rect", "point", "text"]
    assert "held at -0.807" in str(spec["title"])
    assert len(_rows(spec, spec["layer"][0])) == 40_000


def test_curve_chart(seed, cmp_intercept):
    c = cmp_intercept
    p = L.optimizer_paths(c)
    curve = L.curve_1d(seed, "intercept", paths=p)
    spec = C.curve_chart(curve, p).to_dict()
    top, bottom = spec["vconcat"]
    assert [_mark(u) for u in top["layer"]] == ["line", "point", "text"]
    assert top["layer"][0]["encoding"]["x"]["scale"]["type"] == "log"
    minima = _rows(spec, top["layer"][1])
    assert sorted(round(r["criterion"], 2) for r in minima) == [77.41, 101.88]
    assert [_mark(u) for u in bottom["layer"]] == ["line", "point"]
    assert bottom["layer"][0]["encoding"]["y"]["field"] == "run"
    _assert_tooltips(spec)
    # without paths: only the curve
    assert [_mark(u) for u in C.curve_chart(curve).to_dict()["layer"]] == ["line", "point", "text"]


def _label_boxes(unit_spec: dict, spec: dict, width: float, height: float) -> list[tuple]:
    """Pixel boxes (x0, x1, y0, y1, text) of a layered panel's text labels at a given
    plot size, from the scale domains, the marks' offsets and 7 px per bold 12 px
    character."""
    boxes = []
    for u in unit_spec["layer"]:
        if _mark(u) != "text":
            continue
        mk, enc = u["mark"], u["encoding"]
        (x_lo, x_hi), (y_lo, y_hi) = enc["x"]["scale"]["domain"], enc["y"]["scale"]["domain"]
        for r in _rows(spec, u):
            px = (r["t"] - x_lo) / (x_hi - x_lo) * width + mk.get("dx", 0)
            py = (y_hi - r["criterion"]) / (y_hi - y_lo) * height + mk.get("dy", 0)
            w, fs = 7.0 * len(r["text"]), mk["fontSize"]
            x0 = {"left": px, "right": px - w, "center": px - w / 2}[mk["align"]]
            y0 = {"top": py, "bottom": py - fs}[mk["baseline"]]
            boxes.append((x0, x0 + w, y0, y0 + fs, r["text"]))
    return boxes


def _assert_labels_apart(spec: dict, width: float) -> list[str]:
    boxes = _label_boxes(spec, spec, width, spec["height"])
    for i, a in enumerate(boxes):
        assert 0 <= a[2] and a[3] <= spec["height"], f"label {a[4]!r} outside the plot"
        for b in boxes[i + 1:]:
            apart = a[1] <= b[0] or b[1] <= a[0] or a[3] <= b[2] or b[3] <= a[2]
            assert apart, f"labels {a[4]!r} and {b[4]!r} overlap"
    return [b[4] for b in boxes]


def test_slice_chart(seed, cmp_slope):
    opt = L.distinct_optima(cmp_slope)
    cols = ["theta1", "theta2", "theta3"]
    s = L.slice_between(seed, tuple(opt.iloc[1][cols]), tuple(opt.iloc[0][cols]), model="slope",
                        label_a="101.34", label_b="68.07")
    full, zoom = C.slice_chart(s).to_dict(), C.slice_zoom_chart(s).to_dict()
    for spec in (full, zoom):  # each fits the column it is drawn in
        assert spec["width"] == "container" and spec["autosize"]["type"] == "fit-x"
        assert "hconcat" not in spec
    assert _mark(full["layer"][0]) == "line" and full["layer"][0]["encoding"]["x"]["field"] == "t"
    assert full["title"]["subtitle"] == ["a barrier: it rises 0.54 above 101.34 and 33.81 above 68.07"]
    # the ridge 0.54 above 101.34, 0.006 along: in a 300 px wide zoom the two labels stay apart
    assert _assert_labels_apart(zoom, 300) == ["101.34", "ridge: 101.88"]
    assert _assert_labels_apart(full, 300) == ["101.34", "68.07"]
    _assert_tooltips(full)
    _assert_tooltips(zoom)


def test_slice_chart_without_a_barrier(seed):
    """From where COBYLA stopped early (uncorrelated, 70.77) to the optimum 70.02 the
    criterion falls all the way: no ridge is marked and there is no zoom."""
    cmp = lmmviz.compare(seed, "uncorrelated", optimizers=("nlopt_cobyla", "scipy_powell"))
    stopped, best = (next(e.fit for e in cmp.entries if e.optimizer == o) for o in ("nlopt_cobyla", "scipy_powell"))
    assert round(stopped.criterion, 2) == 70.77 and round(best.criterion, 2) == 70.02
    s = L.slice_between(seed, stopped.theta, best.theta, model="uncorrelated", label_a="70.77", label_b="70.02")
    assert C.slice_zoom_chart(s) is None
    spec = C.slice_chart(s).to_dict()
    assert spec["title"]["subtitle"] == ["no barrier between the two optima"]
    assert sorted(_assert_labels_apart(spec, 300)) == ["70.02", "70.77"]


def test_slice_labels_apart_when_the_ridge_is_level_with_its_end():
    """A ridge 0.001 above its end, on a zoom 0.25 tall: the two points sit 1 px apart
    and their labels overlap horizontally, so they must go on opposite sides."""
    def crit(t):
        u = t / 0.004
        return 100.0 + 0.001 * u * (2.0 - u) - 30.0 * np.maximum(t - 0.008, 0.0)

    t = (1.0 - np.cos(np.linspace(0.0, np.pi, 301))) / 2.0
    tz = np.linspace(0.0, 0.016, 201)
    frame = pd.DataFrame({"t": t, "criterion": crit(t)})
    s = L.Slice("uncorrelated", True, "REML criterion", (1.0, 0.0), (300.0, 2.0), "100.00", "70.00", frame,
                0.004, 100.001, 0.001, 100.001 - frame["criterion"].iloc[-1],
                pd.DataFrame({"t": tz, "criterion": crit(tz)}))
    zoom = C.slice_zoom_chart(s).to_dict()
    assert sorted(_assert_labels_apart(zoom, 300)) == ["100.00", "ridge: 100.00"]


def test_trace_chart(paths):
    lin = C.trace_chart(paths).to_dict()
    assert lin["mark"]["type"] == "line" and lin["encoding"]["x"]["field"] == "evaluation"
    assert lin["encoding"]["y"]["field"] == "criterion" and lin["encoding"]["y"]["scale"]["clamp"] is True
    log = C.trace_chart(paths, log=True).to_dict()
    assert log["encoding"]["y"]["field"] == "above_best" and log["encoding"]["y"]["scale"]["type"] == "log"
    best = C.trace_chart(paths, best_so_far=True).to_dict()
    assert best["encoding"]["y"]["field"] == "best_so_far" and best["mark"]["interpolate"] == "step-after"
    assert lin["encoding"]["color"]["field"] == "run" and lin["params"][0]["bind"] == "legend"
    # as wide as the page, the legend below the plot in as many columns as fit
    assert lin["width"] == "container" and lin["autosize"]["type"] == "fit-x"
    legend = lin["encoding"]["color"]["legend"]
    assert legend["orient"] == "bottom" and "width" in legend["columns"]["expr"] and legend["symbolLimit"] == 0
    assert set(lin["encoding"]["color"]["scale"]["range"]) <= TOL_21  # 10 runs: colour-blind-safe colours
    rows = _rows(lin, lin)
    assert {r["run"] for r in rows} == set(paths.runs)
    assert all(len([r for r in rows if r["run"] == run]) <= 501 for run in paths.runs)


# --------------------------------------------------------------------------- random effects


def test_caterpillar_three_and_two_hundred(seed, many):
    fit = lmmviz.fit(seed, "slope", optimizer="pybobyqa")
    spec = C.caterpillar_chart(fit.ranef, group="subject").to_dict()
    assert len(spec["vconcat"]) == 2  # stacked: one panel wide, fits a phone
    first = spec["vconcat"][0]
    rule, point = [u for u in first["layer"] if _mark(u) in ("rule", "point") and _field(u["encoding"], "y")]
    assert rule["encoding"]["x"]["field"] == "lo" and rule["encoding"]["x2"]["field"] == "hi"
    assert point["encoding"]["y"]["axis"]["labels"] is True
    rows = _rows(spec, point)
    r = rows[0]
    assert r["hi"] - r["blup"] == pytest.approx(1.96 * r["condsd"])
    _assert_tooltips(spec)
    data, big = many
    spec = C.caterpillar_chart(big.ranef, max_groups=100).to_dict()
    point = [u for u in spec["vconcat"][1]["layer"] if _mark(u) == "point"][0]
    assert point["encoding"]["y"]["axis"]["labels"] is False  # 100 labels would not be readable
    assert len(_rows(spec, point)) == 100
    assert "showing 100 of 200" in str(spec["vconcat"][1]["title"])


def test_shrinkage_frame_and_chart(seed, many):
    fit = lmmviz.fit(seed, "slope", optimizer="pybobyqa")
    pg = lmmviz.per_group_ols(seed)
    frame = C.shrinkage_frame(pg, fit.ranef)
    assert list(frame["ols_slope"]) == pytest.approx([-7.47, -6.27, -10.94])
    np.testing.assert_allclose(frame["mixed_slope"], fit.ranef["line_slope"])
    # the singular fit with Corr -1 puts every subject's line on one straight trade-off
    a, b = frame["mixed_intercept"].to_numpy(), frame["mixed_slope"].to_numpy()
    assert abs(np.corrcoef(a, b)[0, 1]) == pytest.approx(1.0, abs=1e-9)
    pooled = lmmviz.pooled_ols(seed)
    spec = C.shrinkage_chart(frame, C.population_point(fit, pg), (pooled.intercept, pooled.slope), "dosage").to_dict()
    groups, reference = spec["layer"]
    marks = [_mark(u) for u in _units(spec)]
    assert marks == ["rule", "point", "point", "point", "text", "point"]
    assert spec["resolve"]["scale"]["color"] == "independent"  # groups and references: two legends
    rule = groups["layer"][0]
    assert (rule["encoding"]["x"]["field"], rule["encoding"]["x2"]["field"]) == ("ols_intercept", "mixed_intercept")
    arrow = groups["layer"][2]
    assert arrow["mark"]["shape"] == "triangle" and arrow["encoding"]["angle"]["field"] == "angle"
    assert groups["layer"][0]["encoding"]["color"]["field"] == "group"  # 3 subjects: one colour each
    refs = _rows(spec, reference)
    assert [r["what"] for r in refs] == ["population (fixed effects)", "pooled OLS (ignores groups)"]
    assert refs[1]["slope"] == pytest.approx(7.855, abs=1e-3)
    _assert_tooltips(spec)
    data, big = many
    f2 = C.shrinkage_frame(lmmviz.per_group_ols(data), big.ranef)
    spec = C.shrinkage_chart(f2, C.population_point(big), x_name="dosage").to_dict()
    assert "text" not in [_mark(u) for u in _units(spec)]  # 200 labels would not be readable
    assert _units(spec)[1]["encoding"]["color"] == {"value": "#4c78a8"}


def test_arrow_angles_point_from_own_to_mixed():
    frame = pd.DataFrame({"group": ["a", "b", "c"], "n": [4, 4, 4], "x_mean": [0.0] * 3,
                          "ols_intercept": [0.0, 10.0, 0.0], "ols_slope": [0.0, 0.0, 10.0],
                          "mixed_intercept": [10.0, 10.0, 0.0], "mixed_slope": [0.0, 10.0, 0.0]})
    spec = C.shrinkage_chart(frame, width=400, height=400).to_dict()
    rows = {r["group"]: r["angle"] for r in _rows(spec, _units(spec)[2])}
    # Vega turns the triangle clockwise from "up": right is 90°, up is 0°, down is 180°
    assert rows["a"] == pytest.approx(90.0) and rows["b"] == pytest.approx(0.0) and rows["c"] == pytest.approx(180.0)


def test_population_point(seed):
    pg = lmmviz.per_group_ols(seed)
    wb = lmmviz.fit(seed, "within_between")
    a, b = C.population_point(wb, pg)
    assert b == pytest.approx(wb.beta[1])
    assert a == pytest.approx(wb.beta[0] + (wb.beta[2] - wb.beta[1]) * pg["x_mean"].mean())
    ri = lmmviz.fit(seed, "intercept")
    assert C.population_point(ri) == (pytest.approx(ri.beta[0]), pytest.approx(ri.beta[1]))


# --------------------------------------------------------------------------- the Streamlit views


APP = textwrap.dedent('''
    import streamlit as st
    import lmmviz
    from lmmviz.ui import explore

    data = lmmviz.seed()
    view, model = st.query_params.get("view"), st.query_params.get("model", "slope")
    if view == "compare":
        explore.render_compare(data, model, True, None, lmmviz.fit(data, model))
    elif view == "landscape":
        explore.render_landscape(data, model, True, None, None, current_fit=lmmviz.fit(data, model))
    elif view == "effects":
        explore.render_effects(lmmviz.fit(data, model, optimizer="pybobyqa"), data)
''')


def _run(tmp_path, **params):
    from streamlit.testing.v1 import AppTest

    script = tmp_path / "explore_app.py"
    script.write_text(APP)
    at = AppTest.from_file(str(script), default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_compare_view_shows_the_split(tmp_path):
    at = _run(tmp_path, view="compare", model="slope")
    warn = " ".join(w.value for w in at.warning)
    assert "optimizers disagree" in warn
    # the five lme4 twins, the ten library optimizers and the robust default
    assert "**6** reached **68.07**" in warn and "**10** reached **101.34**" in warn
    table = at.dataframe[0].value
    assert len(table) == 16 and set(table["optimum"]) == {"68.07 (slope -8.215)", "101.34 (slope +7.204)"}
    # starting from the estimate hides the split
    at.radio(key="cmp_start_slope").set_value("estimate").run()
    assert any("All optimizers agree" in s.value for s in at.success)


@pytest.mark.parametrize("model", ["intercept", "slope", "uncorrelated", "within_between"])
def test_landscape_view(tmp_path, model):
    from lmmviz.ui.tables import md

    at = _run(tmp_path, view="landscape", model=model)
    captions = " ".join(c.value for c in at.caption)
    slice_text = {  # the slice between the lowest optimum and the one most runs converged to
        "intercept": "From 101.88 to 77.41 the criterion first rises by 0.22, then falls by 24.69: an optimizer at "
                     "101.88 must climb to 102.10",
        "slope": "From 101.34 to 68.07 the criterion first rises by 0.54, then falls by 33.81: an optimizer at "
                 "101.34 must climb to 101.88",
        "uncorrelated": "From 101.88 to 70.02 the criterion first rises by 0.22, then falls by 32.09: an optimizer at "
                        "101.88 must climb to 102.10",
    }
    if model in slice_text:
        assert md(slice_text[model]) in captions
    else:
        assert "Only one optimum found" in captions
    assert "71" + md(".") + "48" not in captions  # where COBYLA stopped early (uncorrelated): no optimum
    if model == "intercept":
        assert any("has 2 minima" in w.value for w in at.warning)
        assert md("101.88, a minimum of the landscape that no optimizer converged to") in captions
    if model == "uncorrelated":
        assert md("101.88, where 13 optimizer runs converged") in captions
    if model == "slope":
        assert "profiled out" in captions
        assert any("straight path between the two optima" in m.value for m in at.markdown)
        assert len(at.get("vega_lite_chart")) == 3  # map, slice and its zoom


def test_effects_view(tmp_path):
    at = _run(tmp_path, view="effects", model="slope")
    assert any("singular" in w.value for w in at.warning)
    assert [d.value for d in at.dataframe][-1]["group"].tolist() == ["1", "2", "3"]


# --------------------------------------------------------------------------- subject colours, legends, phones

FIXTURES = __import__("pathlib").Path(__file__).parent / "fixtures"
# Okabe & Ito (2008) and Paul Tol's 21-colour scheme (SRON/EPS/TN/09-002), written out here
# independently of lmmviz.palette
OKABE_ITO = {"#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#000000", "#F0E442"}
TOL_21 = {"#771155", "#AA4488", "#CC99BB", "#114477", "#4477AA", "#77AADD", "#117777", "#44AAAA", "#77CCCC",
          "#117744", "#44AA77", "#88CCAA", "#777711", "#AAAA44", "#DDDD77", "#774411", "#AA7744", "#DDAA77",
          "#771122", "#AA4455", "#DD7788"}


@pytest.fixture(scope="module")
def sleep():
    data = lmmviz.load(FIXTURES / "sleepstudy.csv", y="Reaction", x="Days", group="Subject")
    return data, lmmviz.fit(data, "slope"), lmmviz.pooled_ols(data), lmmviz.per_group_ols(data)


def _fit_spec(data, fit, pooled, per_group) -> dict:
    from lmmviz.charts import chart_frames, fit_chart

    return fit_chart(chart_frames(data, {"slope": fit}, pooled, per_group), group_title=data.group).to_dict()


def _colour_map(enc: dict) -> dict:
    scale = enc["color"]["scale"]
    assert len(scale["domain"]) == len(scale["range"])
    return dict(zip(scale["domain"], scale["range"]))


def _subject_colour_maps(data, fit, pooled, per_group) -> dict:
    from lmmviz.charts import find_layer

    fit_spec = _fit_spec(data, fit, pooled, per_group)
    shrink = C.shrinkage_chart(C.shrinkage_frame(per_group, fit.ranef), C.population_point(fit, per_group),
                               (pooled.intercept, pooled.slope)).to_dict()
    cat = C.caterpillar_chart(fit.ranef).to_dict()
    cat_points = [u for u in _units(cat) if _mark(u) == "point"]
    return {
        "fit points": _colour_map(find_layer(fit_spec, "points")["encoding"]),
        "fit subject lines": _colour_map(find_layer(fit_spec, "subject_lines")["encoding"]),
        "shrinkage": _colour_map(_units(shrink)[0]["encoding"]),
        **{f"caterpillar {i}": _colour_map(u["encoding"]) for i, u in enumerate(cat_points)},
    }


@pytest.mark.parametrize("which", ["seed", "sleepstudy"])
def test_a_subject_has_the_same_colour_on_every_chart(which, seed, sleep):
    if which == "seed":
        data = seed
        parts = (data, lmmviz.fit(data, "slope"), lmmviz.pooled_ols(data), lmmviz.per_group_ols(data))
    else:
        parts = sleep
    maps = _subject_colour_maps(*parts)
    first = maps["fit points"]
    assert list(first) == [str(g) for g in parts[3]["group"]]
    assert len(maps) == 5  # the caterpillar plot has two panels (intercept and slope)
    for name, m in maps.items():
        assert m == first, name
    # every subject has its own colour, from a colour-blind-safe set
    assert len(set(first.values())) == len(first)
    assert set(first.values()) <= (OKABE_ITO if len(first) <= 8 else TOL_21)


def test_the_palette_is_okabe_ito_up_to_eight_subjects_then_tol_with_shapes(seed, sleep):
    from lmmviz.charts import find_layer

    spec = _fit_spec(seed, lmmviz.fit(seed, "slope"), lmmviz.pooled_ols(seed), lmmviz.per_group_ols(seed))
    pts = find_layer(spec, "points")["encoding"]
    assert set(pts["color"]["scale"]["range"]) <= OKABE_ITO and "shape" not in pts
    # not yellow (faint on white) or black (reads as text) while there are other colours
    assert not {"#F0E442", "#000000"} & set(pts["color"]["scale"]["range"])
    pts = find_layer(_fit_spec(*sleep), "points")["encoding"]
    colours = pts["color"]["scale"]["range"]
    assert len(colours) == 18 and set(colours) <= TOL_21 and len(set(colours)) == 18
    # 18 colours are more than colour-blind eyes tell apart by hue: each shade has its shape, in the same legend
    shapes = pts["shape"]["scale"]["range"]
    assert pts["shape"]["scale"]["domain"] == pts["color"]["scale"]["domain"]
    assert sorted(set(shapes)) == ["circle", "square", "triangle-up"]
    assert pts["shape"]["legend"] == pts["color"]["legend"] and pts["shape"]["title"] == pts["color"]["title"]


def test_legends_list_every_subject_below_the_plot_in_a_stack(sleep):
    from lmmviz.charts import find_layer

    spec = _fit_spec(*sleep)
    legend = find_layer(spec, "points")["encoding"]["color"]["legend"]
    assert legend["orient"] == "bottom" and legend["symbolLimit"] == 0  # no entry dropped
    # as many columns as the plot's width holds: 4 on a phone (a 295 px plot), all 18 in 2 rows on a desktop
    columns = legend["columns"]["expr"]

    def at(width):
        return eval(columns.replace("floor", "math.floor"), {"math": math, "width": width})

    assert at(295) == 4 and at(700) == 11 and at(2000) == 18
    layout = spec["config"]["legend"]["layout"]["expr"]
    assert "bottom" in layout and "direction: 'vertical'" in layout  # legends stacked, not side by side
    shrink = C.shrinkage_chart(C.shrinkage_frame(sleep[3], sleep[1].ranef)).to_dict()
    leg = _units(shrink)[0]["encoding"]["color"]["legend"]
    assert leg["orient"] == "bottom" and leg["symbolLimit"] == 0
    assert "direction: 'vertical'" in shrink["config"]["legend"]["layout"]["expr"]


def test_explore_charts_fit_a_phone(cmp_slope, seed):
    # 390 px wide screen: panels are stacked, each narrow, legends below
    spec = C.compare_dotplot(L.comparison_frame(cmp_slope), "dosage").to_dict()
    assert "hconcat" not in spec and len(spec["vconcat"]) == 2
    widths = [u["width"] for u in spec["vconcat"] if "width" in u] + [
        u["width"] for p in spec["vconcat"] for u in p.get("layer", []) if "width" in u]
    assert widths and max(widths) <= 240
    enc = spec["vconcat"][0]["encoding"]
    assert enc["color"]["legend"]["orient"] == "bottom" and enc["shape"]["legend"]["orient"] == "bottom"
    cat = C.caterpillar_chart(lmmviz.fit(seed, "slope").ranef).to_dict()
    assert "hconcat" not in cat and all(p["width"] <= 260 for p in cat["vconcat"])
    shrink = C.shrinkage_chart(C.shrinkage_frame(lmmviz.per_group_ols(seed), lmmviz.fit(seed, "slope").ranef))
    assert shrink.to_dict()["width"] <= 320


def test_landscape_charts_fit_a_phone(seed, paths, cmp_intercept):
    # the map takes the page's width, its legends stacked below it
    spec = C.landscape_map(L.map_2d(seed, "slope", nx=20, ny=20, paths=paths), paths).to_dict()
    assert spec["width"] == "container" and spec["autosize"]["type"] == "fit-x"
    legends = [u["encoding"][ch]["legend"] for u in spec["layer"] for ch in ("color", "shape")
               if u.get("encoding", {}).get(ch, {}).get("legend")]
    assert len(legends) == 3 and all(leg["orient"] == "bottom" for leg in legends)
    assert "direction: 'vertical'" in spec["config"]["legend"]["layout"]["expr"]
    # the curve and its strip of optimizer runs: one narrow column, legends below
    p1 = L.optimizer_paths(cmp_intercept)
    curve = C.curve_chart(L.curve_1d(seed, "intercept", paths=p1), p1).to_dict()
    assert all(p["width"] <= 260 for p in curve["vconcat"])
    strip = curve["vconcat"][1]["layer"][0]["encoding"]
    assert strip["color"]["legend"]["orient"] == "bottom"
