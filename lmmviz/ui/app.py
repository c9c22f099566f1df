"""The page: state from the URL, data and fits, sidebar, six tabs, state back to the URL."""

from __future__ import annotations

import logging
import time

import streamlit as st

from . import state as page_state
from .page import build_page
from .tables import md

log = logging.getLogger("lmmviz.ui")
TIMING_KEY = "lmmviz_timing"


def main() -> None:
    t0 = time.perf_counter()
    # No page_icon: a Material icon as favicon is fetched from Google, which fails offline.
    st.set_page_config(page_title="lmmviz · Simpson's paradox in mixed models",
                       layout="wide", initial_sidebar_state="expanded")
    state = page_state.begin_run()
    page, state = build_page(state)
    from .sidebar import render_sidebar

    render_sidebar(page)
    footer = st.sidebar.empty()
    _header(page)
    _tabs(page)
    page_state.end_run(state)
    ms = (time.perf_counter() - t0) * 1000
    st.session_state[TIMING_KEY] = ms
    footer.caption(f"Server time for this run: {ms:.0f} ms")
    log.info("run %.1f ms (data %.1f ms, fits %.1f ms)", ms, page.timings.get("data", 0) * 1000,
             page.timings.get("fits", 0) * 1000)


# A constant style sheet (no user data): less empty space above the title, and compact
# monospace summaries so that two of them fit beside the chart.
STYLE = """<style>
.block-container {padding-top: 1.6rem; padding-bottom: 2rem;}
[data-testid="stSidebarHeader"] {height: 1.5rem; padding: 0.5rem 1rem;}
[data-testid="stMetricValue"] {font-size: 2rem;}
.st-key-summaries pre, .st-key-summaries code {font-size: 12.5px !important; line-height: 1.32 !important;}
</style>"""


def _header(page) -> None:
    st.html(STYLE)
    st.markdown("### Simpson's paradox in linear mixed models")
    notices = page_state.notices()
    if notices:
        with st.container(border=True):
            st.warning("**Parts of the link could not be used:**  \n" + "  \n".join(f"• {md(n)}" for n in notices),
                       icon=":material/link_off:")
            st.button("Dismiss", key="dismiss_notices", on_click=page_state.clear_notices)
    if page.loaded.error and page.state.tab != "data":
        st.error(md(page.loaded.error), icon=":material/error:")
    from .explore import tour_banner

    tour_banner(page)


def _tabs(page) -> None:
    labels = list(page_state.TAB_LABELS.values())
    tabs = st.tabs(labels, key="tab", on_change="rerun")
    from . import explore
    from .data_tab import render_data_tab
    from .fit_tab import render_fit_tab

    renderers = {
        "fit": render_fit_tab,
        "data": render_data_tab,
        "compare": explore.render_compare_tab,
        "landscape": explore.render_landscape_tab,
        "effects": explore.render_effects_tab,
        "tour": explore.render_tour_tab,
    }
    for name, tab in zip(page_state.TAB_LABELS, tabs):
        if tab.open is not False:
            with tab:
                renderers[name](page)
