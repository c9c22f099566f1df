"""Reading a file into a table of text cells: :func:`read_table` (bytes → :class:`Table`).

Sniffing (binary, compressed, other formats, encoding, separator) and parsing live
here; no cell is interpreted. :mod:`lmmviz.data` turns the table into numbers.
"""

from __future__ import annotations

import csv
import io
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import BinaryIO

import numpy as np
import pandas as pd

from .errors import DataError, shown

# Decompressed gzip input is capped so that a small "zip bomb" cannot eat the memory.
MAX_DECOMPRESSED = 1 << 30
# Whole input files are capped too (a path to /dev/zero must not eat the memory).
MAX_INPUT = 1 << 30


@dataclass(frozen=True)
class Table:
    """A text table read from a file: every cell is kept as the text it was."""

    frame: pd.DataFrame
    delimiter: str
    decimal: str
    encoding: str
    notes: tuple[str, ...] = ()


def read_table(source: str | Path | bytes | BinaryIO) -> Table:
    """Read a CSV or TSV (optionally gzip-compressed) into a table of text cells.

    The delimiter is sniffed among comma, semicolon, tab and bar; with ``;`` a
    decimal comma is assumed when numbers use it. UTF-8 (with or without BOM),
    UTF-16 and cp1252 are read. No cell is interpreted here.
    """
    text, encoding = _text(_raw_bytes(source))
    text, delim, skip, notes = _layout(text)
    body = _header_and_body(_parse(text, delim), skip)
    decimal = "."
    if delim == ";" and _uses_decimal_comma(body):
        decimal = ","
        notes.append("read decimal commas (semicolon-separated file)")
    return Table(body, delim, decimal, encoding, tuple(notes))


def _raw_bytes(source: str | Path | bytes | BinaryIO) -> bytes:
    """The file's bytes (``"-"`` is standard input), unpacked if gzip; refused if empty or
    plainly another format."""
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
    return raw


def _text(raw: bytes) -> tuple[str, str]:
    """(text, encoding name), refused if the text is binary or another format."""
    text, encoding = _decode(raw)
    if "\x00" in text or _looks_binary(text):
        raise DataError("the file is binary, not a text table (CSV or TSV)")
    what = _looks_like_not_a_table(text)
    if what:
        raise DataError(f"the file is {what}, not a CSV or TSV table")
    return text, encoding


def _layout(text: str) -> tuple[str, str, int, list[str]]:
    """(text from the header on, delimiter, lines skipped before it, notes)."""
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
    return text, delim, skip, notes


def _parse(text: str, delim: str) -> pd.DataFrame:
    """Every line as a row of text cells (header included); parser errors in words."""
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
    return frame


def _header_and_body(frame: pd.DataFrame, skip: int) -> pd.DataFrame:
    """The data rows named by the header row, indexed by their row numbers in the file."""
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
    return body


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
        raise DataError(f"no such file: {shown(str(path), 200)}") from None
    except IsADirectoryError:
        raise DataError(f"{shown(str(path), 200)} is a folder, not a file") from None
    except OSError as err:
        raise DataError(f"cannot read {shown(str(path), 200)}: {err.strerror or err}") from None


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


_MAGIC = MappingProxyType({
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
})


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


COMMA_NUMBER = re.compile(r"[+-]?\d*,\d+([eE][+-]?\d+)?")
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
    comma = sum(bool(COMMA_NUMBER.fullmatch(str(v).strip())) for v in sample)
    dot = sum(bool(_DOT_NUMBER.fullmatch(str(v).strip())) for v in sample)
    return comma > dot


__all__ = ["Table", "read_table"]
