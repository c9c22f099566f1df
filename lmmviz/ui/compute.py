"""Data and fits for the app, cached with ``st.cache_data``.

Every cached function is keyed on a short data key (a hash of the bytes, or the
simulator settings) plus plain settings; the data object itself is passed with a
leading underscore so that Streamlit does not hash it. Caches are bounded in
entries, bytes and time. Errors are returned as values, so that they cache too.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np
import pandas as pd
import streamlit as st

import lmmviz
from lmmviz.codegen import APP_MAX_SECONDS
from lmmviz.data import DataError, example_bytes, guess_columns
from lmmviz.optimizers import ROBUST, OptimizerSettings
from lmmviz.share import MAX_LINK_ROWS, State, fits_in_link

MAX_ROWS = 2_000_000  # rows of an uploaded file
MAX_TEXT_BYTES = 256 * 2**20  # text of an uploaded file, after unpacking gzip
MAX_EDIT_ROWS = 2_000  # rows the table editor takes
TTL = 3600

_CACHE = MappingProxyType(dict(ttl=TTL, show_spinner=False))


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:24]


# --------------------------------------------------------------------------- data


@dataclass(frozen=True, eq=False)
class Loaded:
    """The data the page shows, where it came from, and what went wrong."""

    data: object  # lmmviz.Data
    key: str  # cache key of the data
    name: str  # shown as "Data:" in summaries
    source: str  # the source actually shown (seed when the wanted one failed)
    error: str | None = None  # one line, for st.error
    table_columns: tuple = ()
    table: object | None = None  # lmmviz.data.Table of an upload or edit
    guessed: dict = field(default_factory=dict)
    raw_rows: int = 0
    link_text: str | None = None  # small data for the share link


@st.cache_data(max_entries=4, **_CACHE)
def _seed() -> tuple:
    raw = example_bytes("seed")
    return lmmviz.load(raw, y="pain", x="dosage", group="subject_id"), raw.decode("utf-8")


@st.cache_data(max_entries=24, max_size="600MB", ttl=TTL, show_spinner="Simulating…")
def _simulated(settings) -> object:
    """``settings``: the frozen :class:`lmmviz.SimulationSettings`, hashed by its fields."""
    return lmmviz.frame_to_data(lmmviz.simulate(settings), y="pain", x="dosage", group="subject_id")


def simulate_data(settings) -> object:
    return _simulated(settings)


def _lines(text: bytes) -> int:
    return max(text.count(b"\n"), text.count(b"\r"))


def precheck(raw: bytes) -> str | None:
    """Refuse, before parsing, a file with far more lines than the app takes rows, or a
    gzip file that unpacks to more text than the app reads. Counting lines is ~100 times
    cheaper than parsing them: a 175 KB gzip upload of 20 million short rows would
    otherwise take seconds and 1.5 GB to read before the row cap could refuse it (a
    1.5 MB one, 20 GB). Returns the error in one line, or None."""
    too_many = (f"the file has more than {MAX_ROWS:,} lines; the app takes at most {MAX_ROWS:,} rows "
                "(use the Python package or the command line for more)")
    if raw[:2] != b"\x1f\x8b":
        return too_many if _lines(raw) > MAX_ROWS + 1 else None
    size = lines = 0
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    buf = raw
    try:
        while buf:
            chunk = d.decompress(buf, 1 << 24)
            buf = d.unconsumed_tail
            size += len(chunk)
            lines += _lines(chunk)
            if size > MAX_TEXT_BYTES:
                return (f"the gzip file unpacks to more than {MAX_TEXT_BYTES >> 20:,} MB of text; that is more "
                        "than the app reads (use the Python package or the command line)")
            if lines > MAX_ROWS + 1:
                return too_many
            if d.eof:  # a further gzip member may follow, as gzip.decompress reads it
                buf = d.unused_data
                if buf[:2] != b"\x1f\x8b":
                    break
                d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    except zlib.error:
        return None  # damaged: the reader says so in its own words
    return None


@st.cache_data(max_entries=8, max_size="1GB", ttl=TTL, show_spinner="Reading the file…")
def _read_table(key: str, _raw: bytes):
    err = precheck(_raw)
    if err:
        return None, err
    try:
        table = lmmviz.read_table(_raw)
    except DataError as err:
        return None, str(err)
    except (ValueError, UnicodeError, MemoryError, OverflowError) as err:
        return None, " ".join(f"cannot read the file: {err}".split())
    if len(table.frame) > MAX_ROWS:
        return None, (f"the file has {len(table.frame):,} rows; the app takes at most {MAX_ROWS:,} "
                      "(use the Python package or the command line for more)")
    return table, None


@st.cache_data(max_entries=8, max_size="1GB", ttl=TTL, show_spinner="Checking the data…")
def _prepare(key: str, _table, y: str, x: str, g: str):
    try:
        return lmmviz.prepare(_table, y=y, x=x, group=g), None
    except DataError as err:
        return None, str(err)
    except (ValueError, KeyError, MemoryError, OverflowError) as err:
        return None, " ".join(f"cannot use these columns: {err}".split())


def seed_loaded(error: str | None = None, wanted: str = "seed") -> Loaded:
    data, text = _seed()
    return Loaded(data, "seed", "seed", "seed", error=error, raw_rows=data.n_obs)


def read_upload(raw: bytes):
    """(Table or None, error or None, key) of uploaded bytes; cached on their hash."""
    key = digest(raw)
    table, err = _read_table(key, raw)
    return table, err, key


def link_text_for(raw: bytes, table, y: str, x: str, g: str) -> str | None:
    """Small data for the link: the whole file if it fits, else its three used columns."""
    if table is None or len(table.frame) > MAX_LINK_ROWS:
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = None
    if text is not None and fits_in_link(text):
        return text
    cols = [c for c in (g, x, y) if c in table.frame.columns]
    if len(cols) < 3:
        return None
    small = table.frame[cols].to_csv(index=False, sep=table.delimiter)
    return small if fits_in_link(small) else None


def load_state_data(state: State, upload: dict | None) -> Loaded:
    """The data the state asks for; on failure the seed, with the error in words."""
    if state.src == "seed":
        return seed_loaded()
    if state.src == "preset":
        settings = lmmviz.PRESETS.get(state.preset)
        if settings is None:
            return seed_loaded(f"unknown preset {state.preset!r}")
        data = simulate_data(settings)
        return Loaded(data, f"preset:{state.preset}", state.preset, "preset", raw_rows=data.n_obs)
    if state.src == "sim":
        try:
            state.sim.check()
            if state.sim.n_subjects * state.sim.n_obs > MAX_ROWS:
                raise DataError(f"at most {MAX_ROWS:,} rows can be simulated in the app")
            data = simulate_data(state.sim)
        except DataError as err:
            return seed_loaded(f"Simulator: {err}. Showing the seed example instead.")
        return Loaded(data, f"sim:{tuple(state.sim.__dict__.values())!r}", "simulated", "sim", raw_rows=data.n_obs)
    # upload or edited
    # Summaries say "Data: upload" (or "edited") whether the data came from the file or
    # from a link, so that a shared page reads the same; the Data tab names the file.
    if state.src == "upload" and upload is not None:
        raw, name = upload["bytes"], "upload"
    elif state.data is not None:
        raw, name = state.data.encode("utf-8"), state.src
    else:
        what = "Upload a file in the Data tab" if state.src == "upload" else "Edit the table in the Data tab"
        return seed_loaded(f"{what}; the seed example is shown meanwhile.")
    table, err, key = read_upload(raw)
    label = upload["name"] if state.src == "upload" and upload is not None else name
    if err:
        return seed_loaded(f"{label}: {err}. Showing the seed example instead.")
    cols = tuple(str(c) for c in table.frame.columns)
    # Names and types decide the guess; the first rows show them (all 1M rows cost seconds).
    guess = guess_columns(table.frame.head(5000)) if not {state.y, state.x, state.g} <= set(cols) else {}
    y = state.y if state.y in cols else guess.get("y")
    x = state.x if state.x in cols else guess.get("x")
    g = state.g if state.g in cols else guess.get("group")
    base = Loaded(None, "", name, "seed", table_columns=cols, table=table,
                  guessed={"y": y, "x": x, "g": g}, raw_rows=len(table.frame))
    if None in (y, x, g):
        return _fallback(base, f"{label}: cannot tell which columns are group, x and y; choose them in the Data tab")
    data, err = _prepare(key, table, y, x, g)
    if err:
        return _fallback(base, f"{label}: {err}")
    link = state.data if state.data is not None and state.src == "edited" else link_text_for(raw, table, y, x, g)
    return Loaded(data, f"{key}:{y}|{x}|{g}", name, state.src, table_columns=cols, table=table,
                  guessed={"y": y, "x": x, "g": g}, raw_rows=len(table.frame), link_text=link)


def _fallback(base: Loaded, error: str) -> Loaded:
    seed_data, _ = _seed()
    return Loaded(seed_data, "seed", "seed", "seed", error=f"{error}. Showing the seed example instead.",
                  table_columns=base.table_columns, table=base.table, guessed=base.guessed,
                  raw_rows=base.raw_rows)


# --------------------------------------------------------------------------- fits


@dataclass(frozen=True, eq=False)
class FitResult:
    fit: object | None
    error: str | None = None


def fit_settings(state: State, model: str) -> OptimizerSettings:
    """The settings the page fits ``model`` with (the start only where it fits the model)."""
    return state.settings.for_model(model)


@st.cache_data(max_entries=96, max_size="800MB", ttl=TTL, show_spinner=False)
def _fit(key: str, _data, model: str, settings: OptimizerSettings) -> FitResult:
    try:
        return FitResult(lmmviz.fit(_data, model, settings=settings))
    except DataError as err:
        return FitResult(None, str(err))
    except (ValueError, FloatingPointError, ArithmeticError, MemoryError, RuntimeError, np.linalg.LinAlgError) as err:
        return FitResult(None, " ".join(f"the fit failed: {err}".split()))


def fit_model(loaded: Loaded, model: str, settings: OptimizerSettings) -> FitResult:
    return _fit(loaded.key, loaded.data, model, settings)


# The two lme4 optimizers of the seed question, by lme4's names.
LME4_QUESTION = ("lme4:bobyqa", "lme4:Nelder_Mead")


def lme4_fit(loaded: Loaded, model: str, reml: bool, optimizer: str) -> FitResult:
    """``optimizer`` (an lme4 twin) as lme4 runs it: lme4's start and lme4's settings
    (every setting left to the optimizer's own default)."""
    return _fit(loaded.key, loaded.data, model, OptimizerSettings(optimizer=optimizer, reml=reml))


def robust_reference(loaded: Loaded, model: str, reml: bool) -> FitResult:
    """The robust default's fit with default settings: the yardstick for local optima."""
    return _fit(loaded.key, loaded.data, model, OptimizerSettings(reml=reml, max_seconds=APP_MAX_SECONDS))


@st.cache_data(max_entries=32, ttl=TTL, show_spinner=False)
def _pooled(key: str, _data):
    try:
        return lmmviz.pooled_ols(_data)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError):
        return None


@st.cache_data(max_entries=32, max_size="200MB", ttl=TTL, show_spinner=False)
def _per_group(key: str, _data) -> pd.DataFrame:
    return lmmviz.per_group_ols(_data)


def pooled(loaded: Loaded):
    return _pooled(loaded.key, loaded.data)


def per_group(loaded: Loaded) -> pd.DataFrame:
    return _per_group(loaded.key, loaded.data)


@st.cache_data(max_entries=32, ttl=TTL, show_spinner="Refitting by maximum likelihood for the test…")
def _anova(key: str, _data, models: tuple):
    try:
        return lmmviz.anova(_data, models, settings=lmmviz.OptimizerSettings(max_seconds=APP_MAX_SECONDS)), None
    except (DataError, ValueError, FloatingPointError, ArithmeticError) as err:
        return None, str(err)


def anova(loaded: Loaded, models: tuple):
    return _anova(loaded.key, loaded.data, models)


MAX_SECONDS_COMPARE = 10.0  # per optimizer run in a comparison


def compare_settings(settings: OptimizerSettings | None = None, start=None,
                     reml: bool | None = None) -> OptimizerSettings:
    """The settings of a comparison: ``start`` (None: lme4's) for every optimizer, each run
    bounded by :data:`MAX_SECONDS_COMPARE`. The optimizer is not part of it (every one
    runs), so it is left at the default: one cache entry whichever the page fits with."""
    s = settings or OptimizerSettings()
    return replace(s, start=None if start is None else tuple(start), optimizer=ROBUST,
                   reml=s.reml if reml is None else reml, max_seconds=min(s.max_seconds, MAX_SECONDS_COMPARE))


@st.cache_data(max_entries=16, max_size="400MB", ttl=TTL, show_spinner=False)
def _compare(key: str, _data, model: str, settings: OptimizerSettings):
    try:
        return lmmviz.compare(_data, model, settings=settings), None
    except (DataError, ValueError, FloatingPointError, ArithmeticError, np.linalg.LinAlgError) as err:
        return None, " ".join(str(err).split())


def compare(key: str, data, model: str, settings: OptimizerSettings):
    """Every optimizer on ``data`` (keyed by ``key``) from ``settings.start``:
    (Comparison, None) or (None, the error in one line). Build ``settings`` with
    :func:`compare_settings`."""
    return _compare(key, data, model, settings)


@st.cache_data(max_entries=32, ttl=TTL, show_spinner="Profiling the likelihood…")
def _confint(key: str, _data, _fit, model: str, settings: OptimizerSettings, method: str):
    try:
        return lmmviz.confint(_fit, _data, method), None
    except (DataError, ValueError, FloatingPointError, ArithmeticError, np.linalg.LinAlgError) as err:
        return None, " ".join(str(err).split())


def confint(loaded: Loaded, fit, settings: OptimizerSettings, method: str):
    """lme4's confint of ``fit`` (fitted to ``loaded`` with ``settings``): (Confint, None)
    or (None, the error in one line)."""
    return _confint(loaded.key, loaded.data, fit, fit.model, settings, method)


def data_csv(data) -> bytes:
    return data.frame.to_csv(index=False).encode("utf-8")
