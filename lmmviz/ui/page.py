"""What one run of the page knows: the state, the data, the fits. Built once per run,
shared by the sidebar and every tab."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd
import streamlit as st

from lmmviz.charts import LAYERS, chart_frames, fit_chart, unit_word
from lmmviz.share import State, shown

from . import compute
from . import state as page_state
from .state import UPLOAD_KEY


@dataclass(eq=False)
class Page:
    state: State
    loaded: compute.Loaded
    pooled: object | None
    per_group: pd.DataFrame | None
    fits: dict = field(default_factory=dict)  # model -> Fit, in the models' order
    errors: dict = field(default_factory=dict)  # model -> one-line message
    references: dict = field(default_factory=dict)  # model -> the robust default's Fit
    timings: dict = field(default_factory=dict)

    @property
    def data(self):
        return self.loaded.data

    @property
    def unit(self) -> str:
        return unit_word(self.data.group)

    @property
    def x_title(self) -> str:
        return self.state.xlab or self.data.x

    @property
    def y_title(self) -> str:
        return self.state.ylab or self.data.y

    def effective_layers(self) -> tuple[str, ...]:
        s = self.state
        mixed = bool(self.fits)
        ok = {
            "points": True,
            "subject_lines": mixed,
            "population": mixed,
            "pooled": "pooled" in s.models and self.pooled is not None,
            "per_group": "per_group" in s.models,
        }
        return tuple(layer for layer in LAYERS if layer in s.layers and ok[layer])

    def chart(self, selected: str | None = None, height: int = 400, interactive: bool = True):
        """The main chart as an Altair chart."""
        frames = self.frames(selected)
        return fit_chart(frames, self.effective_layers(), selected=selected, x_title=self.x_title,
                         y_title=self.y_title, group_title=self.data.group, height=height,
                         interactive=interactive)

    def chart_spec(self, selected: str | None = None, height: int = 400, interactive: bool = True) -> dict:
        """The main chart's Vega-Lite spec, cached: Altair's construction is the costliest
        part of a rerun."""
        key = (self._fits_key(), self.effective_layers(), selected, height, interactive, self.x_title,
               self.y_title, self.data.group)
        return _spec(key, self, selected, height, interactive)

    def _fits_key(self) -> tuple:
        return (self.loaded.key, tuple(self.fits), self.state.ml, self.state.opt,
                tuple(compute.fit_settings(self.state, m) for m in self.fits))

    def frames(self, selected: str | None = None):
        return _frames((self._fits_key(), selected), self.data, self.fits, self.pooled, self.per_group, selected)


@st.cache_data(max_entries=32, max_size="300MB", ttl=compute.TTL, show_spinner=False)
def _frames(key, _data, _fits, _pooled, _per_group, selected):
    return chart_frames(_data, _fits, _pooled, _per_group, keep=selected)


@st.cache_data(max_entries=64, max_size="200MB", ttl=compute.TTL, show_spinner=False)
def _spec(key, _page, selected, height, interactive) -> dict:
    return _page.chart(selected, height, interactive).to_dict(validate=False)


def build_page(state: State) -> tuple[Page, State]:
    """Load the data and fit the chosen models; returns the page and the state completed
    with what loading found (guessed columns, data for the link)."""
    import time

    t0 = time.perf_counter()
    loaded = compute.load_state_data(state, st.session_state.get(UPLOAD_KEY))
    from_link = page_state.link_run()
    if state.src in ("upload", "edited") and loaded.guessed:
        g = loaded.guessed
        if from_link and loaded.table_columns:
            for key in ("y", "x", "g"):
                wanted = getattr(state, key)
                if wanted is not None and wanted not in loaded.table_columns:
                    page_state.add_notice(f"Ignored {key}=“{shown(wanted)}” in the link: the data have no such "
                                          f"column; using {shown(g.get(key) or 'a guessed column')}.")
        state = replace(state, y=g.get("y"), x=g.get("x"), g=g.get("g"),
                        data=loaded.link_text if state.src == "upload" else state.data)
    t1 = time.perf_counter()
    per_group = compute.per_group(loaded)
    if state.sel is not None and state.sel not in set(per_group["group"].astype(str)):
        if from_link:
            page_state.add_notice(f"Ignored sel=“{shown(state.sel)}” in the link: no "
                                  f"{unit_word(loaded.data.group)} has that label; nothing is highlighted.")
        state = replace(state, sel=None)  # a subject of other data, or a mangled link
        st.session_state["sel"] = ""
    page = Page(state, loaded, compute.pooled(loaded), per_group)
    # The spinner appears only when the fits take longer than half a second (new data or
    # settings on a large data set); cached fits return at once.
    with st.spinner(f"Fitting {len(state.mixed_models)} mixed model(s) to {loaded.data.n_obs:,} rows…"):
        for model in state.mixed_models:
            res = compute.fit_model(loaded, model, compute.fit_settings(state, model))
            if res.fit is None:
                page.errors[model] = res.error
                continue
            page.fits[model] = res.fit
            if state.opt != "robust":
                ref = compute.robust_reference(loaded, model, state.reml)
                if ref.fit is not None:
                    page.references[model] = ref.fit
    page.timings = {"data": t1 - t0, "fits": time.perf_counter() - t1}
    return page, state
