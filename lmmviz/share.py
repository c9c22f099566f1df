"""The app's whole state <-> URL query parameters (a share link). Pure: no Streamlit.

One frozen :class:`State` holds everything a page shows: the data source and the
simulator settings, the models, REML/ML, the optimizer and its settings, the chart
layers and the selected subject, the open tab and the tour step. Small uploaded or
edited data sets travel inside the link, as zlib-compressed CSV in base64url.

    params = encode_state(state)                   # dict[str, str], defaults left out
    state, notices = decode_state(query_params)    # bad values become notices

:func:`decode_state` checks every value. Anything unknown, malformed, out of range
or oversized falls back to its default, and a notice in plain words names the rule
it broke; the notices quote user input only shortened and without control
characters, and are meant to be shown as plain text. Only those expected faults
become notices: any other exception is a bug in the decoder and propagates.

Parameters (the contract shared with the app and the guided tour):

=========  ==================================================================
src        seed | preset | sim | upload | edited
preset     a key of :data:`lmmviz.data.PRESETS`
n m sp rg  simulator: subjects, observations per subject, dose spacing, dose
cf sl ssd  range, confounding, slope, SD of slopes, residual SD, intercept,
sig b0 bsd SD of baselines, seed (the :class:`SimulationSettings` fields in
seed       order); only with ``src=sim``
data       uploaded/edited data (zlib + base64url of CSV), up to 200 rows
y x g      column names of uploaded data
models     comma list of pooled, per_group, intercept, slope, uncorrelated,
           within_between (``none`` for no model)
ml         1 for maximum likelihood (default REML)
opt        optimizer name (default robust)
start      start θ, comma list; step, ftol, xtol: initial step, absolute
step ftol  tolerances on the criterion and on θ; maxeval: evaluations per run
xtol
maxeval
layers     comma list of chart layers (``none`` for only the frame)
sel        selected subject label
tab        fit | data | compare | landscape | effects | tour
tour       tour step, 1..7 (present while the guided tour runs)
xlab ylab  axis labels (with units)
=========  ==================================================================
"""

from __future__ import annotations

import base64
import functools
import binascii
import math
import re
import zlib
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Mapping
from urllib.parse import urlencode

from .codegen import APP_MAX_SECONDS
from .data import PRESETS, SimulationSettings
from .optimizers import OptimizerSettings

SOURCES = ("seed", "preset", "sim", "upload", "edited")
MODEL_KEYS = ("pooled", "per_group", "intercept", "slope", "uncorrelated", "within_between")
MIXED_MODELS = ("intercept", "slope", "uncorrelated", "within_between")
DEFAULT_MODELS = ("pooled", "per_group", "intercept", "slope")
LAYERS = ("points", "subject_lines", "population", "pooled", "per_group")
TABS = ("fit", "data", "compare", "landscape", "effects", "tour")
TOUR_STEPS = 7

# Data in the link: at most this many rows, this many characters of token.
MAX_LINK_ROWS = 200
MAX_TOKEN_CHARS = 24_000
MAX_PACKED_BYTES = 256_000  # decompressed CSV
MAX_TEXT = 200  # column names and the selected label
MAX_LABEL_TEXT = 80  # axis labels
MAX_START = 3
MAX_MAXEVAL = 100_000
# Parameter names Streamlit itself uses; never reported as unknown.
STREAMLIT_PARAMS = frozenset({"embed", "embed_options"})

# Simulator parameters: URL name -> (field, type, low, high)
SIM_PARAMS: Mapping[str, tuple[str, type, float, float]] = MappingProxyType({
    "n": ("n_subjects", int, 2, 20_000),
    "m": ("n_obs", int, 1, 1_000),
    "sp": ("dose_spacing", float, -1e6, 1e6),
    "rg": ("dose_range", float, 0.0, 1e6),
    "cf": ("confounding", float, -1e6, 1e6),
    "sl": ("slope", float, -1e6, 1e6),
    "ssd": ("slope_sd", float, 0.0, 1e6),
    "sig": ("sigma", float, 0.0, 1e6),
    "b0": ("intercept", float, -1e6, 1e6),
    "bsd": ("baseline_sd", float, 0.0, 1e6),
    "seed": ("seed", int, 0, 2**31 - 1),
})
MAX_SIM_ROWS = 2_000_000
# What the Data tab calls each simulator setting (notices use the names a user sees).
SIM_LABELS: Mapping[str, str] = MappingProxyType({
    "n": "Subjects", "m": "Observations per subject", "sp": "Spacing of subjects' doses",
    "rg": "Each subject's dose range", "cf": "Confounding", "sl": "Within-subject slope",
    "ssd": "SD of slopes between subjects", "sig": "Residual SD", "b0": "Baseline pain at dose 0",
    "bsd": "SD of baselines", "seed": "Random seed",
})


@functools.cache
def optimizer_choices() -> tuple[str, ...]:
    """The optimizer names a link may give. Cached (the registry is fixed once imported):
    a pure function of no arguments, so every session reads the same immutable tuple."""
    from .optimizers import optimizer_names

    return tuple(optimizer_names())


# A link's names of the fit settings (as the State's fields) -> OptimizerSettings' fields;
# ``ml`` is ``not reml``. The link's short names are its format and stay.
LINK_SETTINGS: Mapping[str, str] = MappingProxyType({
    "opt": "optimizer", "start": "start", "step": "initial_step", "ftol": "ftol_abs", "xtol": "xtol_abs",
    "maxeval": "maxeval",
})


@dataclass(frozen=True)
class State:
    """Everything a page shows, as plain values (hashable, comparable)."""

    src: str = "seed"
    preset: str = "classic"
    sim: SimulationSettings = field(default_factory=SimulationSettings)
    data: str | None = None  # CSV text of uploaded/edited data (decoded from the link)
    y: str | None = None
    x: str | None = None
    g: str | None = None
    models: tuple[str, ...] = DEFAULT_MODELS
    ml: bool = False
    opt: str = "robust"
    start: tuple[float, ...] | None = None
    step: float | None = None
    ftol: float | None = None
    xtol: float | None = None
    maxeval: int = 10_000
    layers: tuple[str, ...] = LAYERS
    sel: str | None = None
    tab: str = "fit"
    tour: int | None = None  # the guided tour's step while the tour runs
    xlab: str | None = None
    ylab: str | None = None

    @property
    def reml(self) -> bool:
        return not self.ml

    @property
    def mixed_models(self) -> tuple[str, ...]:
        return tuple(m for m in self.models if m in MIXED_MODELS)

    @property
    def settings(self) -> OptimizerSettings:
        """The page's fit settings as the one settings type, with the app's time limit
        (``for_model`` fits the start to one model)."""
        values = {name: getattr(self, key) for key, name in LINK_SETTINGS.items()}
        return OptimizerSettings(**values, reml=self.reml, max_seconds=APP_MAX_SECONDS)


DEFAULT = State()


# --------------------------------------------------------------------------- data in the link


def pack_data(csv_text: str) -> str:
    """CSV text -> compact URL-safe token (zlib, base64url without padding)."""
    raw = zlib.compress(csv_text.encode("utf-8"), 9)
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


class LinkDataError(ValueError):
    """The data token in a link cannot be used; the message is one line."""


def unpack_data(token: str) -> str:
    """Token -> CSV text; raises :class:`LinkDataError` for damaged or oversized data."""
    if len(token) > MAX_TOKEN_CHARS:
        raise LinkDataError(f"the data in the link is too long ({len(token):,} characters)")
    if not re.fullmatch(r"[A-Za-z0-9_\-]*={0,2}", token or ""):
        raise LinkDataError("the data in the link has characters that do not belong there")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except binascii.Error:  # a length no base64 text can have
        raise LinkDataError("the data in the link is damaged: a character is missing or extra") from None
    d = zlib.decompressobj()
    try:
        text = d.decompress(raw, MAX_PACKED_BYTES)
    except zlib.error:
        raise LinkDataError("the data in the link is damaged: it does not unpack") from None
    if d.unconsumed_tail:
        raise LinkDataError("the data in the link unpacks to too much text")
    if not d.eof:
        raise LinkDataError("the data in the link is cut short")
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        raise LinkDataError("the data in the link is not text") from None


def count_rows(csv_text: str) -> int:
    """Data rows of a CSV text (lines after the header, blank lines ignored)."""
    return max(0, sum(1 for ln in csv_text.splitlines() if ln.strip()) - 1)


def fits_in_link(csv_text: str | None) -> bool:
    return csv_text is not None and count_rows(csv_text) <= MAX_LINK_ROWS and \
        len(pack_data(csv_text)) <= MAX_TOKEN_CHARS


# --------------------------------------------------------------------------- encode


def _readable(v: float) -> str:
    """A limit for a notice: 20,000 and −1,000,000 rather than 20000 and -1e+06."""
    if float(v).is_integer():
        return f"{int(v):,}".replace("-", "\u2212")
    return _num(v)


def _num(v: float) -> str:
    """Shortest text that reads back as the same float."""
    if float(v).is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


def encode_state(state: State) -> dict[str, str]:
    """State -> query parameters, leaving out what equals the default.

    Simulator settings are written in full with ``src=sim``. Uploaded or edited data
    goes into ``data`` when it fits (:data:`MAX_LINK_ROWS` rows); otherwise the link
    carries only ``src=upload`` and the page asks for the file again.
    """
    out: dict[str, str] = {}
    if state.src != DEFAULT.src:
        out["src"] = state.src
    if state.src == "preset":
        out["preset"] = state.preset
    if state.src == "sim":
        for key, (name, kind, _, _) in SIM_PARAMS.items():
            out[key] = _num(getattr(state.sim, name))
    if state.src in ("upload", "edited"):
        if state.data is not None and fits_in_link(state.data):
            out["data"] = pack_data(state.data)
        for key in ("y", "x", "g"):
            v = getattr(state, key)
            if v is not None:
                out[key] = v
    if state.models != DEFAULT.models:
        out["models"] = ",".join(state.models) if state.models else "none"
    if state.ml:
        out["ml"] = "1"
    if state.opt != DEFAULT.opt:
        out["opt"] = state.opt
    if state.start is not None:
        out["start"] = ",".join(_num(v) for v in state.start)
    for key in ("step", "ftol", "xtol"):
        v = getattr(state, key)
        if v is not None:
            out[key] = _num(v)
    if state.maxeval != DEFAULT.maxeval:
        out["maxeval"] = str(state.maxeval)
    if state.layers != DEFAULT.layers:
        out["layers"] = ",".join(state.layers) if state.layers else "none"
    if state.sel is not None:
        out["sel"] = state.sel
    if state.tab != DEFAULT.tab:
        out["tab"] = state.tab
    if state.tour is not None:
        out["tour"] = str(state.tour)
    if state.xlab:
        out["xlab"] = state.xlab
    if state.ylab:
        out["ylab"] = state.ylab
    return out


def query_string(state: State) -> str:
    """``encode_state`` as a URL query string (without the ``?``)."""
    return urlencode(encode_state(state))


def share_url(base: str, state: State) -> str:
    base = (base or "").split("?", 1)[0].split("#", 1)[0]
    q = query_string(state)
    return f"{base}?{q}" if q else base


# --------------------------------------------------------------------------- decode

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


def shown(value: str, limit: int = 40) -> str:
    """A user's value made safe to quote in a notice: no control characters, short."""
    s = _CONTROL.sub("?", str(value))
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _clean_text(value: str, limit: int) -> tuple[str | None, str | None]:
    """(text, None) or (None, fault) with fault "empty" or "too long"."""
    s = _CONTROL.sub("", value).strip()
    if not s:
        return None, "empty"
    if len(s) > limit:
        return None, "too long"
    return s, None


def _read_number(text: str, whole: bool, lo: float, hi: float) -> tuple[float | None, str | None]:
    """(value, None) or (None, fault), fault one of "not a number", "not whole", "out of range".

    Infinities are numbers out of range; integers are read through float, exact for
    every range used here (and int() of a 5,000-digit text would raise)."""
    try:
        v = float(text.strip())
    except ValueError:
        return None, "not a number"
    if math.isnan(v):
        return None, "not a number"
    if whole and math.isfinite(v) and not v.is_integer():
        return None, "not whole"
    if not lo <= v <= hi:
        return None, "out of range"
    return (int(v) if whole else v), None


def _number_rule(label: str, fault: str, whole: bool, lo: float, hi: float) -> str:
    """The rule a number broke, in words."""
    if fault == "out of range":
        return f"{label} must be between {_readable(lo)} and {_readable(hi)}"
    return f"{label} must be a {'whole ' if whole else ''}number"


def _single(params: Mapping, key: str, notices: list[str]) -> str | None:
    if key not in params:
        return None
    v = params[key]
    if isinstance(v, (list, tuple)):
        vals = [str(x) for x in v]
        if not vals:
            return None
        if len(set(vals)) > 1:
            notices.append(f"The link gives “{key}” {len(vals)} times; the last value was used.")
        return vals[-1]
    return str(v)


def decode_state(params: Mapping[str, str | list[str]]) -> tuple[State, list[str]]:
    """Query parameters -> (State, notices).

    Each bad value falls back to its default, with a notice saying which parameter
    was ignored and which rule it broke. Unknown parameters are reported and ignored.
    Every fault a link can carry is checked for explicitly, so nothing is caught
    wholesale here: an exception means a bug in the decoder, not a bad link.
    """
    notices: list[str] = []
    return _decode(params, notices), notices


# Every parameter a link may carry, in the order they are read (so notices come in that order).
KNOWN_PARAMS = ("src", "preset", *SIM_PARAMS, "data", "y", "x", "g", "models", "ml", "opt", "start", "step", "ftol",
                "xtol", "maxeval", "layers", "sel", "tab", "tour", "xlab", "ylab")


class _Reader:
    """One link being read: its single values (``get``), the notices, and the State
    fields read so far (``s``). Each ``_read_*`` function below reads one part."""

    def __init__(self, params: Mapping, notices: list[str]):
        self.notices = notices
        self.get = {k: _single(params, k, notices) for k in KNOWN_PARAMS}
        self.s: dict = {}

    def bad(self, key: str, why: str, default) -> None:
        """A notice naming the parameter, the rule it broke and the default used instead."""
        self.notices.append(f"Ignored {key}=“{shown(self.get[key])}” in the link: {why}; using {default}.")

    def choice(self, key: str, allowed, why: str, default: str) -> None:
        value = self.get[key]
        if value is None:
            return
        if value in allowed:
            self.s[key] = value
        else:
            self.bad(key, why, default)

    def text(self, key: str, limit: int, what: str, default: str) -> None:
        """A column name or a subject label: printable, at most ``limit`` characters."""
        v = self.get[key]
        if v is None:
            return
        t, fault = _clean_text(v, limit)
        if fault == "empty":
            self.bad(key, f"{what} must have at least one printable character", default)
        elif fault == "too long":
            self.bad(key, f"{what} must be at most {limit} characters", default)
        else:
            self.s[key] = t


def _decode(params: Mapping, notices: list[str]) -> State:
    unknown = [k for k in params if k not in KNOWN_PARAMS and k not in STREAMLIT_PARAMS]
    if unknown:
        names = ", ".join(f"“{shown(k, 20)}”" for k in unknown[:5]) + (" …" if len(unknown) > 5 else "")
        notices.append(f"Ignored unknown link parameter{'s' if len(unknown) > 1 else ''} {names}.")
    r = _Reader(params, notices)
    _read_source(r)
    _read_data(r)
    _read_models(r)
    _read_settings(r)
    _read_page(r)
    return replace(DEFAULT, **r.s)


def _read_source(r: _Reader) -> None:
    """The data source, the preset and the simulator's settings."""
    r.choice("src", SOURCES, f"the data source must be one of {', '.join(SOURCES)}", "the seed example")
    r.choice("preset", PRESETS, f"the preset must be one of {', '.join(PRESETS)}", "classic")
    sim_values = {}
    for key, (name, kind, lo, hi) in SIM_PARAMS.items():
        text = r.get[key]
        if text is None:
            continue
        v, fault = _read_number(text, kind is int, lo, hi)
        if fault is None:
            sim_values[name] = kind(v)
        else:
            rule = _number_rule(f"the simulator's “{SIM_LABELS[key]}”", fault, kind is int, lo, hi)
            r.bad(key, rule, _num(getattr(DEFAULT.sim, name)))
    if sim_values:
        sim = replace(DEFAULT.sim, **sim_values)
        if sim.n_subjects * sim.n_obs > MAX_SIM_ROWS:
            r.notices.append(
                f"Ignored the simulator size in the link: {sim.n_subjects:,} subjects × {sim.n_obs:,} "
                f"observations exceeds {MAX_SIM_ROWS:,} rows; using the default size.")
            sim = replace(sim, n_subjects=DEFAULT.sim.n_subjects, n_obs=DEFAULT.sim.n_obs)
        sim.check()  # the ranges above imply every rule of check(): a failure is a bug
        r.s["sim"] = sim


def _read_data(r: _Reader) -> None:
    """Data inside the link and its column names; a source whose data did not come falls back."""
    s, token = r.s, r.get["data"]
    if token is not None:
        try:
            text = unpack_data(token)
            rows = count_rows(text)
            if rows > 5 * MAX_LINK_ROWS:
                raise LinkDataError(f"the data in the link has {rows:,} rows, more than a link carries")
            s["data"] = text
        except LinkDataError as err:
            r.notices.append(f"Ignored the data in the link: {err}; showing the seed example.")
    for key in ("y", "x", "g"):
        r.text(key, MAX_TEXT, "a column name", "a guessed column")
    if s.get("src") in ("upload", "edited") and "data" not in s:
        what = "uploaded file" if s["src"] == "upload" else "edited table"
        r.notices.append(
            f"This link was made with an {what} that is not inside the link (links carry at most "
            f"{MAX_LINK_ROWS} rows): upload the file again in the Data tab. Showing the seed example meanwhile.")
        s["src"] = "seed"
    if "data" in s and s.get("src") not in ("upload", "edited"):
        s.pop("data")


def _read_models(r: _Reader) -> None:
    """The models, REML or ML, and the optimizer."""
    models = r.get["models"]
    if models is not None:
        r.s["models"] = _parse_list(models, MODEL_KEYS, "models", r.notices, DEFAULT.models)
    ml = r.get["ml"]
    if ml is not None:
        if ml.strip().lower() in ("1", "true", "yes", "ml"):
            r.s["ml"] = True
        elif ml.strip().lower() in ("0", "false", "no", "reml", ""):
            r.s["ml"] = False
        else:
            r.bad("ml", "the fitting method (“Fit by”) must be 1 (maximum likelihood) or 0 (REML)", "REML")
    r.choice("opt", optimizer_choices(), "no optimizer has that name (the Optimizer list in the sidebar "
             "shows them)", "the robust default")


def _read_settings(r: _Reader) -> None:
    """The optimizer's settings: start θ, initial step, tolerances, evaluations per run."""
    start = r.get["start"]
    if start is not None:
        parts = [p for p in start.split(",") if p.strip()]
        read = [_read_number(p, False, -1e8, 1e8) for p in parts]
        faults = {fault for _, fault in read}
        if not parts:
            r.bad("start", "start θ must be numbers separated by commas", "lme4's start")
        elif len(parts) > MAX_START:
            r.bad("start", f"start θ has at most {MAX_START} numbers (3 for the random-slope model)",
                  "lme4's start")
        elif "not a number" in faults:
            r.bad("start", "start θ must be numbers separated by commas", "lme4's start")
        elif "out of range" in faults:
            r.bad("start", "each start θ value must be between -100000000 and 100000000", "lme4's start")
        else:
            r.s["start"] = tuple(v for v, _ in read)
    for key, what in (("step", "the initial step"), ("ftol", "the tolerance on the criterion"),
                      ("xtol", "the tolerance on θ")):
        text = r.get[key]
        if text is None:
            continue
        v, fault = _read_number(text, False, -math.inf, 1e6)
        if fault == "not a number":
            r.bad(key, f"{what} must be a number", "the optimizer's default")
        elif fault == "out of range":
            r.bad(key, f"{what} must be at most 1000000", "the optimizer's default")
        elif v <= 0:
            r.bad(key, f"{what} must be a positive number", "the optimizer's default")
        else:
            r.s[key] = v
    maxeval = r.get["maxeval"]
    if maxeval is not None:
        v, fault = _read_number(maxeval, True, 1, MAX_MAXEVAL)
        if fault is None:
            r.s["maxeval"] = v
        else:
            r.bad("maxeval", _number_rule("the maximum number of evaluations", fault, True, 1, MAX_MAXEVAL),
                  f"{DEFAULT.maxeval:,}")


def _read_page(r: _Reader) -> None:
    """The chart's layers, the selected subject, the tab, the tour step, the axis labels."""
    layers = r.get["layers"]
    if layers is not None:
        r.s["layers"] = _parse_list(layers, LAYERS, "chart layers", r.notices, DEFAULT.layers)
    r.text("sel", MAX_TEXT, "a subject label", "no selection")
    r.choice("tab", TABS, f"the tab must be one of {', '.join(TABS)}", "the Fit tab")
    tour = r.get["tour"]
    if tour is not None:
        v, fault = _read_number(tour, True, 1, TOUR_STEPS)
        if fault is None:
            r.s["tour"] = v
        else:
            r.bad("tour", _number_rule("the tour step", fault, True, 1, TOUR_STEPS), "no tour")
    for key in ("xlab", "ylab"):
        v = r.get[key]
        if v is not None:
            t, fault = _clean_text(v, MAX_LABEL_TEXT)
            if fault == "too long":
                r.bad(key, f"an axis label must be at most {MAX_LABEL_TEXT} characters", "the column name")
            elif fault == "empty" and v.strip():  # blank means no label; control characters only do not
                r.bad(key, "an axis label must have at least one printable character", "the column name")
            elif t is not None:
                r.s[key] = t


def _parse_list(text: str, allowed: tuple[str, ...], what: str, notices: list[str],
                default: tuple[str, ...]) -> tuple[str, ...]:
    if text.strip().lower() in ("none", ""):
        return ()
    items = [t.strip() for t in text.split(",") if t.strip()]
    good = [t for t in allowed if t in items]  # canonical order, no repeats
    unknown = [t for t in items if t not in allowed]
    if unknown:
        fallback = "" if good else "; using the defaults"
        notices.append(
            f"Ignored unknown {what} in the link: {', '.join('“' + shown(u, 20) + '”' for u in unknown[:5])} "
            f"(known: {', '.join(allowed)}){fallback}.")
    return tuple(good) if good else default


__all__ = [
    "State", "DEFAULT", "encode_state", "decode_state", "query_string", "share_url", "pack_data",
    "unpack_data", "LinkDataError", "fits_in_link", "count_rows", "SOURCES", "MODEL_KEYS",
    "MIXED_MODELS", "DEFAULT_MODELS", "LAYERS", "TABS", "TOUR_STEPS", "SIM_PARAMS", "MAX_LINK_ROWS",
    "shown", "LINK_SETTINGS", "optimizer_choices",
]
