"""The page state: one :class:`lmmviz.share.State` behind every widget, mirrored in the URL.

Each run:

1. on a session's first run, the URL's query parameters are decoded into a State
   (bad values fall back with notices); a state queued by :func:`request_state`
   (the tour, a "reset" button) is applied the same way;
2. every widget value is written back as session state (:func:`keep_widget_values`),
   and every widget key still missing is seeded from the State, so widgets in tabs that
   are not open keep their values;
3. the State of this run is read back from the widget keys, *before* anything is
   drawn; widgets are created with keys only (no ``value=``), so they show it;
4. at the end the URL is rewritten from the State (``encode_state``).
"""

from __future__ import annotations

import math
from dataclasses import replace
from types import MappingProxyType
from typing import Mapping

import streamlit as st

from lmmviz.simulator import PRESETS, SimulationSettings
from lmmviz.share import (
    DEFAULT, LAYERS, MODEL_KEYS, SIM_PARAMS, SOURCES, TABS, State, decode_state, encode_state,
)

STATE_KEY = "lmmviz_state"
NOTICES_KEY = "lmmviz_notices"
PENDING_KEY = "lmmviz_pending"
UPLOAD_KEY = "lmmviz_upload"
ERRORS_KEY = "lmmviz_input_errors"
LINK_RUN_KEY = "lmmviz_link_run"  # this run applies a link (the URL or a queued one)

TAB_LABELS = MappingProxyType({
    "fit": "Fit",
    "data": "Data",
    "compare": "Compare optimizers",
    "landscape": "Landscape",
    "effects": "Random effects",
    "tour": "Tour",
})
LABEL_TABS = MappingProxyType({v: k for k, v in TAB_LABELS.items()})
METHODS = ("REML", "ML")
SIM_KEYS = MappingProxyType({url: f"sim_{url}" for url in SIM_PARAMS})  # URL name -> widget key
MODEL_WIDGETS = MappingProxyType({m: f"model_{m}" for m in MODEL_KEYS})
NONE_SELECTED = ""
# View settings of the explore tabs and the Fit tab: not part of a share link, but kept for
# the session like every other value a user sets.
VIEW_KEYS = (
    "sumview", "cmp_model", "cmp_start", "trace_log", "trace_best", "ls_model", "ls_paths", "ls_curve_n",
    "ls_curve_auto", "ls_t0", "ls_t1", "ls_grid", "ls_third", "ls_auto", "ls_x0", "ls_x1", "ls_y0", "ls_y1",
    "re_model", "ci_method",
)


def _float_text(v: float | None) -> str:
    if v is None:
        return ""
    return str(int(v)) if float(v).is_integer() and abs(v) < 1e15 else repr(float(v))


def widget_values(state: State) -> dict:
    """State -> value of every widget key."""
    out = {
        "src": state.src,
        "preset": state.preset,
        "method": "ML" if state.ml else "REML",
        "opt": state.opt,
        "start": ", ".join(_float_text(v) for v in state.start) if state.start else "",
        "step": _float_text(state.step),
        "ftol": _float_text(state.ftol),
        "xtol": _float_text(state.xtol),
        "maxeval": int(state.maxeval),
        "layers": [layer for layer in LAYERS if layer in state.layers],
        "sel": state.sel or NONE_SELECTED,
        "xlab": state.xlab or "",
        "ylab": state.ylab or "",
        "tab": TAB_LABELS[state.tab],
    }
    sim = PRESETS[state.preset] if state.src == "preset" else state.sim
    for url, (name, kind, _, _) in SIM_PARAMS.items():
        v = getattr(sim, name)
        out[SIM_KEYS[url]] = int(v) if kind is int else float(v)
    for m in MODEL_KEYS:
        out[MODEL_WIDGETS[m]] = m in state.models
    if state.src in ("upload", "edited"):
        for k in ("y", "x", "g"):
            out[f"map_{k}"] = getattr(state, k)
    return out


def keep_widget_values() -> None:
    """Make every widget value the session's own, at the start of each run.

    Streamlit drops the value of a keyed widget at the end of a run that did not draw it
    (a tab that is not open, a collapsed section), and the key then reads back whatever
    was written to it before the widget first took it: a teacher's residual SD moved from
    3 to 8 on the Data tab became 3 again two tabs later. A value written through
    ``st.session_state`` belongs to the session instead and outlives the widget, so every
    key is written back once per run, before any widget is drawn.
    """
    ss = st.session_state
    for key in WIDGET_KEYS:
        if key in ss:
            ss[key] = ss[key]


def seed_widgets(state: State, force: bool = False) -> None:
    ss = st.session_state
    for key, value in widget_values(state).items():
        if value is None:
            continue
        if force or key not in ss:
            ss[key] = value


# Every key whose value a user sets: the State's widgets (the mapping too, which exists
# only for uploaded or edited data) and the view settings.
WIDGET_KEYS = tuple(dict.fromkeys([*widget_values(DEFAULT), "map_y", "map_x", "map_g", *VIEW_KEYS]))


def _parse_optional(text: str, what: str, errors: dict, key: str, positive: bool = True) -> float | None:
    t = (text or "").strip()
    if not t:
        return None
    try:
        v = float(t)
    except ValueError:
        errors[key] = f"{what}: “{t[:20]}” is not a number; the optimizer's default is used."
        return None
    if not math.isfinite(v) or (positive and v <= 0) or abs(v) > 1e6:
        errors[key] = f"{what} must be a positive number below 1e6; the optimizer's default is used."
        return None
    return v


def state_from_widgets(prev: State) -> tuple[State, dict]:
    """Read this run's State from the widget keys; returns (state, input errors by key)."""
    ss = st.session_state
    errors: dict[str, str] = {}
    src = ss.get("src", prev.src)
    src = src if src in SOURCES else prev.src
    preset = ss.get("preset", prev.preset)
    preset = preset if preset in PRESETS else prev.preset
    sim_values = {}
    for url, (name, kind, lo, hi) in SIM_PARAMS.items():
        v = ss.get(SIM_KEYS[url], getattr(prev.sim, name))
        try:
            v = kind(v)
        except (TypeError, ValueError):
            v = getattr(prev.sim, name)
        sim_values[name] = min(max(v, kind(lo)), kind(hi))
    sim = SimulationSettings(**sim_values) if src != "preset" else prev.sim
    models = tuple(m for m in MODEL_KEYS if ss.get(MODEL_WIDGETS[m], m in prev.models))
    start_text = (ss.get("start") or "").strip()
    start = None
    if start_text:
        try:
            vals = tuple(float(p) for p in start_text.replace(";", ",").split(",") if p.strip())
            if not 1 <= len(vals) <= 3 or not all(math.isfinite(v) and abs(v) < 1e8 for v in vals):
                raise ValueError
            start = vals
        except ValueError:
            errors["start"] = ("Start θ must be 1 to 3 numbers separated by commas (1 for random intercept "
                               "and within-between, 2 for uncorrelated, 3 for random slope); lme4's start is used.")
    maxeval = ss.get("maxeval", prev.maxeval)
    try:
        maxeval = int(min(max(int(maxeval), 1), 100_000))
    except (TypeError, ValueError):
        maxeval = prev.maxeval
    layers = tuple(layer for layer in LAYERS if layer in (ss.get("layers") or []))
    if "layers" not in ss:
        layers = prev.layers
    sel = ss.get("sel", prev.sel or NONE_SELECTED) or None
    tab_label = ss.get("tab", TAB_LABELS[prev.tab])
    tab = LABEL_TABS.get(tab_label, prev.tab)
    xlab = (ss.get("xlab") or "").strip()[:80] or None
    ylab = (ss.get("ylab") or "").strip()[:80] or None
    mapping = {k: ss.get(f"map_{k}", getattr(prev, k)) for k in ("y", "x", "g")}
    from lmmviz.optimizers import optimizer_names

    opt = ss.get("opt", prev.opt)
    opt = opt if opt in optimizer_names() else prev.opt
    state = replace(
        prev, src=src, preset=preset, sim=sim, models=models, ml=ss.get("method", "REML") == "ML",
        opt=opt, start=start,
        step=_parse_optional(ss.get("step", ""), "Initial step", errors, "step"),
        ftol=_parse_optional(ss.get("ftol", ""), "Tolerance on the criterion", errors, "ftol"),
        xtol=_parse_optional(ss.get("xtol", ""), "Tolerance on θ", errors, "xtol"),
        maxeval=maxeval, layers=layers, sel=sel, tab=tab, xlab=xlab, ylab=ylab, **mapping,
    )
    if src not in ("upload", "edited"):
        state = replace(state, data=None, y=None, x=None, g=None)
    return state, errors


def queue_state(params: Mapping[str, str] | State) -> None:
    """Queue a state for the next run: query parameters (as a share link has them) or a
    State. Call it from a widget callback (the tour's buttons do); the state is applied
    before any widget is drawn."""
    st.session_state[PENDING_KEY] = params


def go_to_state(params: Mapping[str, str] | State) -> None:
    """:func:`queue_state` and rerun now (outside callbacks)."""
    queue_state(params)
    st.rerun()


def update_state(**changes) -> None:
    """Change fields of the remembered state from a callback (e.g. the tour step)."""
    ss = st.session_state
    ss[STATE_KEY] = replace(ss.get(STATE_KEY, DEFAULT), **changes)


def apply_state(state: State, notices: list[str] | None = None, keep_upload: bool = False) -> None:
    """Make ``state`` the page's state: every widget key is overwritten."""
    ss = st.session_state
    ss[STATE_KEY] = state
    ss[NOTICES_KEY] = list(notices or [])
    if not keep_upload:
        ss.pop(UPLOAD_KEY, None)
    for key in ("map_y", "map_x", "map_g"):
        ss.pop(key, None)
    seed_widgets(state, force=True)


def begin_run() -> State:
    """Steps 1-3 of the module docstring; returns this run's State."""
    ss = st.session_state
    ss[LINK_RUN_KEY] = False
    if STATE_KEY not in ss:
        params = {k: st.query_params.get_all(k) for k in st.query_params}
        state, notices = decode_state(params)
        apply_state(state, notices)
        ss[LINK_RUN_KEY] = True
    pending = ss.pop(PENDING_KEY, None)
    if pending is not None:
        if isinstance(pending, State):
            state, notices = pending, []
        else:
            state, notices = decode_state(pending)
            ss[LINK_RUN_KEY] = True
        apply_state(state, notices)
    prev: State = ss[STATE_KEY]
    if ss.get("src", prev.src) == "preset":
        # The simulator shows the preset's settings; changing one switches to "sim".
        preset = ss.get("preset", prev.preset)
        for url, (name, kind, _, _) in SIM_PARAMS.items():
            ss[SIM_KEYS[url]] = kind(getattr(PRESETS.get(preset, PRESETS["classic"]), name))
    keep_widget_values()
    seed_widgets(prev)
    state, errors = state_from_widgets(prev)
    ss[ERRORS_KEY] = errors
    return state


def end_run(state: State) -> None:
    """Step 4: remember the state and write it to the URL (only when it changed)."""
    st.session_state[STATE_KEY] = state
    params = encode_state(state)
    current = {k: st.query_params.get(k) for k in st.query_params}
    if current != params:
        st.query_params.from_dict(params)


def notices() -> list[str]:
    return list(st.session_state.get(NOTICES_KEY, []))


def link_run() -> bool:
    """True while the run applies a link: only then are values that do not fit the data
    (a subject label, a column name) reported as notices."""
    return bool(st.session_state.get(LINK_RUN_KEY))


def add_notice(text: str) -> None:
    st.session_state[NOTICES_KEY] = notices() + [text]


def clear_notices() -> None:
    st.session_state[NOTICES_KEY] = []


def input_error(key: str) -> str | None:
    return st.session_state.get(ERRORS_KEY, {}).get(key)


__all__ = ["begin_run", "end_run", "queue_state", "go_to_state", "update_state", "apply_state", "notices", "clear_notices",
           "link_run", "add_notice", "TAB_LABELS",
           "LABEL_TABS", "METHODS", "SIM_KEYS", "MODEL_WIDGETS", "UPLOAD_KEY", "STATE_KEY", "input_error",
           "DEFAULT", "TABS"]
