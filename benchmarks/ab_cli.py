"""A/B of the whole ``lmmviz fit`` CLI process: this checkout against other copies of the package.

    python -m benchmarks.ab_cli --variant patched=/tmp/patched [--csv FILE] [--repeats 7]

Each repeat runs, interleaved (so that load from elsewhere hits all alike): the pandas-only
read (the yardstick of issue 2), then ``python -m lmmviz fit CSV --model slope --json`` with
each variant's package first on PYTHONPATH. Reports the median wall time, the ratio to the
pandas read, the peak RSS (wait4) and the criterion each variant printed. This is how the
proposals in benchmarks/proposals/ were measured without editing the engine in place.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from ._common import HERE, PY, ROOT, WORKER, child_env, measure, simulate


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--variant", action="append", default=[], metavar="NAME=DIR",
                   help="a folder that holds an lmmviz package (repeatable)")
    p.add_argument("--csv", type=Path, default=None, help="default: the 1M-row headline data")
    p.add_argument("--model", default="slope")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args(argv)
    env = child_env()
    csv = a.csv or simulate(10_000, 100, HERE / "out" / "data", env=env)
    variants = [("this checkout", ROOT)] + [(v.split("=", 1)[0], Path(v.split("=", 1)[1]).resolve())
                                            for v in a.variant]
    runs: dict[str, list] = {"pandas read": []}
    runs.update({name: [] for name, _ in variants})
    crit: dict[str, float | None] = {}
    for _ in range(a.repeats):
        runs["pandas read"].append(measure([PY, str(WORKER), "pandas_read", str(csv)], env=env, cwd="/"))
        for name, root in variants:
            e = dict(env, PYTHONPATH=str(root))
            m = measure([PY, "-m", "lmmviz", "fit", str(csv), "--y", "pain", "--x", "dosage", "--group",
                         "subject_id", "--model", a.model, "--json"], env=e, cwd="/")
            runs[name].append(m)
            crit[name] = (m.json() or {}).get("criterion")
    base = statistics.median(m.wall_seconds for m in runs["pandas read"])
    out = {}
    print(f"{'process':16s} {'median s':>9s} {'min s':>7s} {'/ pandas':>9s} {'peak RSS':>9s}  criterion")
    for name, ms in runs.items():
        med = statistics.median(m.wall_seconds for m in ms)
        peak = max(m.peak_rss for m in ms)
        out[name] = {"median_seconds": med, "min_seconds": min(m.wall_seconds for m in ms),
                     "over_pandas": med / base, "peak_rss": peak, "criterion": crit.get(name),
                     "all_seconds": [round(m.wall_seconds, 3) for m in ms]}
        c = crit.get(name)
        print(f"{name:16s} {med:9.3f} {out[name]['min_seconds']:7.3f} {med / base:8.2f}x {peak / 1e6:7.0f} MB  "
              f"{'' if c is None else f'{c:.6f}'}")
    if a.json:
        a.json.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
