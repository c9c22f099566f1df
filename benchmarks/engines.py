"""Peak memory and wall time of ``lmmviz fit`` by engine (issue 13), side by side.

    python -m benchmarks.engines [--repeats 3] [--model slope] [--json FILE]

On the 1M-row headline data (10,000 groups × 100, simulated once and cached), each repeat runs,
interleaved so that load from elsewhere hits all alike: the pandas-only read (issue 2's
yardstick), a process that only imports ``lmmviz.data`` and ``lmmviz.fitting`` (the memory
baseline), ``lmmviz fit CSV`` (in memory), ``lmmviz fit CSV --engine duckdb`` and ``lmmviz fit
PARQUET --engine duckdb`` (the Parquet file is written once by DuckDB from the CSV). Reports the
median wall time, its ratio to the pandas read, the peak RSS (wait4) and how far it is above the
import-only baseline, and each engine's criterion against the in-memory one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from ._common import HERE, PY, WORKER, child_env, measure, simulate

COLS = ["--y", "pain", "--x", "dosage", "--group", "subject_id"]


def _parquet(csv: Path, env: dict) -> Path:
    out = csv.with_suffix(".parquet")
    if not out.exists():
        code = (f"import duckdb; duckdb.connect().execute(\"COPY (SELECT * FROM read_csv('{csv}')) "
                f"TO '{out}' (FORMAT parquet)\")")
        m = measure([PY, "-c", code], env=env, cwd="/")
        if m.returncode != 0:
            raise SystemExit(f"cannot write {out}: {m.stderr[-500:]}")
    return out


def _commands(csv: Path, parquet: Path, model: str) -> dict[str, list[str]]:
    fit = [PY, "-m", "lmmviz", "fit"]
    tail = [*COLS, "--model", model, "--json"]
    return {
        "pandas read": [PY, str(WORKER), "pandas_read", str(csv)],
        "import only": [PY, "-c", "import lmmviz.data, lmmviz.fitting"],
        "fit CSV (memory)": [*fit, str(csv), *tail],
        "fit CSV --engine duckdb": [*fit, str(csv), *tail, "--engine", "duckdb"],
        "fit Parquet --engine duckdb": [*fit, str(parquet), *tail, "--engine", "duckdb"],
    }


def _table(runs: dict, crit: dict) -> dict:
    base = statistics.median(m.wall_seconds for m in runs["pandas read"])
    floor = max(m.peak_rss for m in runs["import only"])
    ref = crit.get("fit CSV (memory)")
    out = {}
    print(f"{'process':28s} {'median s':>9s} {'/ pandas':>9s} {'peak RSS':>9s} {'above imports':>14s}  "
          f"criterion (relative difference to memory)")
    for name, ms in runs.items():
        med = statistics.median(m.wall_seconds for m in ms)
        peak = max(m.peak_rss for m in ms)
        c = crit.get(name)
        rel = None if c is None or ref is None else abs(c - ref) / abs(ref)
        out[name] = {"median_seconds": med, "over_pandas": med / base, "peak_rss": peak,
                     "above_imports": peak - floor, "criterion": c, "relative_to_memory": rel,
                     "all_seconds": [round(m.wall_seconds, 3) for m in ms]}
        shown = "" if c is None else f"{c:.6f} ({rel:.1e})"
        print(f"{name:28s} {med:9.3f} {med / base:8.2f}x {peak / 1e6:6.0f} MB {(peak - floor) / 1e6:11.0f} MB  "
              f"{shown}")
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="slope")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args(argv)
    env = child_env()
    csv = simulate(10_000, 100, HERE / "out" / "data", env=env)
    cmds = _commands(csv, _parquet(csv, env), a.model)
    runs: dict[str, list] = {name: [] for name in cmds}
    crit: dict[str, float | None] = {}
    for _ in range(a.repeats):
        for name, cmd in cmds.items():
            m = measure(cmd, env=env, cwd="/")
            if m.returncode != 0:
                raise SystemExit(f"{name} failed: {m.stderr[-500:]}")
            runs[name].append(m)
            if "fit" in name:
                crit[name] = (m.json() or {}).get("criterion")
    out = _table(runs, crit)
    if a.json:
        a.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
