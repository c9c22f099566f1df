"""Per-group sums as an interface: all a fit needs, from the rows or from elsewhere.

A fit needs only each group's n and the sums of x, y, x², xy and y² (docs/big-data.md).
:func:`group_stats` computes them from validated rows, :func:`load_stats` reads them back
(from a CSV or Parquet file, or a frame a database made) into a :class:`GroupSums` that
:func:`lmmviz.fit` and :func:`lmmviz.compare` accept. Such a fit has everything but the
rows' residuals, so the summary says their quantiles are not available.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .data import Data
from .design import SUM_COLUMNS, GroupSums, group_sums, level_codes
from .errors import DataError, shown

# Digits the centred sums may lose to cancellation before the fit says so: beyond 6 of
# 16, the criterion's last printed digits are no longer sure.
MAX_LOST_DIGITS = 6
PARQUET = (".parquet", ".pq")


def data_sums(data: Data) -> GroupSums:
    """The :class:`GroupSums` of validated rows, each group shifted by its mean."""
    fr = data.frame
    return group_sums(fr[data.group], fr[data.x].to_numpy(float), fr[data.y].to_numpy(float),
                      names={"y": data.y, "x": data.x, "group": data.group}, dropped=data.dropped)


def group_stats(data: Data) -> pd.DataFrame:
    """One row per group: the label (in a column named as the group variable), n, shift_x,
    shift_y, sum_x, sum_y, sum_xx, sum_xy, sum_yy (sums of x − shift_x and y − shift_y; the
    shifts are the group means). ``attrs`` hold the column names of y, x and group."""
    return data_sums(data).frame()


def write_stats(sums: GroupSums, path: str) -> None:
    """CSV (floats written to round-trip exactly) or, for .parquet/.pq, Parquet with the
    column names of y, x and group in its metadata."""
    frame = sums.frame()
    try:
        if str(path).lower().endswith(PARQUET):
            frame.to_parquet(path, index=False)
        else:
            frame.to_csv(path, index=False)
    except OSError as err:
        raise ValueError(f"cannot write {path}: {err.strerror}") from None


def _read(source: str | Path) -> pd.DataFrame:
    try:
        if str(source).lower().endswith(PARQUET):
            return pd.read_parquet(source)
        return pd.read_csv(source, dtype=str, keep_default_na=False)  # to_numeric reads floats exactly
    except FileNotFoundError:
        raise DataError(f"no such file: {source}") from None
    except (OSError, ValueError) as err:
        raise DataError(f"cannot read the statistics in {source}: {' '.join(str(err).split())[:200]}") from None


def load_stats(source: str | Path | pd.DataFrame, y: str | None = None, x: str | None = None,
               group: str | None = None) -> GroupSums:
    """Per-group sums from a file or frame, checked, in R's level order.

    Columns: the group labels (named ``group``, or as the group variable, or the one column
    that is not a sum), n, sum_x, sum_y, sum_xx, sum_xy, sum_yy, and optionally shift_x and
    shift_y (0 when absent: plain sums of x and y). ``y``, ``x`` and ``group`` name the
    variables in the formula (default: the names stored with a Parquet file, else y, x and
    the label column's name).
    """
    frame = source if isinstance(source, pd.DataFrame) else _read(source)
    stored = dict(frame.attrs)
    label = _label_column(frame, group)
    names = {"y": y or stored.get("y", "y"), "x": x or stored.get("x", "x"),
             "group": group or stored.get("group", label)}
    missing = [c for c in SUM_COLUMNS if c not in frame.columns and not c.startswith("shift")]
    if missing:
        raise DataError(f"the statistics have no column {', '.join(map(shown, missing))}: they need "
                        f"the group labels, {', '.join(c for c in SUM_COLUMNS if not c.startswith('shift'))} "
                        "(shift_x and shift_y optional)")
    if len(frame) == 0:
        raise DataError("the statistics have no rows")
    labels = _labels(frame[label])
    cols = {c: _finite(frame, c, labels) if c in frame.columns else np.zeros(len(frame)) for c in SUM_COLUMNS}
    _check_counts(cols["n"], labels)
    codes, ordered = level_codes(labels)
    order = np.argsort(codes, kind="stable")
    sums = GroupSums(labels=ordered, names=names, **{c: v[order] for c, v in cols.items()})
    _check_consistent(sums)
    return sums


def _label_column(frame: pd.DataFrame, group: str | None) -> str:
    for name in (group, "group"):
        if name is not None and name in frame.columns:
            return name
    others = [c for c in frame.columns if c not in SUM_COLUMNS]
    if len(others) != 1:
        raise DataError("cannot tell which column of the statistics holds the group labels: "
                        "name it group, or give its name as the group column")
    return str(others[0])


def _labels(raw: pd.Series) -> np.ndarray:
    text = raw.astype(str).str.strip()
    empty = raw.isna().to_numpy() | (text == "").to_numpy()
    if empty.any():
        raise DataError(f"statistics row {int(np.flatnonzero(empty)[0]) + 1} has no group label")
    dup = text.duplicated().to_numpy()
    if dup.any():
        raise DataError(f"group {shown(text.iloc[int(np.flatnonzero(dup)[0])])} appears twice: "
                        "the statistics need one row per group")
    return text.to_numpy(dtype=object)


def _finite(frame: pd.DataFrame, col: str, labels: np.ndarray) -> np.ndarray:
    values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"column {shown(col)} of the statistics: group {shown(labels[i])} holds "
                        f"{shown(str(frame[col].iloc[i]), 30)}, not a finite number")
    return values


def _check_counts(n: np.ndarray, labels: np.ndarray) -> None:
    bad = (n < 1) | (n != np.round(n))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"group {shown(labels[i])} has n = {n[i]:g}: n must be a whole number of rows, at least 1")


def _check_consistent(sums: GroupSums) -> None:
    """Sums that no rows can have (Σu² < (Σu)²/n beyond rounding) are refused."""
    n = sums.n
    for name, sq, s in (("x", sums.sum_xx, sums.sum_x), ("y", sums.sum_yy, sums.sum_y)):
        short = sq * n < s * s * (1 - 1e-9)
        if short.any():
            i = int(np.flatnonzero(short)[0])
            raise DataError(f"group {shown(sums.labels[i])}: sum_{name * 2} is below sum_{name}²/n, "
                            "which no rows can give: the statistics are inconsistent")


def precision_notes(sums: GroupSums) -> tuple[str, ...]:
    """Say so when the sums' centring cancels so many digits that the fit is unsure."""
    lost = sums.lost_digits()
    if lost <= MAX_LOST_DIGITS:
        return ()
    return (f"the centred sums lose {lost:.0f} of 16 digits to cancellation (the means are large beside "
            "the spread): compute the sums with each group's shift (docs/big-data.md)",)


__all__ = ["GroupSums", "data_sums", "group_stats", "load_stats", "write_stats", "precision_notes"]
