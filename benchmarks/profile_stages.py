"""Where the time and memory of one ``lmmviz fit`` go, stage by stage.

    python -m benchmarks.profile_stages [CSV] [--model slope] [--repeats 3] [--lmmviz-root DIR]

Without CSV it makes the headline data (1,000,000 rows, 10,000 groups) in benchmarks/out/data/.
Each repeat runs in a fresh child process that does what ``lmmviz fit CSV --json`` does, split
into the stages of the pipeline, and reports for each stage the wall time, the RSS after it
and the peak RSS during it (the kernel's high-water mark, reset before each stage through
/proc/self/clear_refs). ``--lmmviz-root`` points the child at another checkout of the package
(how the proposed engine changes in benchmarks/proposals/ were measured without touching the
engine in place).

It also times one evaluation of the objective at the optimum (the O(groups) hot path), the
sufficient statistics alone, and the robust default's runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks._common import PY, ROOT, child_env, simulate  # noqa: E402

CHILD = r'''
import json, sys, time
T0 = time.perf_counter()
def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0
def reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass
stages = []
last = [time.perf_counter()]
def stage(name):
    now = time.perf_counter()
    stages.append({"stage": name, "seconds": now - last[0], "rss_after": status("VmRSS"), "peak_during": status("VmHWM")})
    reset_peak()
    last[0] = time.perf_counter()
csv, model, reml = sys.argv[1], sys.argv[2], sys.argv[3] == "REML"
import lmmviz
from lmmviz import cli
read_table, prepare = lmmviz.read_table, lmmviz.prepare
make_design, make_deviance = lmmviz.make_design, lmmviz.make_deviance
optimize, make_fit = lmmviz.optimize, lmmviz.make_fit
import nlopt  # imported lazily by the optimizer wrapper: count it with the imports
stage("imports")
table = read_table(csv)
stage("read_table (bytes -> text table)")
data = prepare(table, y="pain", x="dosage", group="subject_id")
del table
stage("prepare (text -> numbers, labels)")
design = make_design(data, model)
stage("make_design (group stats, blocks)")
f = make_deviance(design, reml)
best, runs = optimize(f, design)
stage("optimize (robust default)")
fit = make_fit(design, reml, best, runs, "robust", data.dropped_rows)
stage("make_fit (solve, derivatives, fitted, ranef)")
text = cli.dumps(fit.to_dict())
stage("JSON output")
# the hot path, measured apart
th = best.final
n_eval = 200
t = time.perf_counter()
for _ in range(n_eval):
    f(th)
per_eval = (time.perf_counter() - t) / n_eval
from lmmviz.design import group_stats
fr = data.frame
t = time.perf_counter()
group_stats(fr["subject_id"].to_numpy(), fr["dosage"].to_numpy(float), fr["pain"].to_numpy(float))
gs = time.perf_counter() - t
print(json.dumps({
    "stages": stages, "total_inside": time.perf_counter() - T0, "lmmviz_file": lmmviz.__file__,
    "criterion": fit.criterion, "theta": list(fit.theta), "evaluations": fit.evaluations,
    "runs": [{"start": r.start_label, "optimizer": r.optimizer, "evaluations": r.feval,
              "seconds": r.seconds, "criterion": r.fmin} for r in runs],
    "seconds_per_evaluation": per_eval, "group_stats_seconds": gs,
    "n_rows": data.n_obs, "n_groups": design.n_groups, "warnings": list(fit.warnings),
}))
'''


def run_once(csv: Path, model: str, reml: bool, lmmviz_root: Path | None, env: dict) -> dict:
    env = dict(env)
    if lmmviz_root is not None:
        env["PYTHONPATH"] = str(lmmviz_root)
    r = subprocess.run([PY, "-c", CHILD, str(csv), model, "REML" if reml else "ML"],
                       capture_output=True, text=True, env=env, cwd="/")
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-2000:])
    return json.loads(r.stdout.strip().splitlines()[-1])


def summarize(results: list[dict]) -> dict:
    names = [s["stage"] for s in results[0]["stages"]]
    out = {"stages": []}
    for i, name in enumerate(names):
        out["stages"].append({
            "stage": name,
            "seconds": statistics.median(r["stages"][i]["seconds"] for r in results),
            "rss_after": statistics.median(r["stages"][i]["rss_after"] for r in results),
            "peak_during": max(r["stages"][i]["peak_during"] for r in results),
        })
    for k in ("total_inside", "seconds_per_evaluation", "group_stats_seconds"):
        out[k] = statistics.median(r[k] for r in results)
    for k in ("criterion", "theta", "evaluations", "runs", "n_rows", "n_groups", "warnings", "lmmviz_file"):
        out[k] = results[-1][k]
    return out


def table(s: dict) -> str:
    lines = ["| stage | seconds | RSS after | peak during |", "|---|---:|---:|---:|"]
    for st in s["stages"]:
        lines.append(f"| {st['stage']} | {st['seconds']:.3f} | {st['rss_after'] / 1e6:.0f} MB | "
                     f"{st['peak_during'] / 1e6:.0f} MB |")
    lines.append(f"| total inside the process | {s['total_inside']:.3f} | | "
                 f"{max(st['peak_during'] for st in s['stages']) / 1e6:.0f} MB |")
    lines.append("")
    lines.append(f"{s['n_rows']:,} rows, {s['n_groups']:,} groups; criterion {s['criterion']:.6f}; "
                 f"{s['evaluations']} evaluations in {len(s['runs'])} runs; one evaluation "
                 f"{s['seconds_per_evaluation'] * 1e6:.0f} µs; group_stats alone {s['group_stats_seconds']:.3f} s")
    for r in s["runs"]:
        lines.append(f"- {r['optimizer']} from {r['start']}: {r['evaluations']} evaluations, "
                     f"{r['seconds']:.3f} s, criterion {r['criterion']:.6f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("csv", nargs="?", type=Path)
    p.add_argument("--model", default="slope")
    p.add_argument("--ml", action="store_true")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--lmmviz-root", type=Path, default=None,
                   help="folder holding an lmmviz package to profile instead of this checkout's")
    p.add_argument("--json", type=Path, default=None, help="also write the summary here")
    p.add_argument("--keep-blas-env", action="store_true")
    a = p.parse_args(argv)
    env = child_env(native_blas=not a.keep_blas_env)
    csv = a.csv or simulate(10_000, 100, HERE / "out" / "data", env=env)
    root = a.lmmviz_root.resolve() if a.lmmviz_root else ROOT
    results = [run_once(csv.resolve(), a.model, not a.ml, root, env) for _ in range(a.repeats)]
    s = summarize(results)
    print(table(s))
    if a.json:
        a.json.write_text(json.dumps(s, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
