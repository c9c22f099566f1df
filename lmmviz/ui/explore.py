"""The explore tabs: compare optimizers, the REML landscape, random effects, and the
guided tour. The numbers come from :mod:`lmmviz.landscape` and the engine, the charts
from :mod:`lmmviz.charts_explore`, the tour's text and states from :mod:`lmmviz.tour`."""

from __future__ import annotations

import streamlit as st

from lmmviz.charts import MODEL_LABELS, signed
from lmmviz.share import MIXED_MODELS

from . import compute
from .state import go_to_state, queue_state, update_state
from .tables import md

ONE_D = ("intercept", "within_between")
CMP_STARTS = {"lme4": "lme4's start (as lme4's allFit in lme4 1.x)",
              "estimate": "the current estimate (lme4 2.x's allFit default)"}
MAX_SECONDS_COMPARE = 10.0
MAX_LANDSCAPE_GROUPS = 200_000


def _explore_modules():
    """(landscape, charts_explore), or None when they are not installed yet."""
    try:
        from lmmviz import charts_explore, landscape
    except ImportError:  # pragma: no cover - the modules ship with lmmviz
        return None
    return landscape, charts_explore


def _model_choice(page, key: str, label: str, prefer=("slope", "intercept")) -> str:
    ss = st.session_state
    options = list(MIXED_MODELS)
    if ss.get(key) not in options:
        chosen = [m for m in page.state.mixed_models]
        default = next((m for m in prefer if m in chosen), chosen[0] if chosen else prefer[0])
        ss[key] = default
    st.selectbox(label, options, key=key, format_func=MODEL_LABELS.get)
    return ss[key]


# --------------------------------------------------------------------------- compare


@st.cache_data(max_entries=16, ttl=compute.TTL, show_spinner=False)
def _cmp_frame(key, _comparison):
    landscape, _ = _explore_modules()
    return landscape.comparison_frame(_comparison)


def _comparison(page, model: str, start_mode: str):
    start = None
    if start_mode == "estimate":
        ft = page.fits.get(model)
        if ft is None:
            res = compute.fit_model(page.loaded, model, page.state.reml, page.state.opt,
                                    compute.settings_tuple(page.state, model))
            ft = res.fit
        start = None if ft is None else tuple(ft.theta)
    s = compute.settings_tuple(page.state, model)
    settings = (None, s[1], s[2], s[3], s[4], s[5], s[6], MAX_SECONDS_COMPARE)
    with st.spinner(f"Running every optimizer on the {MODEL_LABELS[model].lower()} model…"):
        return compute.compare(page.loaded, model, page.state.reml, start=start, settings=settings), start


def render_compare_tab(page) -> None:
    mods = _explore_modules()
    st.markdown("#### Every optimizer, from the same start")
    st.caption("Like lme4's allFit(): each library optimizer runs once from the same θ. Those that stop at a "
               "higher criterion than the best are at a local optimum, even when they report success.")
    c1, c2, c3 = st.columns([1, 1.4, 1])
    with c1:
        model = _model_choice(page, "cmp_model", "Model")
    with c2:
        if st.session_state.get("cmp_start") not in CMP_STARTS:
            st.session_state["cmp_start"] = "lme4"
        st.radio("Start from", list(CMP_STARTS), key="cmp_start", format_func=CMP_STARTS.get)
    start_mode = st.session_state["cmp_start"]
    (comparison, err), start = _comparison(page, model, start_mode)
    if comparison is None:
        st.error(md(f"The comparison failed: {err}"))
        return
    with c3:
        st.metric("Start θ", ", ".join(f"{t:.4g}" for t in comparison.start))
    key = (page.loaded.key, model, page.state.reml, start)
    frame = _cmp_frame(key, comparison)
    _compare_verdict(page, comparison, frame)
    if mods is None:
        st.dataframe(comparison.table(), hide_index=True, width="stretch")
        return
    landscape, charts = mods
    st.vega_lite_chart(spec=_spec(("dot",) + key, lambda: charts.compare_dotplot(frame, x_name=page.data.x)),
                       width="content")
    cols = ["optimum_label", "optimizer", "label", "verdict", "criterion", "slope", "sigma", "sd_intercept",
            "sd_slope", "corr", "evaluations", "seconds", "singular", "message"]
    shown = frame[[c for c in cols if c in frame.columns]].rename(columns={
        "optimum_label": "optimum", "label": "library: algorithm", "slope": f"{page.data.x} slope",
        "sigma": "σ", "sd_intercept": "SD intercept", "sd_slope": "SD slope"})
    st.dataframe(shown, hide_index=True, width="stretch", column_config={
        "criterion": st.column_config.NumberColumn(format="%.4f"),
        f"{page.data.x} slope": st.column_config.NumberColumn(format="%+.4f"),
        "σ": st.column_config.NumberColumn(format="%.4g"),
        "SD intercept": st.column_config.NumberColumn(format="%.4g"),
        "SD slope": st.column_config.NumberColumn(format="%.4g"),
        "corr": st.column_config.NumberColumn(format="%.3f"),
        "seconds": st.column_config.NumberColumn(format="%.3f"),
    })
    st.markdown("##### Traces: the criterion at every evaluation")
    log = st.toggle("Log scale (criterion above the best)", key="trace_log")
    paths = landscape.optimizer_paths(comparison)
    st.vega_lite_chart(spec=_spec(("trace", log) + key, lambda: charts.trace_chart(paths, log=log)), width="content")


def _compare_verdict(page, comparison, frame) -> None:
    groups = frame[frame["optimum"] > 0].groupby("optimum")
    parts = []
    for _, g in groups:
        best = g.loc[g["criterion"].idxmin()]
        parts.append(f"**{len(g)}** reached **{best['criterion']:.2f}** (slope {signed(best['slope'])})")
    failed = int((frame["optimum"] == 0).sum())
    text = "; ".join(parts) + (f"; {failed} failed" if failed else "") + "."
    if len(parts) > 1:
        st.warning(f"The optimizers disagree: {text} The lowest criterion is the estimate; the others stopped "
                   "at local optima.", icon=":material/call_split:")
    else:
        st.success(f"All optimizers agree: {text}", icon=":material/check_circle:")


# --------------------------------------------------------------------------- landscape


@st.cache_data(max_entries=12, max_size="300MB", ttl=compute.TTL, show_spinner=False)
def _curve(key, _data, model, reml, _paths, theta_range):
    landscape, _ = _explore_modules()
    return landscape.curve_1d(_data, model, reml=reml, theta_range=theta_range, paths=_paths)


@st.cache_data(max_entries=12, max_size="300MB", ttl=compute.TTL, show_spinner=False)
def _map(key, _data, model, reml, n, x_range, y_range, third, held_theta, _paths):
    landscape, _ = _explore_modules()
    return landscape.map_2d(_data, model, reml=reml, nx=n, ny=n, x_range=x_range, y_range=y_range,
                            third=third, held_theta=held_theta, paths=_paths)


@st.cache_data(max_entries=12, ttl=compute.TTL, show_spinner=False)
def _slice(key, _data, model, reml, theta_a, theta_b, label_a, label_b):
    landscape, _ = _explore_modules()
    return landscape.slice_between(_data, theta_a, theta_b, model=model, reml=reml, label_a=label_a,
                                   label_b=label_b)


@st.cache_data(max_entries=32, max_size="200MB", ttl=compute.TTL, show_spinner=False)
def _spec_cached(key, _make):
    import altair as alt

    with alt.data_transformers.disable_max_rows():
        return _make().to_dict(validate=False)


def _spec(key, make) -> dict:
    return _spec_cached(key, make)


def render_landscape_tab(page) -> None:
    mods = _explore_modules()
    if mods is None:
        st.info("The landscape needs lmmviz.landscape.")
        return
    landscape, charts = mods
    st.markdown("#### The REML landscape, and where each optimizer went")
    n_groups = len(page.per_group) if page.per_group is not None else 0
    c1, c2 = st.columns([1, 2])
    with c1:
        model = _model_choice(page, "ls_model", "Model", prefer=("slope", "intercept"))
    if n_groups > MAX_LANDSCAPE_GROUPS:
        st.info(f"The landscape is drawn for up to {MAX_LANDSCAPE_GROUPS:,} groups.")
        return
    (comparison, err), _ = _comparison(page, model, "lme4")
    if comparison is None:
        st.error(md(f"The optimizers could not run: {err}"))
        return
    paths = landscape.optimizer_paths(comparison)
    key = (page.loaded.key, model, page.state.reml)
    group = page.data.group
    if model in ONE_D:
        with st.spinner("Computing the criterion curve…"):
            curve = _curve(key, page.data, model, page.state.reml, paths, None)
        st.caption(md(f"The {curve.criterion_name} of the {MODEL_LABELS[model].lower()} model against θ = "
                      f"σ_{group}/σ (log axis). Below: every θ each optimizer tried, from its start (square) "
                      "to where it stopped (diamond)."))
        st.vega_lite_chart(spec=_spec(("curve",) + key, lambda: charts.curve_chart(curve, paths, group=group)),
                           width="content")
        minima = curve.minima
        if len(minima) > 1:
            st.warning(md(f"The curve has {len(minima)} minima: " + ", ".join(
                f"{c:.2f} at θ ≈ {t:.3g}" for c, t in zip(minima["criterion"], minima["theta"])) +
                ". An optimizer started in the basin of the higher one stops there."), icon=":material/landscape:")
        for note in curve.notes:
            st.caption(md(note))
        return
    # two-parameter models
    with c2:
        default_n = landscape.suggest_grid(max(n_groups, 1))
        if "ls_grid" not in st.session_state:
            st.session_state["ls_grid"] = default_n
        n = st.slider("Grid points per axis", 10, 120, key="ls_grid", step=5,
                      help="Each grid point costs a few criterion evaluations, O(groups) each.")
    third = "profile"
    held = None
    optima = landscape.distinct_optima(comparison)
    if model == "slope":
        if st.session_state.get("ls_third") not in ("profile", "held"):
            st.session_state["ls_third"] = "profile"
        st.radio("Correlation", ["profile", "held"], key="ls_third", horizontal=True, format_func={
            "profile": "profiled out (best value at every point)",
            "held": "held at the best optimum's value"}.get)
        third = st.session_state["ls_third"]
        if third == "held" and len(optima):
            held = tuple(float(optima.iloc[0][f"theta{i + 1}"]) for i in range(3)) if "theta1" in optima else None
            if held is None:
                third = "profile"
    with st.expander("Axis ranges"):
        auto = st.checkbox("Automatic (cover every optimizer's path)", value=True, key="ls_auto")
        x_range = y_range = None
        if not auto:
            a, b = st.columns(2)
            lo_x = a.number_input("σ_int/σ from (log10)", value=-2.0, step=0.5, key="ls_x0")
            hi_x = a.number_input("σ_int/σ to (log10)", value=3.0, step=0.5, key="ls_x1")
            lo_y = b.number_input("σ_slope/σ from (log10)", value=-3.0, step=0.5, key="ls_y0")
            hi_y = b.number_input("σ_slope/σ to (log10)", value=2.0, step=0.5, key="ls_y1")
            if hi_x > lo_x and hi_y > lo_y:
                x_range, y_range = (10 ** lo_x, 10 ** hi_x), (10 ** lo_y, 10 ** hi_y)
            else:
                st.caption(":red[Each range needs from < to; using the automatic ranges.]")
    seconds = landscape.estimate_seconds(n_groups, n * n, profiled=third == "profile")
    with st.spinner(f"Computing the {n}×{n} map (about {max(seconds, 0.1):.1f} s)…"):
        m = _map(key, page.data, model, page.state.reml, n, x_range, y_range, third, held, paths)
    st.caption(md(m.description))
    st.vega_lite_chart(spec=_spec(("map", n, x_range, y_range, third, held) + key,
                                  lambda: charts.landscape_map(m, paths, group=group)), width="content")
    for note in m.notes:
        st.caption(md(note))
    if len(optima) >= 2 and "theta1" in optima:
        nt = len(comparison.start)
        worst = tuple(float(optima.iloc[-1][f"theta{i + 1}"]) for i in range(nt))
        best = tuple(float(optima.iloc[0][f"theta{i + 1}"]) for i in range(nt))
        la = f"{optima.iloc[-1]['criterion']:.2f}"
        lb = f"{optima.iloc[0]['criterion']:.2f}"
        st.markdown("##### The straight path between the two optima")
        sl = _slice(key, page.data, model, page.state.reml, worst, best, la, lb)
        st.caption(md(f"From {la} to {lb} the criterion first rises by {sl.barrier_a:.2f}, then falls by "
                      f"{sl.barrier_b:.2f}: a local optimizer at {la} sees only uphill around it."))
        st.vega_lite_chart(spec=_spec(("slice", worst, best) + key, lambda: charts.slice_chart(sl)),
                           width="content")


# --------------------------------------------------------------------------- random effects


def render_effects_tab(page) -> None:
    mods = _explore_modules()
    if not page.fits:
        st.info("Tick a mixed model in the sidebar to see its random effects.")
        return
    options = list(page.fits)
    ss = st.session_state
    if ss.get("re_model") not in options:
        ss["re_model"] = "slope" if "slope" in options else options[0]
    st.selectbox("Model", options, key="re_model", format_func=MODEL_LABELS.get)
    ft = page.fits[ss["re_model"]]
    group = page.data.group
    if mods is None:
        st.dataframe(ft.ranef, hide_index=True)
        return
    _, charts = mods
    key = (page._fits_key(), ss["re_model"])
    st.markdown("##### Shrinkage: each subject's own line, pulled towards the population")
    st.caption(md(f"Hollow circles: each {page.unit}'s own OLS intercept and slope. Arrows: where the mixed "
                  "model puts it (partial pooling). Cross: the population (fixed-effects) line."))
    if page.per_group is not None:
        frame = charts.shrinkage_frame(page.per_group, ft.ranef)
        pop = charts.population_point(ft, page.per_group)
        pooled = (page.pooled.intercept, page.pooled.slope) if page.pooled is not None else None
        st.vega_lite_chart(spec=_spec(("shrink",) + key, lambda: charts.shrinkage_chart(
            frame, population=pop, pooled=pooled, x_name=page.data.x, group=group)), width="content")
    if ft.singular:
        st.warning(md(f"This fit is singular: the {page.unit}s' lines are forced onto a line in this plane "
                      "(Corr ±1 or a zero variance)."), icon=":material/warning:")
    st.markdown("##### Caterpillar plot: conditional modes (BLUPs) with 95% intervals")
    st.vega_lite_chart(spec=_spec(("cat",) + key, lambda: charts.caterpillar_chart(ft.ranef, group=group)),
                       width="content")
    with st.expander("The random effects as a table"):
        st.dataframe(ft.ranef, hide_index=True, width="stretch")


# --------------------------------------------------------------------------- tour


def _tour():
    try:
        from lmmviz import tour
    except ImportError:  # pragma: no cover
        return None
    return tour


def _go_step(number: int) -> None:
    tour = _tour()
    queue_state(dict(tour.step(number).params))


def _exit_tour() -> None:
    update_state(tour=None)


def tour_banner(page) -> None:
    """While the tour runs and another tab is open: the current step, with its controls."""
    tour = _tour()
    if tour is None or page.state.tour is None or page.state.tab == "tour":
        return
    step = tour.step(page.state.tour)
    with st.container(border=True, key="tour_banner"):
        st.markdown(f"**Tour, step {step.number} of {tour.N_STEPS}: {step.title}**")
        st.markdown(step.text)
        st.caption(step.look)
        _tour_buttons(step, tour.N_STEPS, "banner")


def _tour_buttons(step, n_steps: int, where: str) -> None:
    b1, b2, b3, _ = st.columns([1, 1, 1, 3])
    b1.button("◀ Previous", key=f"tour_prev_{where}", disabled=step.number <= 1, on_click=_go_step,
              args=(step.number - 1,), width="stretch")
    b2.button("Next ▶", key=f"tour_next_{where}", disabled=step.number >= n_steps, on_click=_go_step,
              args=(step.number + 1,), type="primary", width="stretch")
    b3.button("End the tour", key=f"tour_end_{where}", on_click=_exit_tour, width="stretch")


def render_tour_tab(page) -> None:
    tour = _tour()
    if tour is None:
        st.info("The tour needs lmmviz.tour.")
        return
    st.markdown("#### A guided tour: the seed question, answered")
    st.markdown("*“How should I choose the ‘correct’ model? How come the results are so different between "
                "these two models? What are the mathematical reasons?”* Seven steps; each one sets the app "
                "up (data, models, optimizer, tab) exactly as its link does, and says what to look at.")
    current = page.state.tour
    if current is None:
        st.button("Start the tour", key="tour_start", type="primary", on_click=_go_step, args=(1,))
    from .sidebar import _base_url

    for step in tour.STEPS:
        active = current == step.number
        with st.expander(f"Step {step.number}: {step.title}", expanded=active or (current is None and step.number == 1)):
            st.markdown(step.text)
            st.caption(step.look)
            c1, c2 = st.columns([1, 3])
            c1.button("Show me", key=f"tour_go_{step.number}", on_click=_go_step, args=(step.number,),
                      type="primary" if active else "secondary")
            c2.code(step.link(_base_url().split("?")[0]), language=None, wrap_lines=True)


__all__ = ["render_compare_tab", "render_landscape_tab", "render_effects_tab", "render_tour_tab", "tour_banner",
           "go_to_state"]
