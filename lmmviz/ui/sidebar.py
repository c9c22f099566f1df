"""The sidebar: data source, models, fitting, chart layers, highlight, share link."""

from __future__ import annotations

from types import MappingProxyType

import streamlit as st

from lmmviz.charts import LAYER_LABELS, MODEL_LABELS
from lmmviz.codegen import APP_MAX_SECONDS
from lmmviz.simulator import PRESET_LABELS, PRESETS
from lmmviz.optimizers import ROBUST, optimizer_label, optimizer_names
from lmmviz.share import LAYERS, MAX_LINK_ROWS, MODEL_KEYS, SOURCES, encode_state, share_url

from .state import METHODS, MODEL_WIDGETS, NONE_SELECTED, input_error
from .tables import md

SOURCE_LABELS = MappingProxyType({
    "seed": "Seed example (3 subjects)",
    "preset": "Simulator preset",
    "sim": "Simulator (your settings)",
    "upload": "Uploaded file",
    "edited": "Edited table",
})
MODEL_HELP = MappingProxyType({
    "pooled": "One line through all points, ignoring subjects (ordinary least squares).",
    "per_group": "Each subject's own least-squares line (no pooling).",
    "intercept": "y ~ x + (1 | subject): each subject its own level, one shared slope.",
    "slope": "y ~ x + (1 + x | subject): each subject its own level and slope, correlated.",
    "uncorrelated": "y ~ x + (1 | subject) + (0 + x | subject): own level and slope, uncorrelated.",
    "within_between": "y ~ x_within + x_mean + (1 | subject): separates the within-subject slope from "
                      "the between-subject slope of the subjects' means.",
})
MAX_SELECT_OPTIONS = 3000


def optimizer_text(name: str) -> str:
    if name == ROBUST:
        return "★ Robust default (lmmviz)"  # short: the whole name shows in the sidebar; help says more
    return optimizer_label(name)


def render_sidebar(page) -> None:
    state = page.state
    sb = st.sidebar
    sb.markdown("## lmmviz")
    sb.caption("Simpson's paradox in linear mixed models, fitted exactly as lme4 does.")

    sb.markdown("### Data")
    sb.selectbox("Data source", SOURCES, key="src", format_func=SOURCE_LABELS.get,
                 help="The simulator, uploads and the table editor are in the Data tab.")
    if state.src == "preset":
        sb.selectbox("Preset", list(PRESETS), key="preset", format_func=PRESET_LABELS.get)
    if state.src in ("sim", "upload", "edited"):
        sb.caption("Set it up in the **Data** tab.")

    sb.markdown("### Models")
    for m in MODEL_KEYS:
        sb.checkbox(MODEL_LABELS[m], key=MODEL_WIDGETS[m], help=MODEL_HELP[m])

    sb.markdown("### Fitting")
    sb.radio("Fit by", METHODS, key="method", horizontal=True,
             help="REML (lme4's default) or maximum likelihood. Likelihood-ratio tests always refit by ML.")
    sb.selectbox("Optimizer", optimizer_names(), key="opt", format_func=optimizer_text,
                 help="★ lmmviz's robust default: NLopt BOBYQA from several starts, polished by Nelder-Mead; "
                      "it never stops silently in a local optimum. \"lme4: …\" are lmmviz's twins of lme4's own "
                      "optimizers (lme4's names, start and settings); the others are single runs of one "
                      "library's algorithm from lme4's start. Some stop in a local optimum on the seed data.")
    with sb.expander("Optimizer settings"):
        st.text_input("Start θ (comma-separated)", key="start", placeholder="lme4's start",
                      help="1 value for random intercept and within-between, 2 for uncorrelated, 3 for "
                           "random slope (lme4's θ order). Models with another number of θ values start "
                           "from lme4's start.")
        st.text_input("Initial step", key="step", placeholder="optimizer's default",
                      help="NLopt's initial step, BOBYQA's initial trust radius, or the edge of the first "
                           "Nelder-Mead simplex.")
        st.text_input("Tolerance on the criterion (absolute)", key="ftol", placeholder="1e-8 (lme4's nloptwrap)")
        st.text_input("Tolerance on θ (absolute)", key="xtol", placeholder="1e-8 (lme4's nloptwrap)")
        st.number_input("Maximum evaluations per run", min_value=1, max_value=100_000, step=500, key="maxeval")
        for key in ("start", "step", "ftol", "xtol"):
            msg = input_error(key)
            if msg:
                st.caption(f":red[{md(msg)}]")
        st.caption(f"Evaluations alone bound the work, so a busy server gives the same answer. A fit still "
                   f"running after {APP_MAX_SECONDS:.0f} seconds is stopped as a safety, and its diagnostics "
                   "say so.")

    sb.markdown("### Chart")
    st.sidebar.pills("Layers", LAYERS, selection_mode="multi", key="layers", format_func=LAYER_LABELS.get,
                     help="Show or hide parts of the chart. Lines appear only for the models ticked above.")
    labels = list(map(str, page.per_group["group"])) if page.per_group is not None else []
    options = [NONE_SELECTED] + labels[:MAX_SELECT_OPTIONS]
    if st.session_state.get("sel") not in options:
        current = st.session_state.get("sel")
        if current and current in set(labels):
            options.append(current)
        else:
            st.session_state["sel"] = NONE_SELECTED
    sb.selectbox(f"Highlight a {page.unit}", options, key="sel",
                 format_func=lambda v: "(none)" if v == NONE_SELECTED else v,
                 help="Or click a point or a legend entry in the chart; double-click the chart to clear.")

    sb.markdown("### Share")
    base = _base_url()
    url = share_url(base, state)
    long = len(url) > LONG_LINK
    # a long link (data in it) stays one line that scrolls, behind the copy button, instead of
    # filling the sidebar
    sb.code(url, language=None, wrap_lines=not long)
    note = "Copy the link (button at the right of the box): it opens this page as you see it."
    if long:
        note = f"The link is {len(url):,} characters long (it carries the data). " + note
    if state.src == "upload" and "data" not in encode_state(state):
        note += (f" Your file has more than {MAX_LINK_ROWS} rows, so it does not travel in the link: "
                 "whoever opens it is asked to upload it again.")
    sb.caption(note)


LONG_LINK = 240  # characters: longer links are not wrapped over the sidebar


def _base_url() -> str:
    try:
        url = st.context.url
    except Exception:  # pragma: no cover - older Streamlit
        url = None
    return str(url) if url else "http://localhost:8501/"
