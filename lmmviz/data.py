"""Validating grouped data: a table of text cells (or a frame) → :class:`Data`.

The pipeline for what a user hands us: :func:`lmmviz.readers.read_table` (bytes → raw
text table), then :func:`prepare` here (raw table + column choice → :class:`Data`);
:func:`load` does both. Both refuse bad input with a :class:`DataError` whose message
is one plain line. The simulator is :mod:`lmmviz.simulator`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

from .errors import DataError, shown
from .readers import COMMA_NUMBER, Table, read_table
# The simulator's old import path: cli.py, codegen.py and share.py import these from here.
from .simulator import PRESET_LABELS, PRESETS, SimulationSettings, simulate

MAX_LABEL = 200
# |values| above this overflow when squared and summed over many rows.
MAX_ABS_VALUE = 1e100
# Spreads below this underflow when squared (sums of squares become 0 or denormal).
MIN_SPREAD = 1e-150
# Missing-value markers of numeric cells (compared in lower case).
NA_MARKERS = frozenset({"", "na", "nan", "null", "none", "n/a", "#n/a", ".", "-", "missing"})
# Missing-value markers of group labels: labels are text, so only the markers that
# spreadsheets, R and pandas write for an empty cell count (compared exactly);
# "none", "-", "." or "missing" are ordinary labels.
GROUP_NA_MARKERS = frozenset({"", "NA", "N/A", "n/a", "#N/A", "NaN", "nan", "NULL", "null", "<NA>"})

_THOUSANDS_COMMA = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_THOUSANDS_DOT = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d*)?$")
_THOUSANDS_SPACE = re.compile(r"^[+-]?\d{1,3}([ \u00a0\u202f']\d{3})+([.,]\d*)?$")


@dataclass(frozen=True, eq=False)
class Data:
    """Validated data for one analysis: finite numbers, text group labels.

    ``frame`` has the user's own column names (group as text, x and y as floats)
    and only the rows used; ``dropped`` says how many rows were dropped and why.
    """

    frame: pd.DataFrame
    y: str
    x: str
    group: str
    dropped: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def n_obs(self) -> int:
        return len(self.frame)

    @property
    def dropped_rows(self) -> int:
        return int(sum(self.dropped.values()))

    @property
    def groups(self) -> np.ndarray:
        return self.frame[self.group].to_numpy()

    def report(self) -> str:
        """One line on what was dropped, in words."""
        if not self.dropped:
            return f"{self.n_obs} rows used, none dropped."
        parts = ", ".join(f"{k}: {v}" for k, v in self.dropped.items())
        return f"{self.n_obs} rows used; {self.dropped_rows} dropped ({parts})."


# --------------------------------------------------------------------------- columns

_GROUP_HINTS = ("subject", "group", "id", "participant", "patient", "cluster", "unit", "school", "g")
_Y_HINTS = ("pain", "y", "response", "outcome", "score", "value", "reaction", "weight", "distance")
_X_HINTS = ("dosage", "dose", "x", "time", "days", "age", "week", "predictor")


def _is_numeric_column(values: pd.Series) -> bool:
    converted = to_numbers(values, ".")[0]
    present = ~values.str.strip().str.lower().isin(NA_MARKERS)
    return bool(present.any()) and bool(np.isfinite(converted[present.to_numpy()]).mean() > 0.9)


def guess_columns(frame: pd.DataFrame) -> dict[str, str | None]:
    """Guess which columns are the group, x and y, from names first, then types."""
    names = [str(c) for c in frame.columns]
    # A name that appears twice cannot be chosen; it is left out of the guess.
    cols = [c for c in names if names.count(c) == 1]
    lower = {c: c.lower() for c in cols}
    numeric = []
    for c in cols:
        col = frame.iloc[:, names.index(c)]
        if col.dtype.kind in "ifb" or (col.dtype.kind == "O" or str(col.dtype).startswith("str")) and \
                _is_numeric_column(col.astype(str)):
            numeric.append(c)

    def by_name(hints, pool):
        for h in hints:
            for c in pool:
                if lower[c] == h:
                    return c
        for h in hints:
            for c in pool:
                if len(h) > 1 and h in lower[c]:
                    return c
        return None

    group = by_name(_GROUP_HINTS, cols)
    rest = [c for c in numeric if c != group]
    y = by_name(_Y_HINTS, rest)
    x = by_name(_X_HINTS, [c for c in rest if c != y])
    if group is None:
        others = [c for c in cols if c not in numeric] or cols
        group = others[0] if others else None
        rest = [c for c in numeric if c != group]
    if y is None:
        cands = [c for c in rest if c not in (x,)]
        y = cands[-1] if cands else None
    if x is None:
        cands = [c for c in rest if c not in (y,)]
        x = cands[0] if cands else None
    return {"group": group, "x": x, "y": y}


def to_numbers(values: pd.Series, decimal: str) -> tuple[np.ndarray, int]:
    """Text → float64; NA markers → NaN. Returns the array and how many cells used
    thousands separators. Non-numeric text also becomes NaN; callers check."""
    s = values.astype(str).str.strip().str.replace("\u2212", "-", regex=False)
    fast = _strict_floats(s) if decimal == "." else None
    if fast is not None:
        return fast, 0
    thousands = 0
    if decimal == ",":
        mask = s.str.fullmatch(_THOUSANDS_DOT.pattern)
        thousands = int(mask.sum())
        s = s.where(~mask, s.str.replace(".", "", regex=False))
        s = s.str.replace(",", ".", regex=False)
    else:
        mask = s.str.fullmatch(_THOUSANDS_COMMA.pattern)
        thousands = int(mask.sum())
        s = s.where(~mask, s.str.replace(",", "", regex=False))
    mask = s.str.fullmatch(_THOUSANDS_SPACE.pattern)
    if mask.any():
        thousands += int(mask.sum())
        s = s.where(~mask, s.str.replace(r"[ \u00a0\u202f']", "", regex=True).str.replace(",", ".", regex=False))
    out = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    return out, thousands


def _strict_floats(s: pd.Series) -> np.ndarray | None:
    """Every cell a plain number (pyarrow's strict cast: no NA, no separators), or None."""
    try:
        import pyarrow as pa
        import pyarrow.compute as pc

        return pc.cast(pa.array(s), pa.float64()).to_numpy(zero_copy_only=False)
    except Exception:
        return None


_INF_WORDS = re.compile(r"^[+-]?(inf|infinity)$", re.IGNORECASE)


def _numeric_column(table_or_frame: pd.DataFrame, name: str, decimal: str, role: str, rows,
                    other_decimal: str | None = None):
    """Text column → floats. ``other_decimal`` is tried when ``decimal`` leaves cells that
    are not numbers (a semicolon file's guess is per file; columns can differ)."""
    raw = table_or_frame[name]
    if raw.dtype.kind in "iufb":
        # Numeric columns of in-memory frames; NaN and pd.NA are missing values.
        missing = raw.isna().to_numpy()
        return raw.to_numpy(dtype=float, na_value=np.nan), missing, 0, decimal
    text = raw.astype(str)
    values, thousands = to_numbers(text, decimal)
    missing = text.str.strip().str.lower().isin(NA_MARKERS).to_numpy() | raw.isna().to_numpy()
    bad = np.isnan(values) & ~missing
    if bad.any() and other_decimal:
        values2, thousands2 = to_numbers(text, other_decimal)
        if not (np.isnan(values2) & ~missing).any():
            values, thousands, decimal = values2, thousands2, other_decimal
            bad = np.zeros_like(bad)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        cell = str(text.iloc[i]).strip()
        hint = ""
        if decimal == "." and other_decimal is None and COMMA_NUMBER.fullmatch(cell):
            hint = " (a decimal comma? save the file separated by semicolons)"
        raise DataError(
            f"column {shown(name)} ({role}) is not numeric: {rows(i)} holds {shown(cell, 30)}{hint}"
        )
    # A number too large for a float reads as infinity; only the words inf and
    # infinity mean an infinite value (such rows are dropped), a huge number is refused.
    over = np.isinf(values)
    if over.any():
        over[over] = ~text[over].str.strip().str.fullmatch(_INF_WORDS.pattern, case=False).to_numpy()
    if over.any():
        i = int(np.flatnonzero(over)[0])
        raise DataError(
            f"column {shown(name)} ({role}): {rows(i)} holds {shown(str(text.iloc[i]).strip(), 30)}, too large "
            "for the arithmetic (it would overflow): rescale the column (for example to other units)"
        )
    return values, missing, thousands, decimal


def prepare(
    table: Table | pd.DataFrame,
    y: str | None = None,
    x: str | None = None,
    group: str | None = None,
) -> Data:
    """Validate a table for fitting: choose columns, convert numbers, drop unusable rows.

    Rows with a missing or non-finite value in the three columns are dropped and
    counted. Raises :class:`DataError` for problems no row-dropping can fix.
    """
    frame, decimal, other_decimal, notes, rows = _unpack(table)
    y, x, group = _choose_columns(frame, y, x, group)
    frame = frame.loc[:, [group, x, y]]
    yv, y_missing, ty, y_decimal = _numeric_column(frame, y, decimal, "y", rows, other_decimal)
    xv, x_missing, tx, x_decimal = _numeric_column(frame, x, decimal, "x", rows, other_decimal)
    for name, used in ((y, y_decimal), (x, x_decimal)):
        if used != decimal:
            notes.append(f"read column {shown(name)} with decimal {'commas' if used == ',' else 'points'}")
    if ty or tx:
        notes.append(f"read {ty + tx} numbers with thousands separators")
    gtext, g_missing = _group_labels(frame[group], rows)
    keep, dropped = _usable_rows(y_missing | x_missing | g_missing, yv, xv)
    yk, xk = yv[keep], xv[keep]
    _check_scale(x, xk, y, yk)
    out = pd.DataFrame({group: gtext.array[keep], x: xk, y: yk})
    return Data(out, y=y, x=x, group=group, dropped=dropped, notes=tuple(notes))


def _unpack(table: Table | pd.DataFrame):
    """(frame with text column names, decimal, the other decimal to try or None, notes,
    how a row is named in messages): a file's rows by their line, a frame's by position."""
    other_decimal = None
    if isinstance(table, Table):
        frame, decimal, notes = table.frame, table.decimal, list(table.notes)
        row_numbers = frame.index.to_numpy()
        if table.delimiter != ",":
            other_decimal = "," if decimal == "." else "."

        def rows(i: int) -> str:
            return f"row {row_numbers[i]}"
    else:
        frame, decimal, notes = table, ".", []

        def rows(i: int) -> str:
            return f"data row {i + 1}"
    cols = [str(c) for c in frame.columns]
    if list(frame.columns) != cols:  # names that are not text (0, 1, 2 ...) are matched as text
        frame = frame.set_axis(cols, axis=1)
    if frame.empty or len(frame) == 0:
        raise DataError("the table has no data rows")
    return frame, decimal, other_decimal, notes, rows


def _choose_columns(frame: pd.DataFrame, y, x, group) -> tuple[str, str, str]:
    """The y, x and group columns: as named, else guessed; each must exist once."""
    cols = list(frame.columns)
    if y is None or x is None or group is None:
        guess = guess_columns(frame)
        y = y or guess["y"]
        x = x or guess["x"]
        group = group or guess["group"]
    for role, name in (("y", y), ("x", x), ("group", group)):
        if name is None:
            raise DataError(f"cannot tell which column is {role}: name it explicitly")
        count = cols.count(str(name))
        if count == 0:
            names = ", ".join(shown(c) for c in cols[:8]) + (" ..." if len(cols) > 8 else "")
            raise DataError(f"no column named {shown(name)} ({role}); the columns are {names}")
        if count > 1:
            raise DataError(f"the column name {shown(name)} appears {count} times: rename the duplicates")
    if len({y, x, group}) < 3:
        raise DataError("group, x and y must be three different columns")
    return y, x, group


def _group_labels(graw: pd.Series, rows) -> tuple[pd.Series, np.ndarray]:
    """(labels as text, which are missing); a label too long to show is refused."""
    gtext = graw.astype(str).str.strip() if graw.dtype.kind not in "if" else _labels_from_numbers(graw)
    g_missing = gtext.isin(GROUP_NA_MARKERS).to_numpy() | graw.isna().to_numpy()
    long_label = gtext.str.len() > MAX_LABEL
    if long_label.any():
        i = int(np.flatnonzero(long_label.to_numpy())[0])
        raise DataError(
            f"the group label in {rows(i)} is {len(gtext.iloc[i]):,} characters long (the limit is {MAX_LABEL})"
        )
    return gtext, g_missing


def _usable_rows(missing: np.ndarray, yv: np.ndarray, xv: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """(rows kept, rows dropped by reason); refused when no row is left."""
    dropped: dict[str, int] = {}
    if missing.any():
        dropped["missing value"] = int(missing.sum())
    nonfinite = ~missing & ~(np.isfinite(yv) & np.isfinite(xv))
    if nonfinite.any():
        dropped["infinite value"] = int(nonfinite.sum())
    keep = ~(missing | nonfinite)
    if not keep.any():
        raise DataError("no usable rows: every row has a missing or infinite value in the chosen columns")
    return keep, dropped


def _check_scale(x: str, xk: np.ndarray, y: str, yk: np.ndarray) -> None:
    """Refuse values whose squares overflow or whose differences' squares underflow."""
    big = max(np.abs(yk).max(), np.abs(xk).max())
    if big > MAX_ABS_VALUE:
        raise DataError(
            f"values as large as {big:.3g} overflow the arithmetic: rescale the column (for example to other units)"
        )
    for name, v in ((x, xk), (y, yk)):
        spread = float(np.ptp(v))
        if 0 < spread < MIN_SPREAD:
            raise DataError(
                f"the values of {shown(name)} differ by at most {spread:.3g}, too little for the arithmetic "
                "(their squares underflow): rescale the column (for example to other units)"
            )


def _labels_from_numbers(values: pd.Series) -> pd.Series:
    # A numeric group column read by pandas: write integers without ".0".
    arr = values.to_numpy()
    out = [
        ("" if pd.isna(v) else str(int(v)) if float(v).is_integer() else repr(float(v)))
        for v in arr
    ]
    return pd.Series(out, index=values.index, dtype=object)


def load(
    source: str | Path | bytes | BinaryIO,
    y: str | None = None,
    x: str | None = None,
    group: str | None = None,
) -> Data:
    """:func:`read_table` then :func:`prepare`."""
    return prepare(read_table(source), y=y, x=x, group=group)


def frame_to_data(frame: pd.DataFrame, y: str = "pain", x: str = "dosage", group: str = "subject_id") -> Data:
    """Validate an in-memory frame (simulated or edited) the same way as a file."""
    text = frame.copy()
    if text[group].dtype.kind in "if":
        text[group] = _labels_from_numbers(text[group])
    return prepare(text, y=y, x=x, group=group)


# --------------------------------------------------------------------------- examples


def example_bytes(name: str = "seed") -> bytes:
    """The raw bytes of a packaged example data set."""
    return resources.files("lmmviz.examples").joinpath(f"{name}.csv").read_bytes()


def seed() -> Data:
    """The seed example: 3 subjects, 4 doses each (columns subject_id, dosage, pain)."""
    return load(example_bytes("seed"), y="pain", x="dosage", group="subject_id")


@dataclass(frozen=True)
class Lme4Reported:
    """What R's lme4 itself reported for the seed example with one optimizer (stored by
    tests/fixtures/make_refs.R and make_seed_lme4_extract.py)."""

    optimizer: str  # allFit's name: bobyqa, Nelder_Mead, ...
    model: str
    reml: bool
    criterion: float
    slope: float
    singular: bool
    message: str  # lme4's optinfo message ("Normal exit from bobyqa")
    lme4_version: str


def seed_lme4(model: str, reml: bool = True) -> dict[str, Lme4Reported]:
    """lme4's own fits of the seed example by every allFit optimizer, by allFit's name."""
    raw = json.loads(resources.files("lmmviz.examples").joinpath("seed.lme4.json").read_text(encoding="utf-8"))
    return {f["optimizer"]: Lme4Reported(f["optimizer"], f["model"], f["reml"], float(f["criterion"]),
                                         float(f["slope"]), f["singular"], f["message"], raw["lme4_version"])
            for f in raw["fits"] if f["model"] == model and f["reml"] == reml}


__all__ = [
    "DataError", "Table", "Data", "read_table", "prepare", "load", "guess_columns", "seed",
    "example_bytes", "SimulationSettings", "PRESETS", "PRESET_LABELS", "simulate", "frame_to_data",
]
