"""Reading, validating and simulating grouped data.

Everything a user hands us goes through :func:`read_table` (bytes → raw text table)
and :func:`prepare` (raw table + column choice → :class:`Data`). Both refuse bad
input with a :class:`DataError` whose message is one plain line.
"""

from __future__ import annotations

import json

import csv
import io
import re
import zlib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pandas as pd

# Decompressed gzip input is capped so that a small "zip bomb" cannot eat the memory.
MAX_DECOMPRESSED = 1 << 30
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
# Whole input files are capped too (a path to /dev/zero must not eat the memory).
MAX_INPUT = 1 << 30
_SHOWN = 40  # longest name or value quoted in a message

_THOUSANDS_COMMA = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_THOUSANDS_DOT = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d*)?$")
_THOUSANDS_SPACE = re.compile(r"^[+-]?\d{1,3}([ \u00a0\u202f']\d{3})+([.,]\d*)?$")


class DataError(ValueError):
    """Input that cannot be used; ``str(err)`` is one line meant for the user.

    Line breaks in the message (for example from a column name that holds one)
    become spaces, so the message is always a single line.
    """

    def __init__(self, message: str = "") -> None:
        super().__init__(" ".join(str(message).splitlines()).strip())


def _shown(value, limit: int = _SHOWN) -> str:
    """``repr`` of a name or cell for a message, cut to ``limit`` characters."""
    text = str(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return repr(text)


@dataclass(frozen=True)
class Table:
    """A text table read from a file: every cell is kept as the text it was."""

    frame: pd.DataFrame
    delimiter: str
    decimal: str
    encoding: str
    notes: tuple[str, ...] = ()


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


# --------------------------------------------------------------------------- reading


def _read_stream(stream) -> bytes:
    """Read a binary stream, refusing early what is plainly binary and what is too big."""
    head = stream.read(1 << 16)
    if isinstance(head, str):
        return (head + stream.read()).encode("utf-8")
    head = bytes(head)
    known = head.startswith(b"\x1f\x8b") or any(head.startswith(m) for m in _MAGIC)
    if not known and _plainly_binary(head):
        raise DataError("the file is binary, not a text table (CSV or TSV)")
    rest = stream.read(MAX_INPUT + 1 - len(head)) if len(head) == 1 << 16 else b""
    raw = head + bytes(rest)
    if len(raw) > MAX_INPUT:
        raise DataError("the file is larger than 1 GB; that is too large")
    return raw


def _read_bytes(source: str | Path | bytes | BinaryIO) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if hasattr(source, "read"):
        return _read_stream(source)
    path = Path(source)
    try:
        with open(path, "rb") as fh:
            return _read_stream(fh)
    except FileNotFoundError:
        raise DataError(f"no such file: {_shown(str(path), 200)}") from None
    except IsADirectoryError:
        raise DataError(f"{_shown(str(path), 200)} is a folder, not a file") from None
    except OSError as err:
        raise DataError(f"cannot read {_shown(str(path), 200)}: {err.strerror or err}") from None


def _plainly_binary(head: bytes) -> bool:
    """NUL bytes that are not the zero high bytes of UTF-16 text."""
    if b"\x00" not in head or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    even, odd = head[0::2].count(0), head[1::2].count(0)
    half = max(len(head) // 2, 1)
    utf16_like = max(even, odd) > 0.3 * half and min(even, odd) <= 0.02 * half
    return not utf16_like


def _gunzip(raw: bytes) -> bytes:
    """Unpack gzip (all members, as ``gzip.decompress``), capped at MAX_DECOMPRESSED."""
    parts: list[bytes] = []
    size = 0
    while True:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out = d.decompress(raw, MAX_DECOMPRESSED - size)
        except zlib.error:
            raise DataError("the file looks gzip-compressed but is damaged") from None
        if d.unconsumed_tail:
            raise DataError("the gzip file unpacks to more than 1 GB; that is too large")
        if not d.eof:
            raise DataError("the gzip file is cut short (damaged or incompletely downloaded)")
        parts.append(out)
        size += len(out)
        raw = d.unused_data.lstrip(b"\x00")
        if not raw.startswith(b"\x1f\x8b"):
            break
    return b"".join(parts)


_MAGIC = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a spreadsheet or zip archive (xlsx, ods or zip)",
    b"\xd0\xcf\x11\xe0": "an old Excel or Office file (xls)",
    b"SQLite format": "an SQLite database",
    b"PAR1": "a Parquet file",
    b"\x7fELF": "a program, not data",
    b"BZh": "a bzip2 archive",
    b"\xfd7zXZ": "an xz archive",
}


def _decode(raw: bytes) -> tuple[str, str]:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="strict"), "utf-8 (BOM)"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise DataError("the file is UTF-16 text that is cut off or damaged (an odd number of bytes)") from None
    # UTF-16 without a BOM: every other byte of ASCII text is NUL.
    head = raw[:4096]
    if len(head) >= 4 and head.count(0) > len(head) // 3:
        even, odd = head[0::2].count(0), head[1::2].count(0)
        codec = "utf-16-le" if odd > even else "utf-16-be"
        try:
            return raw.decode(codec), codec
        except UnicodeDecodeError:
            pass
    if b"\x00" in head:
        raise DataError("the file is binary, not a text table (CSV or TSV)")
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace"), "cp1252"


# Control characters that never occur in a text table (tab, line feed, carriage
# return and form feed do); U+FFFD is what an undecodable byte becomes.
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]")


def _looks_binary(text: str) -> bool:
    head = text[:8192]
    return len(_CONTROL.findall(head)) > max(2, 0.01 * len(head))


def _sniff_delimiter(text: str) -> str:
    lines = [ln for ln in text[:65536].splitlines()[:50] if ln.strip()]
    best, best_score = ",", -1.0
    for delim in (",", ";", "\t", "|"):
        try:
            rows = list(csv.reader(lines, delimiter=delim))
        except csv.Error:
            continue
        widths = [len(r) for r in rows]
        if not widths or max(widths) < 2:
            continue
        mode = max(set(widths), key=widths.count)
        score = widths.count(mode) / len(widths) + (0.01 * mode if mode > 1 else 0)
        if mode > 1 and score > best_score:
            best, best_score = delim, score
    return best


def _looks_like_not_a_table(text: str) -> str | None:
    head = text.lstrip()[:2048].lower()
    first = head.split("\n", 1)[0]
    if head.startswith(("<!doctype", "<html", "<?xml", "<head", "<body", "<table", "<div")):
        return "an HTML or XML page"
    # Other markup (SVG, XML without a declaration): a first line that opens a tag and
    # has no separator. A CSV header such as "<b>id</b>,x,y" has separators.
    if re.match(r"<[a-z!?/]", head) and not any(d in first for d in ",;\t|"):
        return "an HTML or XML page"
    if head.startswith("{\\rtf"):
        return "an RTF document"
    if head.startswith(("{", "[")):
        return "JSON"
    return None


def read_table(source: str | Path | bytes | BinaryIO) -> Table:
    """Read a CSV or TSV (optionally gzip-compressed) into a table of text cells.

    The delimiter is sniffed among comma, semicolon, tab and bar; with ``;`` a
    decimal comma is assumed when numbers use it. UTF-8 (with or without BOM),
    UTF-16 and cp1252 are read. No cell is interpreted here.
    """
    if isinstance(source, str) and source == "-":
        import sys

        raw = _read_stream(sys.stdin.buffer)
    else:
        raw = _read_bytes(source)
    if raw.startswith(b"\x1f\x8b"):
        raw = _gunzip(raw)
    if not raw.strip():
        raise DataError("the file is empty")
    for magic, what in _MAGIC.items():
        if raw.startswith(magic):
            raise DataError(f"the file is {what}, not a text table: save it as CSV and try again")
    text, encoding = _decode(raw)
    if "\x00" in text or _looks_binary(text):
        raise DataError("the file is binary, not a text table (CSV or TSV)")
    what = _looks_like_not_a_table(text)
    if what:
        raise DataError(f"the file is {what}, not a CSV or TSV table")
    notes: list[str] = []
    # Excel writes a first line "sep=;" when asked to name the separator.
    directive = re.match(r"\A[ \t]*sep=(.)[ \t]*\r?\n", text)
    skip = 0
    if directive and directive.group(1) in ",;\t|":
        delim = directive.group(1)
        text = text[directive.end():]
        skip = 1
        notes.append(f"used the separator {delim!r} named on the first line (sep=)")
    else:
        delim = _sniff_delimiter(text)
    # Blank lines before the header (the parser takes the width of the table from
    # its first line); they still count in the row numbers of messages.
    leading = re.match(r"\A(?:[ \t]*(?:\r\n|\r|\n))*", text).group(0)
    if leading:
        skip += len(leading.splitlines())
        text = text[len(leading):]
    # pyarrow's reader when it cannot differ from the C reader (10x faster at 1M rows).
    frame = _read_fast(text, delim)
    try:
        if frame is None:
            frame = pd.read_csv(
                io.StringIO(text),
                sep=delim,
                header=None,
                dtype=str,
                keep_default_na=False,
                skip_blank_lines=False,
                engine="c",
            )
    except pd.errors.ParserError as err:
        msg = str(err).strip().splitlines()[-1] if str(err).strip() else "parse error"
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
        if m:
            raise DataError(
                f"line {m.group(2)} has {m.group(3)} fields but the header has {m.group(1)}"
            ) from None
        if "EOF inside string" in msg or "EOF" in msg:
            raise DataError("a quoted field is never closed (unbalanced quotes)") from None
        raise DataError(f"cannot parse the table: {msg}") from None
    except pd.errors.EmptyDataError:
        raise DataError("the file is empty") from None
    except (ValueError, OverflowError, MemoryError) as err:
        raise DataError(f"cannot parse the table: {err}") from None
    # Rows are numbered as a spreadsheet shows them (the first line is row 1;
    # a quoted field with line breaks stays one row). Rows with no content at all
    # (blank lines, or only separators as spreadsheets export them) are skipped and
    # not counted as dropped.
    frame.index = np.arange(1 + skip, len(frame) + 1 + skip)
    blank = frame.fillna("").apply(lambda col: col.str.strip().eq("")).all(axis=1)
    frame = frame.loc[~blank.to_numpy()]
    if frame.empty:
        raise DataError("the file is empty")
    if frame.shape[1] < 2:
        raise DataError(
            "found only one column: the file needs a header and comma, semicolon or tab separated columns"
        )
    header = [("" if pd.isna(h) else str(h)).strip() for h in frame.iloc[0].tolist()]
    body = frame.iloc[1:]
    if body.empty:
        raise DataError("the file has a header but no data rows")
    body.columns = header
    decimal = "."
    if delim == ";" and _uses_decimal_comma(body):
        decimal = ","
        notes.append("read decimal commas (semicolon-separated file)")
    return Table(body, delim, decimal, encoding, tuple(notes))


_COMMA_NUMBER = re.compile(r"[+-]?\d*,\d+([eE][+-]?\d+)?")
_DOT_NUMBER = re.compile(r"[+-]?\d*\.\d+([eE][+-]?\d+)?")


def _read_fast(text: str, delim: str) -> pd.DataFrame | None:
    """The same text table through pyarrow's multi-threaded CSV reader, or None.

    Only for text where the two readers cannot differ: no quote characters and no
    blank lines (which the C reader keeps, for row numbers, and pyarrow drops).
    Anything pyarrow rejects (ragged rows, ...) goes to the C reader for its message.
    """
    if '"' in text or "\r" in text or "\n\n" in text or text.startswith("\n"):
        return None
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return None
    try:
        return pd.read_csv(io.BytesIO(text.encode("utf-8")), sep=delim, header=None, dtype=str,
                           keep_default_na=False, engine="pyarrow")
    except Exception:
        return None


def _uses_decimal_comma(body: pd.DataFrame) -> bool:
    sample = body.head(200).to_numpy().ravel()
    comma = sum(bool(_COMMA_NUMBER.fullmatch(str(v).strip())) for v in sample)
    dot = sum(bool(_DOT_NUMBER.fullmatch(str(v).strip())) for v in sample)
    return comma > dot


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
        if decimal == "." and other_decimal is None and _COMMA_NUMBER.fullmatch(cell):
            hint = " (a decimal comma? save the file separated by semicolons)"
        raise DataError(
            f"column {_shown(name)} ({role}) is not numeric: {rows(i)} holds {_shown(cell, 30)}{hint}"
        )
    # A number too large for a float reads as infinity; only the words inf and
    # infinity mean an infinite value (such rows are dropped), a huge number is refused.
    over = np.isinf(values)
    if over.any():
        over[over] = ~text[over].str.strip().str.fullmatch(_INF_WORDS.pattern, case=False).to_numpy()
    if over.any():
        i = int(np.flatnonzero(over)[0])
        raise DataError(
            f"column {_shown(name)} ({role}): {rows(i)} holds {_shown(str(text.iloc[i]).strip(), 30)}, too large "
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
            shown = ", ".join(_shown(c) for c in cols[:8]) + (" ..." if len(cols) > 8 else "")
            raise DataError(f"no column named {_shown(name)} ({role}); the columns are {shown}")
        if count > 1:
            raise DataError(f"the column name {_shown(name)} appears {count} times: rename the duplicates")
    if len({y, x, group}) < 3:
        raise DataError("group, x and y must be three different columns")
    frame = frame.loc[:, [group, x, y]]
    yv, y_missing, ty, y_decimal = _numeric_column(frame, y, decimal, "y", rows, other_decimal)
    xv, x_missing, tx, x_decimal = _numeric_column(frame, x, decimal, "x", rows, other_decimal)
    for name, used in ((y, y_decimal), (x, x_decimal)):
        if used != decimal:
            notes.append(f"read column {_shown(name)} with decimal {'commas' if used == ',' else 'points'}")
    graw = frame[group]
    gtext = graw.astype(str).str.strip() if graw.dtype.kind not in "if" else _labels_from_numbers(graw)
    g_missing = gtext.isin(GROUP_NA_MARKERS).to_numpy() | graw.isna().to_numpy()
    if ty or tx:
        notes.append(f"read {ty + tx} numbers with thousands separators")
    long_label = gtext.str.len() > MAX_LABEL
    if long_label.any():
        i = int(np.flatnonzero(long_label.to_numpy())[0])
        raise DataError(
            f"the group label in {rows(i)} is {len(gtext.iloc[i]):,} characters long (the limit is {MAX_LABEL})"
        )
    dropped: dict[str, int] = {}
    missing = y_missing | x_missing | g_missing
    if missing.any():
        dropped["missing value"] = int(missing.sum())
    nonfinite = ~missing & ~(np.isfinite(yv) & np.isfinite(xv))
    if nonfinite.any():
        dropped["infinite value"] = int(nonfinite.sum())
    keep = ~(missing | nonfinite)
    if not keep.any():
        raise DataError("no usable rows: every row has a missing or infinite value in the chosen columns")
    yk, xk = yv[keep], xv[keep]
    big = max(np.abs(yk).max(), np.abs(xk).max())
    if big > MAX_ABS_VALUE:
        raise DataError(
            f"values as large as {big:.3g} overflow the arithmetic: rescale the column (for example to other units)"
        )
    for name, v in ((x, xk), (y, yk)):
        spread = float(np.ptp(v))
        if 0 < spread < MIN_SPREAD:
            raise DataError(
                f"the values of {_shown(name)} differ by at most {spread:.3g}, too little for the arithmetic "
                "(their squares underflow): rescale the column (for example to other units)"
            )
    out = pd.DataFrame({group: gtext.array[keep], x: xk, y: yk})
    return Data(out, y=y, x=x, group=group, dropped=dropped, notes=tuple(notes))


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


# --------------------------------------------------------------------------- simulator


@dataclass(frozen=True)
class SimulationSettings:
    """Settings of the Simpson's-paradox generator (the app and the CLI share it).

    Subject i takes ``n_obs`` doses spread evenly over ``dose_range`` starting at
    ``i * dose_spacing``. Its baseline pain (at dose 0) is ``intercept +
    confounding * start_dose + N(0, baseline_sd)``; within the subject pain changes
    by ``slope + N(0, slope_sd)`` per unit of dose; residuals are ``N(0, sigma)``.
    """

    n_subjects: int = 3
    n_obs: int = 4
    dose_spacing: float = 25.0
    dose_range: float = 3.0
    confounding: float = 17.0
    slope: float = -8.0
    slope_sd: float = 0.5
    sigma: float = 3.0
    intercept: float = 100.0
    baseline_sd: float = 10.0
    seed: int = 1

    def check(self) -> None:
        if not (2 <= self.n_subjects <= 200_000):
            raise DataError("number of subjects must be between 2 and 200,000")
        if not (1 <= self.n_obs <= 10_000):
            raise DataError("observations per subject must be between 1 and 10,000")
        if self.n_subjects * self.n_obs > 20_000_000:
            raise DataError("at most 20 million rows can be simulated")
        for name in ("dose_spacing", "dose_range", "confounding", "slope", "slope_sd", "sigma",
                     "intercept", "baseline_sd"):
            v = getattr(self, name)
            if not np.isfinite(v) or abs(v) > 1e6:
                raise DataError(f"the {_SIM_WORDS[name]} ({name}) must be a finite number below 1e6 in size")
        if not 0 <= int(self.seed) < 2**63:
            raise DataError("the seed must be a whole number from 0 to 2**63 - 1")
        if self.slope_sd < 0 or self.sigma < 0 or self.baseline_sd < 0 or self.dose_range < 0:
            raise DataError("standard deviations and the dose range cannot be negative")


_SIM_WORDS = {"dose_spacing": "spacing of subjects' doses", "dose_range": "dose range of each subject",
              "confounding": "confounding", "slope": "within-subject slope", "slope_sd": "SD of slopes",
              "sigma": "residual SD", "intercept": "baseline at dose 0", "baseline_sd": "SD of baselines"}


PRESETS: dict[str, SimulationSettings] = {
    "classic": SimulationSettings(n_subjects=5, n_obs=6, seed=7),
    "no_confounding": SimulationSettings(n_subjects=8, n_obs=6, confounding=0.0, dose_spacing=2.0, seed=3),
    "few_subjects": SimulationSettings(n_subjects=3, n_obs=5, seed=11),
    "many_subjects": SimulationSettings(n_subjects=200, n_obs=5, dose_spacing=0.5, seed=5),
    "varying_slopes": SimulationSettings(n_subjects=12, n_obs=8, slope_sd=6.0, dose_spacing=8.0, seed=2),
    "singular": SimulationSettings(n_subjects=6, n_obs=4, slope_sd=0.0, baseline_sd=0.0,
                                   confounding=0.0, dose_spacing=0.0, sigma=5.0, seed=4),
}

PRESET_LABELS: dict[str, str] = {
    "classic": "Classic Simpson's paradox",
    "no_confounding": "No confounding",
    "few_subjects": "Few subjects (3)",
    "many_subjects": "Many subjects (200)",
    "varying_slopes": "Slopes that vary a lot",
    "singular": "Singular fit (no subject variation)",
}


def simulate(settings: SimulationSettings | None = None, **overrides) -> pd.DataFrame:
    """Simulate Simpson's-paradox data; deterministic for a given ``seed``.

    Returns a frame with columns ``subject_id`` (text), ``dosage`` and ``pain``.
    """
    s = settings or SimulationSettings()
    if overrides:
        s = SimulationSettings(**{**s.__dict__, **overrides})
    s.check()
    rng = np.random.default_rng(int(s.seed))
    g, m = int(s.n_subjects), int(s.n_obs)
    start = np.arange(g) * s.dose_spacing
    steps = np.linspace(0.0, s.dose_range, m) if m > 1 else np.zeros(1)
    dose = (start[:, None] + steps[None, :]).ravel()
    baseline = s.intercept + s.confounding * start + rng.normal(0.0, s.baseline_sd, g) if s.baseline_sd else (
        s.intercept + s.confounding * start)
    slopes = s.slope + (rng.normal(0.0, s.slope_sd, g) if s.slope_sd else np.zeros(g))
    noise = rng.normal(0.0, s.sigma, g * m) if s.sigma else np.zeros(g * m)
    pain = np.repeat(baseline, m) + np.repeat(slopes, m) * dose + noise
    width = len(str(g))
    labels = np.array([str(i + 1).zfill(width) for i in range(g)], dtype=object)
    return pd.DataFrame(
        {"subject_id": np.repeat(labels, m), "dosage": np.round(dose, 4), "pain": np.round(pain, 3)}
    )


def frame_to_data(frame: pd.DataFrame, y: str = "pain", x: str = "dosage", group: str = "subject_id") -> Data:
    """Validate an in-memory frame (simulated or edited) the same way as a file."""
    text = frame.copy()
    if text[group].dtype.kind in "if":
        text[group] = _labels_from_numbers(text[group])
    return prepare(text, y=y, x=x, group=group)


def to_csv_bytes(data: Data) -> bytes:
    return data.frame.to_csv(index=False).encode("utf-8")


__all__ = [
    "DataError", "Table", "Data", "read_table", "prepare", "load", "guess_columns", "seed",
    "example_bytes", "SimulationSettings", "PRESETS", "PRESET_LABELS", "simulate", "frame_to_data",
    "to_csv_bytes",
]
