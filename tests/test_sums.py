"""Fits from per-group sums (issue 13): from a file (``lmmviz stats`` / ``fit --from-stats``)
and from DuckDB's SQL (``--engine duckdb``), against the in-memory path and lme4.

The sums are each group's n and the sums of x − shift, y − shift, their squares and product,
with the group's mean as its shift. Written and read back, they build the same design bit for
bit; DuckDB computes them in one thread, in row order, so it gives the same bits too (the
tests allow 1e-10 relative, the promise in docs/big-data.md).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lmmviz
from lmmviz.data import DataError
from lmmviz.duck import duckdb_sums
from lmmviz.report import NO_ROWS, summary_text
from lmmviz.sums import data_sums, load_stats, precision_notes, write_stats

import refdata

REL = 1e-10
SHIFT = 1e6  # y far from 0: plain sums of y² would cancel 8 of their 16 digits


def _close(a, b, rel=REL):
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert np.all(np.abs(a - b) <= rel * np.maximum(np.abs(a), np.abs(b))), (a, b)


@pytest.fixture(scope="module")
def sleep_far(tmp_path_factory):
    """sleepstudy with 1e6 added to Reaction, as CSV and Parquet, and its in-memory fit."""
    d = refdata.data("sleepstudy")
    frame = d.frame.assign(Reaction=d.frame["Reaction"] + SHIFT)
    root = tmp_path_factory.mktemp("sums")
    frame.to_csv(root / "far.csv", index=False)
    frame.to_parquet(root / "far.parquet", index=False)
    data = lmmviz.load(root / "far.csv", y="Reaction", x="Days", group="Subject")
    return root, data, lmmviz.fit(data, "slope")


def test_sums_written_and_read_back_fit_bit_for_bit(tmp_path, seed):
    best = refdata.best("seed", "slope", True)["criterion"]
    direct = lmmviz.fit(seed, "slope")
    assert direct.criterion <= best + 1e-9  # lme4's best optimum (68.0749), or lower
    for name, names in (("s.csv", {"y": "pain", "x": "dosage", "group": "subject_id"}), ("s.parquet", {})):
        write_stats(data_sums(seed), str(tmp_path / name))
        sums = load_stats(tmp_path / name, **names)  # Parquet stores the names, a CSV cannot
        f = lmmviz.fit(sums, "slope")
        assert (f.criterion, f.theta) == (direct.criterion, direct.theta)
        assert np.array_equal(f.beta, direct.beta) and np.array_equal(f.se, direct.se)
        pd.testing.assert_frame_equal(f.ranef, direct.ranef)  # conditional modes need only the sums
        assert f.names == direct.names == sums.names
        assert f.residuals is None and f.fitted is None


def test_summary_from_sums_omits_only_the_residual_quantiles(seed):
    rows = summary_text(lmmviz.fit(seed, "intercept")).splitlines()
    sums = summary_text(lmmviz.fit(data_sums(seed), "intercept")).splitlines()
    i = rows.index("Scaled residuals: ")
    assert sums[i] == f"Scaled residuals: {NO_ROWS}"
    assert sums[:i] + sums[i + 1:] == rows[:i] + rows[i + 3:]  # the header and the quantiles
    assert "REML criterion at convergence: 77.4" in rows  # lme4's 77.41130


def test_duckdb_matches_in_memory_far_from_zero(sleep_far):
    root, data, direct = sleep_far
    ref = refdata.best("sleepstudy", "slope", True)
    assert direct.criterion == pytest.approx(ref["criterion"], abs=1e-6)  # lme4's, unmoved by the shift
    for name in ("far.csv", "far.parquet"):
        sums = duckdb_sums(root / name, y="Reaction", x="Days", group="Subject")
        assert precision_notes(sums) == ()
        f = lmmviz.fit(sums, "slope")
        _close(f.criterion, direct.criterion)
        _close(f.theta, direct.theta)
        _close(f.beta, direct.beta)
        assert f.beta[0] == pytest.approx(ref["fixef"]["(Intercept)"] + SHIFT, abs=1e-4)
        assert (f.n_obs, f.n_groups) == (180, 18)


def test_plain_sums_far_from_zero_lose_digits_and_say_so(sleep_far):
    """The one-line SQL (shift 0) on y ≈ 1e6: Σy² − (Σy)²/n cancels ~8 digits."""
    _, data, direct = sleep_far
    fr = data.frame
    plain = pd.DataFrame({"group": fr["Subject"], "n": 1, "x": fr["Days"], "y": fr["Reaction"]})
    plain = plain.assign(xx=plain.x ** 2, xy=plain.x * plain.y, yy=plain.y ** 2).groupby("group").sum()
    plain.columns = ["n", "sum_x", "sum_y", "sum_xx", "sum_xy", "sum_yy"]
    sums = load_stats(plain.reset_index(), y="Reaction", x="Days", group="Subject")
    notes = precision_notes(sums)
    assert len(notes) == 1 and "lose" in notes[0] and "shift" in notes[0]
    shifted = data_sums(data)
    err = np.max(np.abs(sums.stats().syy - shifted.stats().syy) / shifted.stats().syy)
    assert err > 1e-9  # the lost digits are real
    assert lmmviz.fit(sums, "slope").criterion == pytest.approx(direct.criterion, rel=1e-6)


def test_duckdb_checks_drop_and_refuse_as_the_in_memory_path(tmp_path):
    text = ("g,x,y\na,1,2.5\na,2,3.1\na,3,2.0\nb,1,NA\nb,2,5.0\nb,3,inf\nNA,1,3\nc,1,1.0\nc,2,4.5\n"
            "c,4,2.2\n,2,2\n")
    path = tmp_path / "d.csv"
    path.write_text(text)
    rows = lmmviz.load(path, y="y", x="x", group="g")
    sums = duckdb_sums(path, y="y", x="x", group="g")
    assert sums.dropped == rows.dropped == {"missing value": 3, "infinite value": 1}
    _close(lmmviz.fit(sums).criterion, lmmviz.fit(rows).criterion)
    for bad, phrase in (("g,x,y\na,1,2\na,2,3\nb,1,x1\nb,2,4\n", "is not numeric"),
                        ("g,x,y\na,1,2\na,2,3\na,3,1\n", "only one group"),
                        ("g,x,y\na,1,\nb,2,NA\n", "no usable rows")):
        path.write_text(bad)
        with pytest.raises(DataError, match=phrase):
            lmmviz.fit(duckdb_sums(path, y="y", x="x", group="g"))
        with pytest.raises(DataError, match=phrase):
            lmmviz.fit(lmmviz.load(path, y="y", x="x", group="g"))
    with pytest.raises(DataError, match="no column named 'z'"):
        duckdb_sums(path, y="z", x="x", group="g")


@pytest.mark.parametrize("change, phrase", [
    (lambda f: f.drop(columns="sum_xy"), "no column 'sum_xy'"),
    (lambda f: pd.concat([f, f.iloc[:1]]), "appears twice"),
    (lambda f: f.assign(n=0), "n must be a whole number"),
    (lambda f: f.assign(sum_yy=np.nan), "not a finite number"),
    (lambda f: f.assign(sum_xx=-1.0), "inconsistent"),
])
def test_bad_sums_are_refused_in_words(seed, change, phrase):
    with pytest.raises(DataError, match=phrase):
        load_stats(change(lmmviz.group_stats(seed)))


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lmmviz", *args], capture_output=True, timeout=120)


def test_cli_stats_then_fit_from_stats_and_duckdb(sleep_far, tmp_path):
    root, data, _ = sleep_far
    direct = lmmviz.fit(data, "intercept")  # the route, not the model, is under test here
    cols = ["--y", "Reaction", "--x", "Days", "--group", "Subject"]
    p = _cli("stats", str(root / "far.csv"), *cols, "--out", str(tmp_path / "s.csv"))
    assert p.returncode == 0 and b"wrote 18 groups (180 rows)" in p.stderr, p.stderr
    out = {}
    for how in (["--from-stats"], ["--engine", "duckdb"]):
        src = tmp_path / "s.csv" if how == ["--from-stats"] else root / "far.parquet"
        p = _cli("fit", str(src), *cols, "--json", *how)
        assert p.returncode == 0 and p.stderr == b"", p.stderr
        out[how[0]] = json.loads(p.stdout)
    for got in out.values():
        _close(got["criterion"], direct.criterion)
        _close(got["theta"], direct.theta)
    p = _cli("fit", str(tmp_path / "s.csv"), "--from-stats", "--engine", "duckdb")
    assert p.returncode == 2 and p.stderr.startswith(b"error: --from-stats reads the sums")


def _page_sql() -> list[str]:
    text = (Path(__file__).resolve().parents[1] / "docs" / "big-data.md").read_text(encoding="utf-8")
    return re.findall(r"```sql\n(.*?)```", text, flags=re.S)


def test_the_pages_sql_runs_in_duckdb_and_fits_as_the_rows(sleep_far):
    """docs/big-data.md's two queries, as printed, on sleepstudy with y ≈ 1e6."""
    import duckdb

    root, data, _ = sleep_far
    direct = lmmviz.fit(data, "intercept")
    shifted, plain = _page_sql()
    with duckdb.connect() as con:
        con.execute(f"CREATE VIEW data AS SELECT Subject AS subject_id, Days AS dosage, Reaction AS pain "
                    f"FROM read_parquet('{root / 'far.parquet'}')")
        frames = [con.execute(sql).df() for sql in (shifted, plain)]
    fits = []
    for frame in frames:
        sums = load_stats(frame, y="Reaction", x="Days", group="subject_id")
        fits.append(lmmviz.fit(sums, "intercept"))
        assert (sums.n_obs, sums.n_groups) == (180, 18)
    _close(fits[0].criterion, direct.criterion)
    _close(fits[0].theta, direct.theta)
    _close(fits[0].beta, direct.beta)
    assert precision_notes(load_stats(frames[1])) and fits[1].criterion == pytest.approx(direct.criterion, rel=1e-6)
