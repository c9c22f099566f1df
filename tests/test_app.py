"""The Streamlit app through AppTest (no browser): the first screen's numbers and every
control, by widget key; share links; tampered links; downloads; the explore tabs."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import lmmviz
from lmmviz.share import State, decode_state, encode_state, pack_data

APP = Path(__file__).resolve().parents[1] / "app.py"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEED_CSV = lmmviz.data.example_bytes("seed")


def app(params: dict | None = None, timeout: float = 120) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=timeout)
    if params:
        for k, v in params.items():
            at.query_params[k] = v
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def elements(at: AppTest, kind: str) -> list:
    return [n for n in at if getattr(n, "type", None) == kind]


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def codes(at: AppTest) -> list[str]:
    return [c.value for c in at.code]


def summaries(at: AppTest) -> list[str]:
    return [c for c in codes(at) if c.startswith("Linear mixed model fit by")]


def chart_spec(at: AppTest, index: int = 0) -> dict:
    return json.loads(elements(at, "vega_lite_chart")[index].proto.spec)


def layer_names(spec: dict) -> list[str]:
    from lmmviz.charts import layer_names as names

    return names(spec)


def texts(at: AppTest) -> str:
    parts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success"):
        parts += [e.value for e in getattr(at, kind)]
    return "\n".join(parts)


@pytest.fixture(scope="module")
def first() -> AppTest:
    return app()


# --------------------------------------------------------------------------- first screen


def test_first_screen_numbers(first):
    m = metrics(first)
    assert m["Pooled OLS"] == "+7.86"
    assert m["Own OLS, mean"] == "\u22128.23"
    assert m["Random intercept"] == "\u22128.16"
    assert m["Random slope"] == "\u22128.215"
    captions = [c.value for c in first.caption]
    assert "REML 77.4" in captions and "REML 68.1" in captions


def test_first_screen_states_the_paradox_in_one_line(first):
    (line,) = [i.value for i in first.info]
    assert line.startswith("**Simpson's paradox:**")
    for part in ("pooled OLS slope **+7.86**", "**\u22127.47, \u22126.27, \u221210.94**",
                 "random intercept **\u22128.16**", "random slope **\u22128.215**"):
        assert part in line


def test_first_screen_shows_two_lme4_summaries_beside_the_chart(first):
    a, b = summaries(first)
    assert "Formula: pain ~ dosage + (1 | subject_id)" in a
    assert "REML criterion at convergence: 77.4" in a
    assert "Formula: pain ~ dosage + (1 + dosage | subject_id)" in b
    assert "REML criterion at convergence: 68.1" in b
    assert "dosage        -8.215      1.400   2.000  -5.866   0.0279 *" in b  # lmerTest's layout
    spec = chart_spec(first)
    assert layer_names(spec) == ["points", "per_group", "subject_lines", "pooled", "population", "labels_halo",
                                 "labels", "labels_below_halo", "labels_below"]
    assert first.session_state["tab"] == "Fit"
    assert dict(first.query_params) == {}  # the default page has a clean URL


def test_first_screen_tables_and_diagnostics(first):
    slope_table = first.dataframe[0].value
    assert list(slope_table["model"]) == ["Pooled OLS", "Per-subject OLS (mean of 3)", "Random intercept",
                                          "Random slope"]
    assert slope_table["slope"].round(3).tolist() == [7.855, -8.227, -8.157, -8.215]
    assert list(slope_table["direction"]) == ["↗ rises", "↘ falls", "↘ falls", "↘ falls"]
    comparison = first.dataframe[1].value
    assert comparison["AIC"].round(2).tolist() == [pytest.approx(85.41, abs=0.01), pytest.approx(80.07, abs=0.01)]
    (lrt,) = [c for c in codes(first) if c.startswith("Models:")]
    assert "slope        6 94.225  97.135 -41.113   82.225 8.9004  2    0.01168 *" in lrt
    assert any("χ² = 8.90 on 2 df" in c.value.replace("\\", "") for c in first.caption)
    warnings = "\n".join(w.value for w in first.warning)
    assert "Only 3 groups" in warnings
    assert not first.error


def test_downloads_are_offered(first):
    labels = [b.proto.label for b in elements(first, "download_button")]
    assert labels == ["Data (CSV)", "Results (JSON)", "Summaries (text)", "Chart (PNG)", "Chart (SVG)",
                      "R script (lme4)", "Python script"]


def test_the_share_link_is_shown(first):
    link = [c for c in codes(first) if c.startswith("http")]
    assert link == ["http://localhost:8501/"]


def test_a_rerun_fits_nothing_again(first, monkeypatch):
    """A rerun of an unchanged page takes every fit from the cache: no optimizer runs (how fast
    that is, is measured in benchmarks/, not asserted here)."""
    from lmmviz import fitting

    calls = []
    real = fitting.optimize
    monkeypatch.setattr(fitting, "optimize", lambda *a, **k: calls.append(1) or real(*a, **k))
    run(first)
    run(first)
    assert calls == [] and first.session_state["lmmviz_timing"] > 0


# --------------------------------------------------------------------------- data sources


def test_preset_source():
    at = app()
    at.selectbox(key="src").set_value("preset")
    run(at)
    at.selectbox(key="preset").set_value("many_subjects")
    run(at)
    assert at.query_params["src"] == "preset" and at.query_params["preset"] == "many_subjects"
    assert "Number of obs: 1000, groups:  subject_id, 200" in summaries(at)[0]
    assert "200 of 200 negative" in at.info[0].value
    want = lmmviz.fit(lmmviz.frame_to_data(lmmviz.simulate(lmmviz.PRESETS["many_subjects"])), "slope")
    assert metrics(at)["Random slope"] == lmmviz.charts.signed(want.slope)


@pytest.mark.parametrize("preset", ["classic", "no_confounding", "few_subjects", "varying_slopes", "singular"])
def test_every_preset_renders(preset):
    at = app({"src": "preset", "preset": preset})
    data = lmmviz.frame_to_data(lmmviz.simulate(lmmviz.PRESETS[preset]))
    assert f"groups:  subject_id, {lmmviz.per_group_ols(data).shape[0]}" in summaries(at)[0]


def test_simulator_controls():
    at = app({"tab": "data"})
    at.selectbox(key="src").set_value("sim")
    run(at)
    at.number_input(key="sim_n").set_value(6)
    run(at)
    at.slider(key="sim_cf").set_value(0.0)
    run(at)
    at.number_input(key="sim_seed").set_value(42)
    run(at)
    q = at.query_params
    assert q["src"] == "sim" and q["n"] == "6" and q["cf"] == "0" and q["seed"] == "42"
    settings = lmmviz.SimulationSettings(n_subjects=6, confounding=0.0, seed=42)
    data = lmmviz.frame_to_data(lmmviz.simulate(settings))
    at.session_state["tab"] = "Fit"
    run(at)
    want = lmmviz.fit(data, "intercept")
    assert f"REML {want.criterion:.1f}" in [c.value for c in at.caption]
    assert "python -m lmmviz simulate --n-subjects 6" in "\n".join(codes(elements_tab(at, "data")))


def elements_tab(at, tab):
    labels = {"data": "Data"}
    at.session_state["tab"] = labels[tab]
    run(at)
    return at


def test_moving_a_simulator_control_on_a_preset_switches_to_the_simulator():
    at = app({"src": "preset", "preset": "classic", "tab": "data"})
    assert at.number_input(key="sim_n").value == 5  # the preset's settings are shown
    at.number_input(key="sim_n").set_value(7)
    run(at)
    assert at.selectbox(key="src").value == "sim"
    assert at.query_params["n"] == "7" and at.query_params["m"] == "6" and at.query_params["seed"] == "7"


def test_upload_with_guessed_columns_and_mapping():
    at = app({"tab": "data"})
    raw = (FIXTURES / "sleepstudy.csv").read_bytes()
    at.file_uploader(key="upload").set_value(("sleep.csv", raw, "text/csv"))
    run(at)
    assert at.selectbox(key="src").value == "upload"
    assert (at.selectbox(key="map_g").value, at.selectbox(key="map_x").value,
            at.selectbox(key="map_y").value) == ("Subject", "Days", "Reaction")
    assert "180 rows used, none dropped" in texts(at)
    data = lmmviz.load(raw, y="Reaction", x="Days", group="Subject")
    want = lmmviz.fit(data, "slope")
    at.session_state["tab"] = "Fit"
    run(at)
    assert f"REML {want.criterion:.1f}" in [c.value for c in at.caption]
    assert summaries(at)[1].startswith("Linear mixed model fit by REML")
    assert "Reaction ~ Days + (1 + Days | Subject)" in summaries(at)[1]
    # 180 rows travel in the link (up to 200 do), with the mapping
    q = at.query_params
    assert q["src"] == "upload" and (q["y"], q["x"], q["g"]) == ("Reaction", "Days", "Subject")
    twin = app(dict(q))
    assert summaries(twin) == summaries(at)


def test_upload_too_large_for_the_link():
    at = app({"tab": "data"})
    raw = (FIXTURES / "chickweight.csv").read_bytes()
    at.file_uploader(key="upload").set_value(("chicks.csv", raw, "text/csv"))
    run(at)
    assert "578 rows used" in texts(at)
    q = at.query_params
    assert q["src"] == "upload" and "data" not in q and (q["y"], q["x"], q["g"]) == ("weight", "Time", "Chick")
    assert any("does not travel in the link" in c.value for c in at.caption)


def test_upload_gzip_tsv_and_remap_columns():
    at = app({"tab": "data"})
    tsv = "who\tday\tscore\tother\n" + "".join(
        f"s{i % 4}\t{i % 5}\t{10 + (i % 5) * 2 + (i % 4) * 3 + (i % 3) * 0.1}\t{i}\n" for i in range(40))
    at.file_uploader(key="upload").set_value(("d.tsv.gz", gzip.compress(tsv.encode()), "application/gzip"))
    run(at)
    assert "40 rows used" in texts(at)
    at.selectbox(key="map_y").set_value("other")
    run(at)
    assert at.query_params["y"] == "other"
    assert "data" in at.query_params  # 40 rows travel in the link


def test_bad_upload_shows_one_line_and_the_app_stays_usable():
    at = app({"tab": "data"})
    at.file_uploader(key="upload").set_value(("image.csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "text/csv"))
    run(at)
    (err,) = [e.value for e in at.error]
    assert "PNG image" in err and "Showing the seed example instead" in err and "\n" not in err
    # the seed is shown meanwhile, and a good file recovers
    at.file_uploader(key="upload").set_value(("seed.csv", SEED_CSV, "text/csv"))
    run(at)
    assert not at.error
    at.session_state["tab"] = "Fit"
    run(at)
    assert metrics(at)["Random slope"] == "\u22128.215"


def test_user_strings_are_never_markup():
    evil_x = "![x](http://example.invalid/x.png)"
    evil_y = "<script>alert(1)</script>"
    rows = "".join(f"<b>s{i % 3}</b>,{i % 4},{10 + i % 4 + (i % 3) * 5}\n" for i in range(24))
    raw = f"grp :red[g] [link](http://example.invalid),{evil_x},{evil_y}\n{rows}".encode()
    at = app({"tab": "data"})
    at.file_uploader(key="upload").set_value(("evil.csv", raw, "text/csv"))
    run(at)
    at.selectbox(key="map_g").set_value("grp :red[g] [link](http://example.invalid)")
    at.selectbox(key="map_x").set_value(evil_x)
    at.selectbox(key="map_y").set_value(evil_y)
    run(at)
    assert "24 rows used" in texts(at)
    for tab in ("Data", "Fit"):
        at.session_state["tab"] = tab
        run(at)
        shown = texts(at) + "\n".join(w.label for w in at.text_input) + "\n".join(m.label for m in at.metric)
        assert not re.search(r"(?<!\\)<(script|b>)", shown)
        assert not re.search(r"(?<!\\)!(?!\\)\[", shown) and "](http" not in shown
        assert not re.search(r"(?<!\\):red(?!\\)\[", shown)
    assert not at.exception and not [e for e in at.error]


def test_upload_with_unusable_column_choice():
    at = app({"tab": "data"})
    raw = b"name,age,city\nann,3,rome\nbob,4,oslo\nann,5,rome\nbob,7,oslo\n"
    at.file_uploader(key="upload").set_value(("p.csv", raw, "text/csv"))
    run(at)
    assert at.error and "seed example" in at.error[0].value
    assert not at.exception


def test_edited_data_from_a_link():
    frame = lmmviz.seed().frame.copy()
    frame.loc[frame["subject_id"] == "3", "pain"] -= 300  # move one subject down
    csv = frame.to_csv(index=False)
    at = app({"src": "edited", "data": pack_data(csv), "y": "pain", "x": "dosage", "g": "subject_id"})
    want = lmmviz.fit(lmmviz.load(csv.encode(), y="pain", x="dosage", group="subject_id"), "intercept")
    assert metrics(at)["Random intercept"] == lmmviz.charts.signed(want.slope)
    assert "Data: edited" in summaries(at)[0]


def test_editor_edits_become_the_edited_source():
    from lmmviz.ui.data_tab import apply_edits

    base = lmmviz.seed().frame
    delta = {"edited_rows": {0: {"pain": 150.0}}, "added_rows": [{"subject_id": "4", "dosage": 60.0, "pain": 10.0},
                                                                 {"subject_id": "4"}],
             "deleted_rows": [11]}
    out = apply_edits(base, delta)
    assert len(out) == 13 and out.loc[0, "pain"] == 150.0
    assert list(out.iloc[-2]) == ["4", 60.0, 10.0]
    data = lmmviz.load(out.to_csv(index=False).encode(), y="pain", x="dosage", group="subject_id")
    assert data.dropped == {"missing value": 1} and data.n_obs == 12
    # the editor is on the Data tab, with the current data
    at = app({"tab": "data"})
    editors = [d for d in at.dataframe if d.editing_mode == "dynamic"]
    assert len(editors) == 1 and len(editors[0].value) == 12


# --------------------------------------------------------------------------- models and fitting


def test_model_checkboxes():
    at = app()
    at.checkbox(key="model_slope").uncheck()
    at.checkbox(key="model_within_between").check()
    run(at)
    assert at.query_params["models"] == "pooled,per_group,intercept,within_between"
    m = metrics(at)
    assert m["Within"] == "\u22128.23" and m["Between"] == "+7.90" and "Random slope" not in m
    assert [s.splitlines()[1] for s in summaries(at)] == [
        "Formula: pain ~ dosage + (1 | subject_id)",
        "Formula: pain ~ dosage_within + dosage_mean + (1 | subject_id)"]
    at.checkbox(key="model_pooled").uncheck()
    at.checkbox(key="model_per_group").uncheck()
    run(at)
    assert "pooled" not in layer_names(chart_spec(at)) and "per_group" not in layer_names(chart_spec(at))
    for m in ("intercept", "within_between"):
        at.checkbox(key=f"model_{m}").uncheck()
    run(at)
    assert at.query_params["models"] == "none" and not summaries(at)
    assert layer_names(chart_spec(at)) == ["points"]


def test_within_between_refusal_is_shown_and_the_rest_carries_on():
    csv = "g,x,y\na,1,5\na,2,4\na,3,3.5\nb,1,9\nb,2,7.5\nb,3,7\nc,1,2\nc,2,1.5\nc,3,0.2\n"
    at = app({"src": "edited", "data": pack_data(csv), "models": "intercept,within_between"})
    assert any("not fitted" in w.value for w in at.warning)
    assert metrics(at)["Within-between"] == "\u2014"
    assert len(summaries(at)) == 1


def test_reml_and_ml():
    at = app()
    at.radio(key="method").set_value("ML")
    run(at)
    assert at.query_params["ml"] == "1"
    a, b = summaries(at)
    assert a.startswith("Linear mixed model fit by maximum likelihood")
    want = lmmviz.fit(lmmviz.seed(), "intercept", reml=False)
    assert f"\u22122 logLik {want.criterion:.1f}" in [c.value for c in at.caption]


def test_a_local_optimum_optimizer_is_flagged():
    at = app()
    at.selectbox(key="opt").set_value("pybobyqa")
    run(at)
    assert at.query_params["opt"] == "pybobyqa"
    assert metrics(at)["Random slope"] == "+7.20"
    assert "REML criterion at convergence: 101.3" in summaries(at)[1]
    problems = "\n".join(e.value for e in at.error).replace("\\", "").replace("*", "")
    assert "Local optimum" in problems
    # what happened, with the numbers of both fits; what to do
    from lmmviz.report import plain_number

    stuck, best = lmmviz.fit(lmmviz.seed(), "slope", optimizer="pybobyqa"), lmmviz.fit(lmmviz.seed(), "slope")
    assert (f"stopped at REML {plain_number(stuck.criterion)}, but the robust default found a lower criterion, "
            f"{plain_number(best.criterion)}, with the opposite slope of dosage "
            f"({plain_number(best.slope, sign=True)} instead of {plain_number(stuck.slope, sign=True)})") in problems
    assert "What to do: Report the lower one: refit with the robust default" in problems
    assert "Singular fit" in "\n".join(w.value for w in at.warning)
    assert "Correlation of ±1" in "\n".join(w.value for w in at.warning)
    # the random intercept is fine with Py-BOBYQA
    assert metrics(at)["Random intercept"] == "\u22128.16"
    assert "REML 101.3 · local optimum" in [c.value for c in at.caption]
    at.button(key="use_robust").click()
    run(at)
    assert at.selectbox(key="opt").value == "robust" and "opt" not in at.query_params
    assert metrics(at)["Random slope"] == "\u22128.215" and not at.error


def test_robust_fit_stopped_by_the_time_limit_says_so(monkeypatch):
    """A fit that hits the safety time limit says so in the Fit tab: the clock of lmmviz's
    optimizers jumps 100 s at every reading, far past the app's 20 s (APP_MAX_SECONDS)."""
    import types

    import streamlit as st

    from lmmviz import fitting, optimizers

    now = [0.0]

    def clock() -> float:
        now[0] += 100.0
        return now[0]

    fake = types.SimpleNamespace(perf_counter=clock)
    monkeypatch.setattr(fitting, "time", fake)
    monkeypatch.setattr(optimizers, "time", fake)
    st.cache_data.clear()
    try:
        at = app({"models": "intercept,slope"})
    finally:
        st.cache_data.clear()  # later tests must not be served these fits from the cache
    problems = "\n".join(e.value for e in at.error).replace("\\", "")
    assert "Stopped by the time limit" in problems
    assert "stopped by the time limit: the result may be a local optimum" in problems
    assert "All 10 of its optimizer runs were cut short" in problems
    # the likelihood-ratio test's ML refits have no diagnostics panel: the test says it itself
    assert ("ML refits of the random intercept and random slope models were stopped by the time limit"
            in problems)
    # the optimizer settings say what the limit means
    assert any("A fit still running after 20 seconds is stopped as a safety" in c.value for c in at.caption)


@pytest.mark.parametrize("optimizer", ["scipy_nelder_mead", "nlopt_neldermead"])
def test_other_optimizers_that_stop_at_101(optimizer):
    at = app({"opt": optimizer, "models": "slope"})
    assert metrics(at)["Random slope"] == "+7.20"
    assert "got stuck in a local optimum" in "\n".join(e.value for e in at.error)


def test_optimizer_settings():
    at = app({"models": "slope", "opt": "nlopt_bobyqa"})
    at.text_input(key="start").set_value("300, 0, 1")
    at.text_input(key="step").set_value("50")
    at.text_input(key="ftol").set_value("1e-10")
    at.number_input(key="maxeval").set_value(2000)
    run(at)
    q = at.query_params
    assert (q["start"], q["step"], q["ftol"], q["maxeval"]) == ("300,0,1", "50", "1e-10", "2000")
    s = lmmviz.OptimizerSettings(start=(300.0, 0.0, 1.0), initial_step=50.0, ftol_abs=1e-10, maxeval=2000,
                                 max_seconds=20.0)
    want = lmmviz.fit(lmmviz.seed(), "slope", optimizer="nlopt_bobyqa", settings=s)
    # nlopt_bobyqa stops at 68.12 on the flat ridge, 0.046 short of the robust default's 68.07
    assert f"REML {want.criterion:.1f} · stopped short" in [c.value for c in at.caption]
    at.text_input(key="start").set_value("abc")
    at.text_input(key="xtol").set_value("-3")
    run(at)
    assert "start" not in at.query_params and "xtol" not in at.query_params
    assert any("Start θ must be" in c.value for c in at.caption)


def test_layers_and_highlight():
    at = app()
    at.button_group(key="layers").set_value(["points", "pooled"])
    run(at)
    assert at.query_params["layers"] == "points,pooled"
    assert layer_names(chart_spec(at)) == ["points", "pooled", "labels_halo", "labels"]
    at.selectbox(key="sel").set_value("2")
    run(at)
    assert at.query_params["sel"] == "2"
    pick = next(p for p in chart_spec(at)["params"] if p["name"] == "pick")
    assert pick["value"] == [{"subject": "2"}]


def test_axis_labels():
    at = app({"tab": "data"})
    at.text_input(key="xlab").set_value("dose (mg)")
    at.text_input(key="ylab").set_value("pain (VAS)")
    run(at)
    assert at.query_params["xlab"] == "dose (mg)"
    at.session_state["tab"] = "Fit"
    run(at)
    enc = chart_spec(at)["layer"][0]["encoding"]
    assert enc["x"]["title"] == "dose (mg)" and enc["y"]["title"] == "pain (VAS)"


def test_summary_tables_view():
    at = app()
    at.button_group(key="sumview").set_value("Tables")
    run(at)
    assert not summaries(at)
    frames = [d.value for d in at.dataframe]
    fixef = [f for f in frames if "Estimate" in f.columns]
    assert fixef[1]["Estimate"].round(3).tolist() == [542.986, -8.215]
    vc = [f for f in frames if "Std.Dev." in f.columns]
    assert round(vc[1]["Corr"].dropna().iloc[0], 2) == -0.81
    assert fixef[1]["df"].round(2).tolist() == [2.0, 2.0]  # lmerTest's Satterthwaite df


def test_how_sure_gives_each_slope_its_interval_df_and_p():
    """Wald by default, lme4's profile on demand (the issue's numbers for the seed's random slope)."""
    at = app()
    words = "\n".join(m.value for m in at.markdown).replace("\\", "")
    assert "95% CI −10.96 to −5.47 (wald); with only 3 subjects, df = 2.0, p = 0.028" in words
    assert "df = 8.1, p < 0.001" in words  # the random intercept
    at.button_group(key="ci_method").set_value("Profile")
    run(at)
    words = "\n".join(m.value for m in at.markdown).replace("\\", "")
    assert "95% CI −11.40 to −5.02 (profile)" in words


# --------------------------------------------------------------------------- share links


@pytest.mark.parametrize("state", [
    State(opt="pybobyqa", models=("pooled", "slope"), ml=True, sel="3", layers=("points", "population")),
    State(src="preset", preset="varying_slopes", models=("intercept", "uncorrelated"), tab="data"),
    State(src="sim", sim=lmmviz.SimulationSettings(n_subjects=5, n_obs=3, confounding=4.0, seed=9),
          start=(1.0, 0.0, 1.0), maxeval=900, xlab="dose", ylab="pain"),
    State(src="upload", data=SEED_CSV.decode(), y="pain", x="dosage", g="subject_id", sel="1"),
])
def test_share_link_reproduces_the_page(state):
    params = encode_state(state)
    at = app(params)
    assert not at.warning or all("could not be used" not in w.value for w in at.warning)
    # the page's state, read back from its widgets and URL, is the link's state
    assert dict(at.query_params) == params
    back, notices = decode_state(dict(at.query_params))
    assert back == state and notices == []
    assert at.selectbox(key="opt").value == state.opt
    assert at.radio(key="method").value == ("ML" if state.ml else "REML")
    for m in lmmviz.share.MODEL_KEYS:
        assert at.checkbox(key=f"model_{m}").value == (m in state.models)
    # a second browser with the same link sees the same numbers
    twin = app(params)
    if state.tab == "fit":
        assert metrics(twin) == metrics(at) and summaries(twin) == summaries(at)


def test_tampered_link_falls_back_with_a_visible_notice():
    at = app({"opt": "<script>alert(1)</script>", "n": "lots", "src": "sim", "models": "slope,bogus",
              "tab": "nowhere", "evil": "1", "data": "%%%"})
    notice = "\n".join(w.value for w in at.warning)
    assert "Parts of the link could not be used" in notice
    assert "<script>" not in notice  # quoted with Markdown escapes, never as HTML
    assert at.selectbox(key="opt").value == "robust"
    assert at.session_state["tab"] == "Fit"
    assert at.query_params["models"] == "slope" and at.query_params["src"] == "sim"
    at.button(key="dismiss_notices").click()
    run(at)
    assert not any("could not be used" in w.value for w in at.warning)


def test_large_upload_link_asks_to_upload_again():
    at = app({"src": "upload", "y": "Reaction", "x": "Days", "g": "Subject"})
    assert any("upload the file again" in w.value for w in at.warning)
    assert metrics(at)["Random slope"] == "\u22128.215"  # the seed meanwhile


# --------------------------------------------------------------------------- explore tabs


def test_compare_optimizers_tab():
    at = app({"tab": "compare"})
    assert at.session_state["tab"] == "Compare optimizers"
    warn = "\n".join(w.value for w in at.warning)
    assert "The optimizers disagree" in warn and "**68.07**" in warn and "**101.34**" in warn
    table = [d.value for d in at.dataframe if "optimizer" in d.value.columns][0]
    # the five lme4 twins, the ten library optimizers and the robust default
    assert len(table) == 16
    best = table[table["verdict"] == "best"]
    assert set(best["optimizer"]) == {"lme4:nloptwrap.NLOPT_LN_BOBYQA", "nlopt_bobyqa", "nlopt_newuoa",
                                      "nlopt_sbplx", "scipy_powell", "robust"}
    # the question: lme4's bobyqa stops at the local optimum 101.34
    assert table.set_index("optimizer").loc["lme4:bobyqa", "verdict"] == "local optimum"
    at.radio(key="cmp_start").set_value("estimate")
    run(at)
    assert "All optimizers agree" in "\n".join(s.value for s in at.success)


def test_landscape_tab():
    at = app({"tab": "landscape"})
    assert at.selectbox(key="ls_model").value == "slope"
    assert len(elements(at, "vega_lite_chart")) >= 2
    assert any("rises by" in c.value for c in at.caption)
    at.selectbox(key="ls_model").set_value("intercept")
    run(at)
    assert any("2 minima" in w.value for w in at.warning)


def test_random_effects_tab():
    at = app({"tab": "effects"})
    assert at.selectbox(key="re_model").value == "slope"
    assert len(elements(at, "vega_lite_chart")) == 2
    ranef = at.dataframe[-1].value
    assert list(ranef["group"]) == ["1", "2", "3"]


def test_tour_steps_set_the_state_like_their_links():
    from lmmviz import tour

    at = app({"tab": "tour"})
    at.button(key="tour_go_3").click()
    run(at)
    step = tour.step(3)
    assert decode_state(dict(at.query_params)) == decode_state(step.params)  # as its link sets it
    assert metrics(at)["Random slope"] == "+7.20"
    assert "Tour, step 3 of 7" in texts(at)
    at.button(key="tour_next_banner").click()
    run(at)
    assert at.query_params["tour"] == "4" and at.session_state["tab"] == "Landscape"
    at.button(key="tour_end_banner").click()
    run(at)
    assert "tour" not in at.query_params


def test_every_tab_renders_on_many_subjects():
    at = app({"src": "preset", "preset": "many_subjects"})
    for tab in ("Data", "Random effects", "Landscape", "Compare optimizers", "Tour", "Fit"):
        at.session_state["tab"] = tab
        run(at)


# --------------------------------------------------------------------------- downloads


def _page_for(state: State):
    from lmmviz.ui.page import build_page

    page, _ = build_page(state)
    return page


def test_download_builders():
    from lmmviz.ui.downloads import python_script, r_script, recipe, results_dict, summary_bundle

    page = _page_for(State(models=("pooled", "per_group", "intercept", "slope")))
    res = results_dict(page)
    cli_keys = set(lmmviz.fit(lmmviz.seed(), "slope").to_dict())
    assert [set(f) for f in res["fits"]] == [cli_keys, cli_keys]
    assert res["fits"][1]["criterion"] == pytest.approx(68.0749, abs=1e-3)
    assert res["pooled_ols"]["slope"] == pytest.approx(7.855254, abs=1e-6)
    assert [round(r["slope"], 2) for r in res["per_group_ols"]] == [-7.47, -6.27, -10.94]
    text = summary_bundle(page)
    assert "REML criterion at convergence: 77.4" in text and "REML criterion at convergence: 68.1" in text
    assert "Pr(>Chisq)" in text
    rec = recipe(page)
    assert rec.source == "seed" and "pain ~ dosage + (1 + dosage | subject_id)" in r_script(rec)
    assert "lmmviz.seed()" in python_script(rec)


def test_unticked_ols_boxes_take_their_numbers_away():
    """A box unticked in the sidebar removes its big number too, not only its line."""
    at = app({"models": "intercept,slope"})
    m = metrics(at)
    assert "Pooled OLS" not in m and "Own OLS, mean" not in m, m
    assert m["Random intercept"] == "\u22128.16" and m["Random slope"] == "\u22128.215"
    at = app({"models": "pooled,slope"})
    assert list(metrics(at)) == ["Pooled OLS", "Random slope"]


def test_summary_badges_are_separated_and_name_the_optimizer():
    at = app({"models": "slope", "opt": "pybobyqa"})
    (head,) = [m.value for m in at.markdown if m.value.startswith("**Random slope**")]
    from lmmviz.optimizers import optimizer_label
    from lmmviz.ui.tables import md

    assert md(optimizer_label("pybobyqa")) in head
    assert ":red[local optimum] · :orange[singular]" in head, head


def test_first_screen_answers_the_seed_question_in_lme4s_words():
    """lme4's bobyqa stops at +7.20 (REML 101.34, a local optimum it reports as a normal exit);
    lme4's Nelder_Mead and the robust default reach -8.215 (REML 68.07): on the first screen, from
    lme4's stored results for the seed, with whether lmmviz's twin of each lands there too."""
    at = app({})
    (panel,) = [m.value for m in at.markdown if m.value.startswith("- `bobyqa`")]
    bobyqa, nelder_mead, robust = panel.split("\n")
    assert bobyqa.startswith("- `bobyqa` (lme4 1.1.31) → slope **+7.204** · REML 101.34 · :red[**local optimum**]")
    assert "yet it reported “Normal exit from bobyqa”" in bobyqa and "lmmviz's twin lands there too" in bobyqa
    assert nelder_mead.startswith("- `Nelder_Mead` (lme4 1.1.31) → slope **\u22128.215** · REML 68.07 · the best")
    # lmmviz's twin of Nelder_Mead stops elsewhere on this case: said on the page, not hidden
    assert "lmmviz's twin of it stops at 101.34" in nelder_mead
    assert robust == "- lmmviz's robust default → slope **\u22128.215** · REML 68.07 · the lowest criterion found"
    at.button(key="q_bobyqa").click().run()
    assert at.session_state["opt"] == "lme4:bobyqa" and metrics(at)["Random slope"] == "+7.20"


def test_a_long_share_link_stays_one_line_behind_its_copy_button():
    """A link that carries data (an upload of 40 rows) is not wrapped over the sidebar; a short one is."""
    from urllib.parse import parse_qsl

    from lmmviz.share import State, query_string

    short = app({})
    (box,) = short.sidebar.code
    assert box.proto.wrap_lines and len(box.value) < 240
    rows = "\n".join(f"{g},{x},{100 + 3 * g - x}" for g in range(1, 5) for x in range(10))
    at = app(dict(parse_qsl(query_string(State(src="upload", data="subject,dose,pain\n" + rows)))))
    (box,) = at.sidebar.code
    assert len(box.value) > 240 and not box.proto.wrap_lines
    assert any(f"The link is {len(box.value):,} characters long" in c.value for c in at.sidebar.caption)


def test_compare_says_where_lme4_itself_stopped_on_the_seed():
    """Beside the twins, lme4's own criteria for the seed; the Nelder_Mead twin's miss is said."""
    at = app({"tab": "compare", "models": "slope"})
    warn = " ".join(w.value for w in at.warning)
    from lmmviz.ui.tables import md

    assert md("stops elsewhere than lme4 itself: Nelder_Mead (lme4 68.07, twin 101.34).") in warn, warn
    (table,) = [d.value for d in at.dataframe if "lme4 optimizer" in d.value.columns]
    got = dict(zip(table["lme4 optimizer"], table["twin lands there"]))
    assert got == {"bobyqa": "yes", "Nelder_Mead": "no", "optimx.L-BFGS-B": "yes",
                   "nloptwrap.NLOPT_LN_NELDERMEAD": "yes", "nloptwrap.NLOPT_LN_BOBYQA": "yes"}
