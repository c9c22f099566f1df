"""Per-group sums from DuckDB (embedded): a CSV or Parquet file that need not fit in memory.

DuckDB reads the file and runs one ``GROUP BY`` (:data:`SUMS_SQL`, also in docs/big-data.md,
where it runs unchanged in Spark SQL or a warehouse); only the per-group sums come back.
The checks run in SQL too, so they cannot name a row the way :func:`lmmviz.prepare` does:
docs/big-data.md lists what they check.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from .data import GROUP_NA_MARKERS, MAX_ABS_VALUE, MAX_LABEL, MIN_SPREAD, NA_MARKERS, guess_columns
from .design import SUM_COLUMNS, GroupSums
from .errors import DataError, shown
from .sums import load_stats

# Each group's mean as its shift, then sums of the shifted values: the centred sums keep
# every digit even when the values sit far from 0 (plain sum(x*x) would cancel them).
SUMS_SQL = """
WITH shift AS (
  SELECT g, avg(x) AS shift_x, avg(y) AS shift_y FROM usable GROUP BY g
)
SELECT g, count(*) AS n, shift_x, shift_y,
       sum(x - shift_x) AS sum_x, sum(y - shift_y) AS sum_y,
       sum((x - shift_x) * (x - shift_x)) AS sum_xx,
       sum((x - shift_x) * (y - shift_y)) AS sum_xy,
       sum((y - shift_y) * (y - shift_y)) AS sum_yy
FROM usable JOIN shift USING (g)
GROUP BY g, shift_x, shift_y
"""

_NUMERIC_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                  "UBIGINT", "FLOAT", "DOUBLE", "REAL")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _source(path: str) -> str:
    if str(path).lower().endswith((".parquet", ".pq")):
        return f"read_parquet({_literal(str(path))})"
    # every column as text, so that labels keep their spelling (01 stays 01) and numbers
    # are converted by the same rules for every file
    return f"read_csv({_literal(str(path))}, all_varchar = true, header = true)"


def _markers(values) -> str:
    return ", ".join(_literal(v) for v in sorted(values))


def _numeric(name: str, kind: str) -> tuple[str, str, str]:
    """(value as DOUBLE, missing, not a number) SQL for a column of DuckDB type ``kind``."""
    col = _quote(name)
    if kind.startswith(_NUMERIC_TYPES) or kind.startswith("DECIMAL"):
        value = f"CAST({col} AS DOUBLE)"
        return value, f"({col} IS NULL OR isnan({value}))", "false"
    text = f"trim(CAST({col} AS VARCHAR))"
    missing = f"({col} IS NULL OR lower({text}) IN ({_markers(NA_MARKERS)}))"
    value = f"TRY_CAST({text} AS DOUBLE)"
    return value, missing, f"(NOT {missing} AND {value} IS NULL)"


def _rows_view(con, path: str, y: str | None, x: str | None, group: str | None) -> dict[str, str]:
    """Create the views ``checked`` (every row, with flags) and ``usable``; return the names."""
    src = _source(path)
    try:
        types = {row[0]: row[1] for row in con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()}
    except Exception as err:  # duckdb's IOException, InvalidInputException ...
        raise DataError(f"DuckDB cannot read {path}: {' '.join(str(err).split())[:200]}") from None
    if y is None or x is None or group is None:
        guess = guess_columns(con.execute(f"SELECT * FROM {src} LIMIT 1000").df())
        y, x, group = y or guess["y"], x or guess["x"], group or guess["group"]
    for role, name in (("y", y), ("x", x), ("group", group)):
        if name is None:
            raise DataError(f"cannot tell which column is {role}: name it explicitly")
        if name not in types:
            raise DataError(f"no column named {shown(name)} ({role}); the columns are "
                            + ", ".join(shown(c) for c in list(types)[:8]))
    if len({y, x, group}) < 3:
        raise DataError("group, x and y must be three different columns")
    yv, y_missing, y_bad = _numeric(y, types[y])
    xv, x_missing, x_bad = _numeric(x, types[x])
    g = f"trim(CAST({_quote(group)} AS VARCHAR))"
    g_missing = f"({_quote(group)} IS NULL OR {g} IN ({_markers(GROUP_NA_MARKERS)}))"
    con.execute(f"""CREATE VIEW checked AS SELECT {g} AS g, {xv} AS x, {yv} AS y,
                {y_missing} OR {x_missing} OR {g_missing} AS missing, {y_bad} AS y_bad, {x_bad} AS x_bad,
                {_quote(y)} AS y_raw, {_quote(x)} AS x_raw FROM {src}""")
    con.execute("CREATE VIEW usable AS SELECT g, x, y FROM checked WHERE NOT missing AND isfinite(x) AND isfinite(y)")
    return {"y": y, "x": x, "group": group}


def _checks(con, names: dict[str, str]) -> dict[str, int]:
    """The refusals and dropped-row counts of :func:`lmmviz.prepare`, without row numbers."""
    (y_bad, y_cell, x_bad, x_cell, missing, infinite, usable, big, x_spread, y_spread, longest) = con.execute("""
        SELECT count(*) FILTER (WHERE y_bad), first(y_raw) FILTER (WHERE y_bad),
               count(*) FILTER (WHERE x_bad), first(x_raw) FILTER (WHERE x_bad),
               count(*) FILTER (WHERE missing),
               count(*) FILTER (WHERE NOT missing AND NOT (isfinite(x) AND isfinite(y))),
               count(*) FILTER (WHERE NOT missing AND isfinite(x) AND isfinite(y)),
               max(greatest(abs(x), abs(y))) FILTER (WHERE NOT missing AND isfinite(x) AND isfinite(y)),
               max(x) FILTER (WHERE NOT missing AND isfinite(x) AND isfinite(y))
                 - min(x) FILTER (WHERE NOT missing AND isfinite(x) AND isfinite(y)),
               max(y) FILTER (WHERE NOT missing AND isfinite(x) AND isfinite(y))
                 - min(y) FILTER (WHERE NOT missing AND isfinite(x) AND isfinite(y)),
               max(length(g)) FILTER (WHERE NOT missing)
        FROM checked""").fetchone()
    for role, count, cell in (("y", y_bad, y_cell), ("x", x_bad, x_cell)):
        if count:
            raise DataError(f"column {shown(names[role])} ({role}) is not numeric: {count:,} rows hold text such "
                            f"as {shown(str(cell).strip(), 30)} (the DuckDB engine does not number rows: "
                            "leave out --engine duckdb to see the first one)")
    if not usable:
        raise DataError("no usable rows: every row has a missing or infinite value in the chosen columns")
    if longest and longest > MAX_LABEL:
        raise DataError(f"a group label is {longest:,} characters long (the limit is {MAX_LABEL})")
    if big > MAX_ABS_VALUE or not np.isfinite(big):
        raise DataError(f"values as large as {big:.3g} overflow the arithmetic: rescale the column "
                        "(for example to other units)")
    for role, spread in (("x", x_spread), ("y", y_spread)):
        if 0 < spread < MIN_SPREAD:
            raise DataError(f"the values of {shown(names[role])} differ by at most {spread:.3g}, too little for the "
                            "arithmetic (their squares underflow): rescale the column (for example to other units)")
    dropped = {"missing value": int(missing), "infinite value": int(infinite)}
    return {k: v for k, v in dropped.items() if v}


def duckdb_sums(path: str | Path, y: str | None = None, x: str | None = None,
                group: str | None = None) -> GroupSums:
    """:class:`GroupSums` of a CSV (gzip allowed) or Parquet file, computed by DuckDB.

    One thread, so that the sums (and the fit) are the same bits on every run."""
    try:
        import duckdb
    except ImportError:
        raise ValueError("the DuckDB engine needs the duckdb package: pip install duckdb") from None
    if str(path) == "-":
        raise DataError("the DuckDB engine reads files, not standard input")
    if not Path(path).is_file():
        raise DataError(f"no such file: {path}")
    with duckdb.connect() as con:
        con.execute("SET threads = 1")
        names = _rows_view(con, str(path), y, x, group)
        dropped = _checks(con, names)
        frame = con.execute(SUMS_SQL).df()
    sums = load_stats(frame.loc[:, ["g", *SUM_COLUMNS]].rename(columns={"g": "group"}), **names)
    return replace(sums, dropped=dropped)


__all__ = ["SUMS_SQL", "duckdb_sums"]
