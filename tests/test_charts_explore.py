"""The explore charts (lmmviz.charts_explore) through their Vega-Lite specs, and the
explore views (lmmviz.ui.explore) rendered in Streamlit's AppTest."""

from __future__ import annotations

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
    left, right = spec["hconcat"]
    assert left["encoding"]["x"]["field"] == "criterion" and left["encoding"]["y"]["field"] == "optimizer"
    assert left["encoding"]["color"]["field"] == "optimum_label"
    assert left["encoding"]["shape"]["field"] == "verdict"
    slope = [u for u in _units(right) if _field(u["encoding"], "x") == "slope"][0]
    assert slope["encoding"]["color"]["field"] == "optimum_label"
    assert left["encoding"]["y"]["sort"] == list(frame["optimizer"])  # grouped by optimum, best first
    assert left["encoding"]["color"]["scale"]["domain"] == ["68.07 (slope -8.215)", "101.34 (slope +7.204)"]
    assert spec["params"][0]["bind"] == "legend" or left.get("params")
    _assert_tooltips(spec)
    values = _rows(spec, left)
    assert {v["optimizer"] for v in values} == set(frame["optimizer"])


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


def test_curve_chart(seed):
    c = lmmviz.compare(seed, "intercept")
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


def test_slice_chart(seed, cmp_slope):
    opt = L.distinct_optima(cmp_slope)
    cols = ["theta1", "theta2", "theta3"]
    s = L.slice_between(seed, tuple(opt.iloc[1][cols]), tuple(opt.iloc[0][cols]), model="slope",
                        label_a="101.34", label_b="68.07")
    spec = C.slice_chart(s).to_dict()
    full, zoom = spec["hconcat"]
    assert _mark(full["layer"][0]) == "line" and full["layer"][0]["encoding"]["x"]["field"] == "t"
    texts = [r["text"] for u in _units(zoom) if _mark(u) == "text" for r in _rows(spec, u)]
    assert any(t.startswith("ridge: 101.88") for t in texts)
    _assert_tooltips(spec)


def test_trace_chart(paths):
    lin = C.trace_chart(paths).to_dict()
    assert lin["mark"]["type"] == "line" and lin["encoding"]["x"]["field"] == "evaluation"
    assert lin["encoding"]["y"]["field"] == "criterion" and lin["encoding"]["y"]["scale"]["clamp"] is True
    log = C.trace_chart(paths, log=True).to_dict()
    assert log["encoding"]["y"]["field"] == "above_best" and log["encoding"]["y"]["scale"]["type"] == "log"
    best = C.trace_chart(paths, best_so_far=True).to_dict()
    assert best["encoding"]["y"]["field"] == "best_so_far" and best["mark"]["interpolate"] == "step-after"
    assert lin["encoding"]["color"]["field"] == "run" and lin["params"][0]["bind"] == "legend"
    rows = _rows(lin, lin)
    assert {r["run"] for r in rows} == set(paths.runs)
    assert all(len([r for r in rows if r["run"] == run]) <= 501 for run in paths.runs)


# --------------------------------------------------------------------------- random effects


def test_caterpillar_three_and_two_hundred(seed, many):
    fit = lmmviz.fit(seed, "slope", optimizer="pybobyqa")
    spec = C.caterpillar_chart(fit.ranef, group="subject").to_dict()
    assert len(spec["hconcat"]) == 2
    first = spec["hconcat"][0]
    rule, point = [u for u in first["layer"] if _mark(u) in ("rule", "point") and _field(u["encoding"], "y")]
    assert rule["encoding"]["x"]["field"] == "lo" and rule["encoding"]["x2"]["field"] == "hi"
    assert point["encoding"]["y"]["axis"]["labels"] is True
    rows = _rows(spec, point)
    r = rows[0]
    assert r["hi"] - r["blup"] == pytest.approx(1.96 * r["condsd"])
    _assert_tooltips(spec)
    data, big = many
    spec = C.caterpillar_chart(big.ranef, max_groups=100).to_dict()
    point = [u for u in spec["hconcat"][1]["layer"] if _mark(u) == "point"][0]
    assert point["encoding"]["y"]["axis"]["labels"] is False  # 100 labels would not be readable
    assert len(_rows(spec, point)) == 100
    assert "showing 100 of 200" in str(spec["hconcat"][1]["title"])


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
    at = _run(tmp_path, view="landscape", model=model)
    if model == "intercept":
        assert any("has 2 minima" in w.value for w in at.warning)
    if model == "slope":
        assert any("profiled out" in c.value for c in at.caption)
        assert any("straight path between the two optima" in m.value for m in at.markdown)
        assert any("rises by" in c.value and "54" in c.value for c in at.caption)  # 0.54, Markdown-escaped


def test_effects_view(tmp_path):
    at = _run(tmp_path, view="effects", model="slope")
    assert any("singular" in w.value for w in at.warning)
    assert [d.value for d in at.dataframe][-1]["group"].tolist() == ["1", "2", "3"]
