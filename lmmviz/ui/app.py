"""The page: state from the URL, data and fits, sidebar, six tabs, state back to the URL."""

from __future__ import annotations

import logging
import os
import time

import streamlit as st

from . import state as page_state
from .page import build_page
from .tables import md

log = logging.getLogger("lmmviz.ui")
TIMING_KEY = "lmmviz_timing"


def main() -> None:
    t0 = time.perf_counter()
    _log_to_stderr(os.environ.get("LMMVIZ_LOG_LEVEL"))
    # No page_icon: a Material icon as favicon is fetched from Google, which fails offline.
    st.set_page_config(page_title="lmmviz · Simpson's paradox in mixed models",
                       layout="wide", initial_sidebar_state="auto")  # collapsed on a phone
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
/* Headings are semantic (h1 page, h2 section, h3 part: what a screen reader lists); their size is set here. */
[data-testid="stMain"] h1 {font-size: 1.75rem; padding-top: 0.25rem;}
[data-testid="stMain"] h2 {font-size: 1.3rem;}
[data-testid="stMain"] h3 {font-size: 1.1rem;}
[data-testid="stSidebar"] h2 {font-size: 1.3rem;}
[data-testid="stSidebar"] h3 {font-size: 1.05rem;}
/* Captions darker than Streamlit's grey (4.0:1 on white): 7:1, readable for every student (WCAG AA). */
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p {color: #4b5563 !important; opacity: 1 !important;}
/* On a phone the six tabs wrap onto a second line instead of hiding the last ones off screen. */
[data-testid="stTabs"] [role="tablist"] {flex-wrap: wrap; row-gap: 0.25rem; overflow-x: visible;}
/* On a phone the big numbers sit two to a row, so that the chart starts on the first screen. */
@media (max-width: 640px) {
  [data-testid="stMain"] h1 {font-size: 1.3rem;}
  [data-testid="stMainBlockContainer"] {padding-top: 3.25rem !important;}
  .st-key-metrics [data-testid="stHorizontalBlock"] {flex-direction: row !important; flex-wrap: wrap; gap: 0 0.75rem;}
  .st-key-metrics [data-testid="stColumn"] {flex: 1 1 calc(50% - 0.75rem) !important; width: auto !important; min-width: 0 !important;}
  .st-key-metrics [data-testid="stColumn"]:empty, .st-key-metrics [data-testid="stColumn"]:not(:has([data-testid="stMetric"])) {display: none;}
  .st-key-metrics [data-testid="stMetricValue"] {font-size: 1.5rem;}
  /* a chart wider than the phone scrolls inside its own box instead of widening the page */
  [data-testid="stVegaLiteChart"], [data-testid="stDataFrame"] {max-width: 100%; overflow-x: auto;}
}
</style>"""


# A constant script (no user data): a box that scrolls sideways (the lme4 text) can be
# focused and scrolled with the keyboard, and is announced by what it holds.
SCROLL_FOCUS = """<script>
(() => {
  const doc = window.parent ? window.parent.document : document;
  const mark = () => doc.querySelectorAll('[data-testid="stCode"] pre').forEach((pre, i) => {
    const first = (pre.textContent || "").trim().split("\\n")[0].slice(0, 60);
    const label = `Text box ${i + 1}: ${first}`;
    if (pre.getAttribute("aria-label") === label) return;
    pre.setAttribute("tabindex", "0");
    pre.setAttribute("role", "region");
    pre.setAttribute("aria-label", label);
  });
  mark();
  if (!doc.lmmvizScrollFocus) {
    doc.lmmvizScrollFocus = new MutationObserver(mark);
    doc.lmmvizScrollFocus.observe(doc.body, {childList: true, subtree: true});
  }
})();
</script>"""


def _header(page) -> None:
    st.html(STYLE)
    st.html(SCROLL_FOCUS, unsafe_allow_javascript=True)
    st.markdown("# Simpson's paradox in linear mixed models")
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
                _settle_on_tab_change(name)
                renderers[name](page)


SETTLE_SECONDS = 0.3
SHOWN_TAB_KEY = "lmmviz_tab_shown"


def _settle_on_tab_change(name: str) -> None:
    """Arrow keys on the tab bar select every tab they pass, and each selection is a rerun. After a
    change of tab, wait a moment in small steps, each an st call at which Streamlit ends this run if
    a newer one is waiting: a keyboard user passing Compare or Landscape does not pay for their work."""
    shown = st.session_state.get(SHOWN_TAB_KEY)
    # on every run, not only after a change: an element that comes and goes would shift the
    # tab's elements, and an expander that moves loses its open state
    slot = st.empty()
    if shown is not None and shown != name:
        for _ in range(6):
            time.sleep(SETTLE_SECONDS / 6)
            slot.empty()
    st.session_state[SHOWN_TAB_KEY] = name
    log.info("tab %s rendered", name)


def _log_to_stderr(level: str | None) -> None:
    """LMMVIZ_LOG_LEVEL=INFO logs each run's server time and each tab rendered (for operators and
    the browser tests); without it only warnings reach the server's output."""
    root = logging.getLogger("lmmviz")
    if level and not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
        root.addHandler(handler)
        root.setLevel(level.upper())
