"""The explore tabs (issue 4): compare optimizers, the REML landscape, random effects,
and the guided tour. The numbers come from :mod:`lmmviz.landscape` and the engine,
the charts from :mod:`lmmviz.charts_explore`, the tour's text and states from
:mod:`lmmviz.tour`.

Two ways in:

* the app's tabs, fed from its :class:`~lmmviz.ui.page.Page`:
  ``render_compare_tab(page)``, ``render_landscape_tab(page)``,
  ``render_effects_tab(page)``, ``render_tour_tab(page)`` and ``tour_banner(page)``;
* stand-alone views on any data: ``render_compare(data, model, reml, settings,
  current_fit=None)``, ``render_landscape(data, model, reml, settings,
  comparison=None)``, ``render_effects(fit, data)`` and ``render_tour(step)``.

Both draw with the same functions. Expensive results (comparisons, curves, maps,
slices, chart specs) are cached with ``st.cache_data``, keyed on a short data key
(the app's, or a hash of the data computed once per data object) plus plain
settings, and bounded in entries, size and time. Grids show their progress.
"""

from __future__ import annotations

import hashlib
import weakref
from types import MappingProxyType

import numpy as np
import pandas as pd
import streamlit as st

import lmmviz
from lmmviz import charts_explore as charts
from lmmviz import describe, landscape
from lmmviz import tour as tour_text
from lmmviz.charts import MODEL_LABELS, signed
from lmmviz.share import MIXED_MODELS

from . import compute
from .state import go_to_state, queue_state, update_state
from .tables import md

ONE_D = landscape.ONE_D
CMP_STARTS = MappingProxyType({"lme4": "lme4's start (as lme4's allFit in lme4 1.x)",
                               "estimate": "the current estimate (lme4 2.x's allFit default)"})
MAX_LANDSCAPE_GROUPS = 200_000
MAX_MAP_SECONDS = 30.0  # the grid slider stops where a profiled map is expected to take this long
BIG_GROUPS = 2_000  # above this the landscape draws the fit's own runs unless asked for every optimizer
PATHS = MappingProxyType({"all": "every optimizer, from lme4's start", "fit": "this fit's own runs"})
_CACHE = MappingProxyType(dict(ttl=compute.TTL, show_spinner=False))


# --------------------------------------------------------------------------- keys and caches

DATA_KEYS = "lmmviz_data_keys"  # session state: this session's data objects -> their keys


def hash_data(data) -> str:
    """A short hash of the data's values (the columns used and their names). Pure."""
    fr = data.frame[[data.group, data.x, data.y]]
    h = hashlib.sha256(pd.util.hash_pandas_object(fr, index=False).to_numpy().tobytes())
    h.update("|".join((data.group, data.x, data.y)).encode())
    return h.hexdigest()[:24]


def data_key(data) -> str:
    """:func:`hash_data`, computed once per data object and session.

    The memo lives in the session's own state, not in the module: sessions never share
    it, and a session runs one script at a time, so it needs no lock. (A memo shared by
    all sessions would be written by their threads at once.)"""
    memo = st.session_state.get(DATA_KEYS)
    if memo is None:
        memo = st.session_state[DATA_KEYS] = weakref.WeakKeyDictionary()
    try:
        return memo[data]
    except (KeyError, TypeError):  # TypeError: an object that cannot be weakly referenced
        pass
    key = hash_data(data)
    try:
        memo[data] = key
    except TypeError:
        pass
    return key


@st.cache_data(max_entries=16, ttl=compute.TTL, show_spinner=False)
def _cmp_frame(key, _comparison):
    return landscape.comparison_frame(_comparison)


class _Miss(Exception):
    """Raised inside a cached function on a probe: the result is not cached yet."""


@st.cache_data(max_entries=12, max_size="300MB", **_CACHE)
def _curve_cache(key, _data, model, reml, _paths, theta_range, n, _result=None, _probe=False):
    if _probe:
        raise _Miss  # exceptions are not cached: the next call computes
    if _result is not None:
        return _result
    return landscape.curve_1d(_data, model, reml=reml, theta_range=theta_range, n=n, paths=_paths)


@st.cache_data(max_entries=12, max_size="300MB", **_CACHE)
def _map_cache(key, _data, model, reml, n, x_range, y_range, third, held_theta, _paths, _result=None,
               _probe=False):
    if _probe:
        raise _Miss
    if _result is not None:
        return _result
    return landscape.map_2d(_data, model, reml=reml, nx=n, ny=n, x_range=x_range, y_range=y_range,
                            third=third, held_theta=held_theta, paths=_paths)


def _cached_with_progress(cached, compute_fn, text: str, *args):
    """``cached(*args)`` from ``st.cache_data``, computing a miss outside the cache so
    that a progress bar can follow it. (An element updated inside a cached function
    cannot be replayed, so the cache is probed, then filled with the result.)"""
    try:
        return cached(*args, _probe=True)
    except _Miss:
        pass
    bar = st.progress(0.0, text=text)
    try:
        result = compute_fn(lambda x: bar.progress(min(max(float(x), 0.0), 1.0), text=text))
    finally:
        bar.empty()
    return cached(*args, _result=result)


def _curve(key, data, model, reml, paths, theta_range, n):
    return _cached_with_progress(
        _curve_cache,
        lambda cb: landscape.curve_1d(data, model, reml=reml, theta_range=theta_range, n=n, paths=paths,
                                      progress=cb),
        "Computing the criterion curve…", key, data, model, reml, paths, theta_range, n)


def _map(key, data, model, reml, n, x_range, y_range, third, held_theta, paths, text="Computing the map…"):
    return _cached_with_progress(
        _map_cache,
        lambda cb: landscape.map_2d(data, model, reml=reml, nx=n, ny=n, x_range=x_range, y_range=y_range,
                                    third=third, held_theta=held_theta, paths=paths, progress=cb),
        text, key, data, model, reml, n, x_range, y_range, third, held_theta, paths)


@st.cache_data(max_entries=12, **_CACHE)
def _slice(key, _data, model, reml, theta_a, theta_b, label_a, label_b):
    return landscape.slice_between(_data, theta_a, theta_b, model=model, reml=reml, label_a=label_a,
                                   label_b=label_b)


@st.cache_data(max_entries=32, max_size="200MB", **_CACHE)
def _spec(key, _make) -> dict:
    """A chart's Vega-Lite spec, built once per key (``to_dict`` of a large map is slow)."""
    import altair as alt

    with alt.data_transformers.disable_max_rows():
        return _make().to_dict(validate=False)


def _chart(key, make, alt: str, table: pd.DataFrame | None = None, width: str = "content") -> None:
    """A chart with its text alternative (what it shows, in numbers) and, for a screen reader
    or a student who wants the numbers, the data behind it as a table."""
    # the spec's description is the chart's accessible name (alt= as well would log a warning per run)
    st.vega_lite_chart(spec={**_spec(key, make), "description": alt}, width=width)
    if table is not None and len(table):
        with st.expander("The numbers behind this chart"):
            st.dataframe(table, hide_index=True, width="stretch")


@st.cache_data(max_entries=8, **_CACHE)
def _checked(number: int) -> list[tuple[str, bool]]:
    return [(c.says, ok) for c, ok in tour_text.check(tour_text.step(number))]


# --------------------------------------------------------------------------- shared pieces


def _defaults(**values) -> None:
    """First values of view widgets, set as session state rather than as ``value=``: the
    page writes every widget value back each run (state.keep_widget_values), and a widget
    given both a ``value=`` and a session-state value makes Streamlit warn."""
    for key, value in values.items():
        st.session_state.setdefault(key, value)


def _model_choice(page, key: str, label: str, prefer=("slope", "intercept")) -> str:
    ss = st.session_state
    options = list(MIXED_MODELS)
    if ss.get(key) not in options:
        chosen = [m for m in page.state.mixed_models]
        default = next((m for m in prefer if m in chosen), chosen[0] if chosen else prefer[0])
        ss[key] = default
    st.selectbox(label, options, key=key, format_func=MODEL_LABELS.get)
    return ss[key]


def _start_radio(key: str, has_estimate: bool = True) -> str:
    options = list(CMP_STARTS) if has_estimate else ["lme4"]
    if st.session_state.get(key) not in options:
        st.session_state[key] = "lme4"
    st.radio("Start from", options, key=key, format_func=CMP_STARTS.get,
             help="lme4's allFit runs every optimizer from one start: lme4 1.x from its own start, "
                  "lme4 2.x from the fitted estimate.")
    mode = st.session_state[key]
    if mode == "estimate":
        st.caption(":material/warning: Starting at an optimum can hide a better one: every optimizer is "
                   "already at a minimum there, so they all agree. Switch to lme4's start to see the split.")
    return mode


# --------------------------------------------------------------------------- compare


def _compare_view(comparison, frame: pd.DataFrame, x_name: str, key: tuple) -> None:
    """Verdict in words, dot plot, table grouped by optimum, traces."""
    groups = frame[frame["optimum"] > 0].groupby("optimum")
    parts = []
    for _, g in groups:
        best = g.loc[g["criterion"].idxmin()]
        parts.append(f"**{len(g)}** reached **{best['criterion']:.2f}** (slope {signed(best['slope'])})")
    failed = int((frame["verdict"] == "failed").sum())
    not_run = int((frame["verdict"] == "not run").sum())
    text = "; ".join(parts) + (f"; {failed} failed" if failed else "") + (
        f"; {not_run} not run (see the table)" if not_run else "") + "."
    if len(parts) > 1:
        st.warning(f"The optimizers disagree: {text} The lowest criterion is the estimate; the others stopped "
                   "at local optima, although each reported success.", icon=":material/call_split:")
    else:
        st.success(f"All optimizers agree: {text}", icon=":material/check_circle:")
    _chart(("dot",) + key, lambda: charts.compare_dotplot(frame, x_name=x_name),
           alt=describe.compare_alt(frame, x_name))
    cols = ["optimizer", "optimum_label", "verdict", "criterion", "slope", "message", "label", "sigma",
            "sd_intercept", "sd_slope", "corr", "evaluations", "seconds", "singular"]
    ordered = frame.sort_values("order", kind="stable") if "order" in frame else frame
    shown = ordered[[c for c in cols if c in frame.columns]].rename(columns={
        "optimum_label": "optimum", "label": "library: algorithm", "slope": f"{x_name} slope",
        "sigma": "σ", "sd_intercept": "SD intercept", "sd_slope": "SD slope"})
    st.dataframe(shown, hide_index=True, width="stretch", column_config={
        "criterion": st.column_config.NumberColumn(format="%.4f"),
        f"{x_name} slope": st.column_config.NumberColumn(format="%+.4f"),
        "σ": st.column_config.NumberColumn(format="%.4g"),
        "SD intercept": st.column_config.NumberColumn(format="%.4g"),
        "SD slope": st.column_config.NumberColumn(format="%.4g"),
        "corr": st.column_config.NumberColumn(format="%.3f"),
        "seconds": st.column_config.NumberColumn(format="%.3f"),
    })
    st.caption(_same_everywhere_note())
    st.markdown("### Traces: the criterion at every evaluation")
    c1, c2 = st.columns(2)
    log = c1.toggle("Log scale (criterion above the best)", key="trace_log")
    best_so_far = c2.toggle("Best so far", key="trace_best")
    paths = landscape.optimizer_paths(comparison)
    if len(paths.frame):
        ends = paths.ends[paths.ends["point"] == "end"]
        _chart(("trace", log, best_so_far) + key, lambda: charts.trace_chart(paths, log=log, best_so_far=best_so_far),
               alt=describe.trace_alt(paths), table=ends[["run", "evaluations", "criterion"]], width="stretch")
        st.caption("Each line is one optimizer's fit log: its criterion at every evaluation, in order. Click a "
                   "legend entry to pick one out.")


def _same_everywhere_note() -> str:
    from lmmviz.optimizers import REGISTRY

    other = [info.label for info in REGISTRY.values() if not info.same_everywhere]
    return ("Every number here is the same on any computer, except the evaluations and last digits of "
            + ", ".join(other[:-1]) + " and " + other[-1] + ": they do their own linear algebra through "
            "the computer's BLAS, which differs between processors.")


def render_compare(data, model: str, reml: bool = True, settings=None, current_fit=None,
                   data_key_: str | None = None, x_name: str | None = None):
    """Every registered optimizer from one start on ``data``: verdict, dot plot, table,
    traces. Returns the Comparison, or None when it failed."""
    key = data_key_ or data_key(data)
    mode = _start_radio(f"cmp_start_{model}", current_fit is not None)
    start = tuple(current_fit.theta) if mode == "estimate" and current_fit is not None else None
    with st.spinner(f"Running every optimizer on the {MODEL_LABELS[model].lower()} model…"):
        comparison, err = compute.compare(key, data, model, compute.compare_settings(settings, start, reml))
    if comparison is None:
        st.error(md(f"The comparison failed: {err}"))
        return None
    ckey = (key, model, reml, start)
    _compare_view(comparison, _cmp_frame(ckey, comparison), x_name or data.x, ckey)
    return comparison


def _comparison(page, model: str, start_mode: str):
    start = None
    if start_mode == "estimate":
        ft = page.fits.get(model)
        if ft is None:
            ft = compute.fit_model(page.loaded, model, compute.fit_settings(page.state, model)).fit
        start = None if ft is None else tuple(ft.theta)
    settings = compute.compare_settings(page.state.settings, start)
    with st.spinner(f"Running every optimizer on the {MODEL_LABELS[model].lower()} model…"):
        return compute.compare(page.loaded.key, page.data, model, settings), start


def render_compare_tab(page) -> None:
    st.markdown("## Every optimizer, from the same start")
    st.caption("As lme4's allFit(): every optimizer runs once from the same θ. First lme4's own optimizers, by "
               "allFit's names and in its order (lmmviz's twins of them: the same library algorithm with lme4's "
               "settings), then lmmviz's library optimizers and its robust default. Those that stop at a higher "
               "criterion than the best are at a local optimum, even when they report success.")
    c1, c2, c3 = st.columns([1, 1.4, 1])
    with c1:
        model = _model_choice(page, "cmp_model", "Model")
    with c2:
        start_mode = _start_radio("cmp_start")
    (comparison, err), start = _comparison(page, model, start_mode)
    if comparison is None:
        st.error(md(f"The comparison failed: {err}"))
        return
    with c3:
        st.metric("Start θ", ", ".join(f"{t:.4g}" for t in comparison.start))
    key = (page.loaded.key, model, page.state.reml, start)
    _compare_view(comparison, _cmp_frame(key, comparison), page.x_title, key)
    if page.loaded.key == "seed" and start_mode == "lme4":
        _twin_check(comparison, lmmviz.data.seed_lme4(model, page.state.reml))


def _twin_check(comparison, said: dict) -> None:
    """Where lme4 itself stopped on the seed, beside each twin: a twin that lands elsewhere
    is a defect of lmmviz, said on the page."""
    if not said:
        return
    rows, off = [], []
    for e in comparison.entries:
        if e.family != "lme4" or e.fit is None or e.name not in said:
            continue
        r = said[e.name]
        same = abs(e.fit.criterion - r.criterion) <= 0.02
        rows.append({"lme4 optimizer": e.name, f"lme4 {r.lme4_version}: criterion": r.criterion,
                     "lme4: slope": r.slope, "lmmviz's twin: criterion": e.fit.criterion,
                     "twin lands there": "yes" if same else "no"})
        if not same:
            off.append(f"{e.name} (lme4 {r.criterion:.2f}, twin {e.fit.criterion:.2f})")
    st.markdown("### lme4 itself, on these data")
    if off:
        st.warning(md("Where lmmviz's twin of an lme4 optimizer stops elsewhere than lme4 itself: " + ", ".join(off)
                      + ". A known difference of the library algorithm behind the twin (listed in docs/engine.md, “Known "
                      "differences of the twins”); the "
                      "lme4 column is what lme4 1.1-31 reports."), icon=":material/difference:")
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", column_config={
        c: st.column_config.NumberColumn(format="%.4f") for c in rows[0] if "criterion" in c or "slope" in c}
        if rows else None)


# --------------------------------------------------------------------------- landscape


def _paths(data, key: str, model: str, reml: bool, settings, comparison, current_fit, n_groups: int):
    """Which paths to draw (every optimizer, or this fit's runs), and the comparison."""
    options = list(PATHS) if current_fit is not None else ["all"]
    if st.session_state.get("ls_paths") not in options:
        st.session_state["ls_paths"] = "fit" if (n_groups > BIG_GROUPS and "fit" in options) else "all"
    st.radio("Paths drawn", options, key="ls_paths", format_func=PATHS.get, horizontal=True,
             help="Every optimizer from lme4's start, as in Compare optimizers; or the runs this fit made (the "
                  "robust default makes several, from different starts). Running every optimizer on many "
                  f"{'groups'} takes a while.")
    if st.session_state["ls_paths"] == "fit":
        return landscape.optimizer_paths(current_fit), ("fit", current_fit.optimizer, current_fit.theta), comparison
    if comparison is None or comparison.model != model:
        with st.spinner(f"Running every optimizer on the {MODEL_LABELS[model].lower()} model…"):
            comparison, err = compute.compare(key, data, model, compute.compare_settings(settings, None, reml))
        if comparison is None:
            st.error(md(f"The optimizers could not run: {err}"))
            return None, ("none",), None
    pkey = ("all", comparison.start, tuple((e.optimizer, e.fit.criterion if e.fit else None)
                                          for e in comparison.entries))
    return landscape.optimizer_paths(comparison), pkey, comparison


def _landscape_view(data, key: str, model: str, reml: bool, settings, comparison, current_fit,
                    group: str, n_groups: int, controls=None) -> None:
    paths, pkey, comparison = _paths(data, key, model, reml, settings, comparison, current_fit, n_groups)
    if paths is None:
        return
    skey = (key, model, reml) + pkey
    if model in ONE_D:
        _curve_view(data, key, model, reml, paths, comparison, current_fit, group, skey)
    else:
        _map_view(data, key, model, reml, paths, comparison, current_fit, group, n_groups, skey, controls)


def _curve_view(data, key: str, model: str, reml: bool, paths, comparison, current_fit, group: str,
                skey: tuple) -> None:
    """A one-θ model: the criterion along θ, its minima, and the stretch between them."""
    with st.expander("Range and resolution"):
        _defaults(ls_curve_n=400, ls_curve_auto=True, ls_t0=-1.0, ls_t1=3.0)
        n = st.slider("Points on the curve", 100, landscape.MAX_CURVE, step=100, key="ls_curve_n")
        manual = not st.checkbox("Automatic range (cover every optimizer's path and every minimum)",
                                 key="ls_curve_auto")
        theta_range = None
        if manual:
            a, b = st.columns(2)
            lo = a.number_input("θ from (log10)", step=0.5, key="ls_t0")
            hi = b.number_input("θ to (log10)", step=0.5, key="ls_t1")
            theta_range = (10 ** lo, 10 ** hi) if hi > lo else None
    curve = _curve(skey, data, model, reml, paths, theta_range, n)
    st.caption(md(f"The {curve.criterion_name} of the {MODEL_LABELS[model].lower()} model against θ = "
                  f"σ_{group}/σ (log axis); β and σ are profiled out. Below: every θ each optimizer tried, "
                  "from its start (square) to where it stopped (diamond)."))
    _chart(("curve", theta_range, n) + skey, lambda: charts.curve_chart(curve, paths, group=group),
           alt=describe.curve_alt(curve, paths), table=curve.minima[["theta", "criterion", "kind"]])
    minima = curve.minima.sort_values("criterion")
    if len(minima) > 1:
        st.warning(md(f"The curve has {len(minima)} minima: " + ", ".join(
            f"{c:.2f} at θ ≈ {t:.3g}" for c, t in zip(minima["criterion"], minima["theta"])) +
            ". An optimizer started in the basin of the higher one stops there, and reports success."),
            icon=":material/landscape:")
    _slice_view(data, key, model, reml, curve.minima, comparison, current_fit, skey)
    for note in curve.notes:
        st.caption(md(note))


def _map_view(data, key: str, model: str, reml: bool, paths, comparison, current_fit, group: str,
              n_groups: int, skey: tuple, controls) -> None:
    """A model with two or three θ: the map over two of them, and the slice between optima."""
    held_choices: dict[str, tuple] = {}
    if model == "slope":  # the correlation can be held at that of any optimum a run converged to
        fits = [current_fit] if current_fit is not None else []
        for o in landscape.converged_optima(comparison, fits=fits):
            held_choices[f"{o.criterion:.2f}"] = o.theta
    with controls or st.container():
        default_n = landscape.suggest_grid(max(n_groups, 1))
        # The grid is not bounded in time by the engine: its side is, so that no map can
        # keep the server busy for minutes (200×200 on 200,000 groups: about 18 minutes).
        top = max(15, landscape.suggest_grid(max(n_groups, 1), seconds=MAX_MAP_SECONDS, largest=landscape.MAX_GRID))
        if st.session_state.get("ls_grid", default_n) > top or "ls_grid" not in st.session_state:
            st.session_state["ls_grid"] = min(st.session_state.get("ls_grid", default_n), top)
        n = st.slider("Grid points per axis", 10, top, key="ls_grid", step=5,
                      help=f"Each grid point costs about 20 criterion evaluations (profiled), each O(groups). "
                           f"Here {default_n}×{default_n} should take about 3 s at most; the largest grid "
                           f"offered, {top}×{top}, about {MAX_MAP_SECONDS:.0f} s at most.")
    third, held = "profile", None
    if model == "slope":
        modes = ["profile"] + [f"held:{k}" for k in held_choices]
        if st.session_state.get("ls_third") not in modes:
            st.session_state["ls_third"] = "profile"
        st.radio("Correlation", modes, key="ls_third", horizontal=True, format_func=lambda m: (
            "profiled out (best value at every point)" if m == "profile"
            else f"held at the value of the optimum {m[5:]}"))
        if st.session_state["ls_third"] != "profile":
            third, held = "held", held_choices[st.session_state["ls_third"][5:]]
    with st.expander("Axis ranges"):
        _defaults(ls_auto=True, ls_x0=-2.0, ls_x1=3.0, ls_y0=-3.0, ls_y1=2.0)
        auto = st.checkbox("Automatic (cover every optimizer's path)", key="ls_auto")
        x_range = y_range = None
        if not auto:
            a, b = st.columns(2)
            lo_x = a.number_input("σ_int/σ from (log10)", step=0.5, key="ls_x0")
            hi_x = a.number_input("σ_int/σ to (log10)", step=0.5, key="ls_x1")
            lo_y = b.number_input("σ_slope/σ from (log10)", step=0.5, key="ls_y0")
            hi_y = b.number_input("σ_slope/σ to (log10)", step=0.5, key="ls_y1")
            if hi_x > lo_x and hi_y > lo_y:
                x_range, y_range = (10 ** lo_x, 10 ** hi_x), (10 ** lo_y, 10 ** hi_y)
            else:
                st.caption(":red[Each range needs from < to; using the automatic ranges.]")
    seconds = landscape.estimate_seconds(n_groups, n * n, profiled=third == "profile")
    m = _map(skey, data, model, reml, n, x_range, y_range, third, held, paths,
             text=f"Computing the {n}×{n} map (about {max(seconds, 0.1):.1f} s)…")
    st.caption(md(m.description + f" {m.evaluations:,} evaluations of the {m.criterion_name}. Squares: where "
                  "each optimizer started; diamonds: where it stopped; white crosses: the minima of the map, "
                  "polished by an optimizer. Click a legend entry to follow one path."))
    ends = paths.ends[paths.ends["point"] == "end"] if paths is not None else pd.DataFrame()
    _chart(("map", n, x_range, y_range, third, held) + skey, lambda: charts.landscape_map(m, paths, group=group),
           alt=describe.map_alt(m, paths, group),
           table=pd.concat([m.minima.assign(run="minimum of the map")[["run", "sd_int", "sd_slope", "criterion"]],
                            ends[[c for c in ("run", "sd_int", "sd_slope", "criterion") if c in ends.columns]]]),
           width="stretch")
    for note in m.notes:
        st.caption(md(note))
    _slice_view(data, key, model, reml, m.minima, comparison, current_fit, skey)


def _slice_view(data, key, model, reml, minima: pd.DataFrame, comparison, current_fit, skey) -> None:
    """The slice between two optima: the lowest, and the other one where the most
    optimizer runs converged (runs stopped early mark no optimum). For a one-parameter
    model the slice is the stretch of the curve between them, told in words only."""
    fits = [current_fit] if current_fit is not None else []
    pair = landscape.slice_pair(landscape.converged_optima(comparison, minima, fits))
    if pair is None:
        st.caption("Only one optimum found, so there is no slice between optima to draw.")
        return
    a, b = pair
    sl = _slice(key, data, model, reml, a.theta, b.theta, a.label, b.label)
    if model not in ONE_D:
        st.markdown("### The straight path between the two optima")
    st.caption(md(landscape.describe_optima(a, b) + " " + landscape.describe_slice(sl)))
    if model in ONE_D:
        return
    skey = ("slice", a.theta, b.theta) + skey
    alt = describe.slice_alt(sl)
    if sl.zoom is None:
        _chart(skey, lambda: charts.slice_chart(sl), alt=alt, width="stretch")
        return
    c1, c2 = st.columns([3, 2])
    with c1:
        _chart(skey, lambda: charts.slice_chart(sl), alt=alt, width="stretch")
    with c2:
        _chart(("zoom",) + skey, lambda: charts.slice_zoom_chart(sl), alt="Close-up of the rise: " + alt,
               width="stretch")


def render_landscape(data, model: str, reml: bool = True, settings=None, comparison=None,
                     data_key_: str | None = None, current_fit=None, group: str | None = None) -> None:
    """The criterion over θ on ``data`` for ``model``, with every optimizer's path: the
    curve (one θ) or the map and the slice between optima (two or three θ)."""
    key = data_key_ or data_key(data)
    n_groups = lmmviz.make_design(data, model).n_groups
    _landscape_view(data, key, model, reml, settings, comparison, current_fit, group or data.group, n_groups)


def render_landscape_tab(page) -> None:
    st.markdown("## The REML landscape, and where each optimizer went")
    n_groups = len(page.per_group) if page.per_group is not None else 0
    c1, c2 = st.columns([1, 2])
    with c1:
        model = _model_choice(page, "ls_model", "Model", prefer=("slope", "intercept"))
    if n_groups > MAX_LANDSCAPE_GROUPS:
        st.info(f"The landscape is drawn for up to {MAX_LANDSCAPE_GROUPS:,} groups.")
        return
    comparison = None
    current_fit = page.fits.get(model)
    if current_fit is None or n_groups <= BIG_GROUPS:
        (comparison, err), _ = _comparison(page, model, "lme4")
        if comparison is None:
            st.error(md(f"The optimizers could not run: {err}"))
            return
    _landscape_view(page.data, page.loaded.key, model, page.state.reml, None, comparison, current_fit,
                    page.unit, n_groups, controls=c2)


# --------------------------------------------------------------------------- random effects


def _effects_view(fit, per_group, pooled, x_name: str, group: str, unit: str, key) -> None:
    st.markdown("## Shrinkage: each subject's own line, pulled towards the population")
    st.caption(md(f"Hollow circles: each {unit}'s own OLS intercept and slope. Arrows: where the mixed "
                  "model puts it (partial pooling). Cross: the population (fixed-effects) line; diamond: the "
                  "pooled OLS line."))
    if per_group is not None:
        frame = charts.shrinkage_frame(per_group, fit.ranef)
        pop = charts.population_point(fit, per_group)
        ref = (pooled.intercept, pooled.slope) if pooled is not None else None
        _chart(("shrink",) + key, lambda: charts.shrinkage_chart(frame, population=pop, pooled=ref, x_name=x_name,
                                                                 group=group),
               alt=describe.shrinkage_alt(frame, unit), table=frame)
    if fit.singular:
        st.warning(md(f"This fit is singular: the {unit}s' lines are forced onto a line in this plane "
                      "(Corr ±1 or a zero variance)."), icon=":material/warning:")
    st.markdown("## Caterpillar plot: conditional modes (BLUPs) with 95% intervals")
    _chart(("cat",) + key, lambda: charts.caterpillar_chart(fit.ranef, group=group),
           alt=describe.caterpillar_alt(fit.ranef, group))
    with st.expander("The random effects as a table"):
        st.dataframe(fit.ranef, hide_index=True, width="stretch")


def render_effects(fit, data, data_key_: str | None = None) -> None:
    """Shrinkage and caterpillar plots of one fit's random effects."""
    if fit is None:
        st.info("Fit a mixed model to see its random effects.")
        return
    try:
        pooled = lmmviz.pooled_ols(data)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError):
        pooled = None
    key = (data_key_ or data_key(data), fit.model, fit.optimizer, fit.reml, tuple(fit.theta))
    _effects_view(fit, lmmviz.per_group_ols(data), pooled, data.x, data.group, data.group, key)


def render_effects_tab(page) -> None:
    if not page.fits:
        st.info("Tick a mixed model in the sidebar to see its random effects.")
        return
    options = list(page.fits)
    ss = st.session_state
    if ss.get("re_model") not in options:
        ss["re_model"] = "slope" if "slope" in options else options[0]
    st.selectbox("Model", options, key="re_model", format_func=MODEL_LABELS.get)
    ft = page.fits[ss["re_model"]]
    _effects_view(ft, page.per_group, page.pooled, page.x_title, page.unit, page.unit,
                  (page._fits_key(), ss["re_model"]))


# --------------------------------------------------------------------------- tour


def _go_step(number: int) -> None:
    queue_state(dict(tour_text.step(number).params))
    st.session_state["tour_focus"] = True  # the next run moves keyboard focus to the step


# A constant script (the selector is ours): after a tour button, keyboard focus goes to the step
# it opened, not back to the top of the page 50 Tab presses away.
FOCUS_SCRIPT = """<script>
setTimeout(() => {
  const doc = window.parent ? window.parent.document : document;
  const el = doc.querySelector(%s);
  if (!el) return;
  if (!el.hasAttribute("tabindex")) el.setAttribute("tabindex", "-1");
  el.focus();  // scrolls only if the step is out of view
}, 0);
</script>"""


def _focus(selector: str) -> None:
    if st.session_state.pop("tour_focus", False):
        import json

        st.html(FOCUS_SCRIPT % json.dumps(selector), unsafe_allow_javascript=True)


def _exit_tour() -> None:
    update_state(tour=None)


def _tour_buttons(step, where: str) -> None:
    b1, b2, b3, _ = st.columns([1, 1, 1, 3])
    b1.button("◀ Previous", key=f"tour_prev_{where}", disabled=step.number <= 1, on_click=_go_step,
              args=(step.number - 1,), width="stretch")
    b2.button("Next ▶", key=f"tour_next_{where}", disabled=step.number >= tour_text.N_STEPS, on_click=_go_step,
              args=(step.number + 1,), type="primary", width="stretch")
    b3.button("End the tour", key=f"tour_end_{where}", on_click=_exit_tour, width="stretch")


def render_tour_banner(step: int) -> None:
    """The current step with its controls, in a box (for the top of any tab)."""
    s = tour_text.step(step)
    with st.container(border=True, key="tour_banner"):
        st.markdown(f"**Tour, step {s.number} of {tour_text.N_STEPS}: {s.title}**")
        st.markdown(s.text)
        st.caption(s.look)
        _tour_buttons(s, "banner")
    _focus(".st-key-tour_banner")


def tour_banner(page) -> None:
    """While the tour runs and another tab is open: the current step, with its controls."""
    if page.state.tour is None or page.state.tab == "tour":
        return
    render_tour_banner(page.state.tour)


def render_tour(step: int | None, base_url: str = "") -> None:
    """Every step of the tour with its text, its link and a button that sets the app to
    the step's state (the state its link encodes). ``step`` is the current one, if any."""
    st.markdown("## A guided tour: the seed question, answered")
    st.markdown("*“How should I choose the ‘correct’ model? How come the results are so different between "
                "these two models? What are the mathematical reasons?”* Seven steps; each one sets the app "
                "up (data, models, optimizer, tab) exactly as its link does, and says what to look at.")
    if step is None:
        st.button("Start the tour", key="tour_start", type="primary", on_click=_go_step, args=(1,))
    for s in tour_text.STEPS:
        active = step == s.number
        with st.expander(f"Step {s.number}: {s.title}", expanded=active or (step is None and s.number == 1)):
            st.markdown(s.text)
            st.caption(s.look)
            c1, c2 = st.columns([1, 3])
            c1.button("Show me", key=f"tour_go_{s.number}", on_click=_go_step, args=(s.number,),
                      type="primary" if active else "secondary")
            c2.code(s.link(base_url), language=None, wrap_lines=True)
            if st.toggle("Check these numbers against the engine", key=f"tour_check_{s.number}",
                         help="Recomputes every number in this step's text with lmmviz."):
                with st.spinner("Recomputing…"):
                    results = _checked(s.number)
                for says, ok in results:
                    st.markdown(f"{':material/check_circle:' if ok else ':material/cancel:'} {md(says)}")
    if step is not None:
        _focus('[data-testid="stExpander"] details[open] summary')


def render_tour_tab(page) -> None:
    from .sidebar import _base_url

    render_tour(page.state.tour, _base_url().split("?")[0])


__all__ = ["render_compare", "render_landscape", "render_effects", "render_tour", "render_tour_banner",
           "render_compare_tab", "render_landscape_tab", "render_effects_tab", "render_tour_tab", "tour_banner",
           "data_key", "go_to_state"]
