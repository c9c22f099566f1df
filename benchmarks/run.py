"""Speed, memory and correctness of lmmviz against statsmodels and lme4.

    python -m benchmarks.run                 # the full default run (< 15 min without lme4)
    python -m benchmarks.run --quick         # up to 10^4 rows, one repeat, no headline (~1 min)
    python -m benchmarks.run --no-lme4       # skip R even when it is installed
    python -m benchmarks.run --max-rows 100000
    python -m benchmarks.run --with-10m      # add 10^7 rows (lmmviz and the pandas yardstick only)
    python -m benchmarks.run --headline-only # just issue 2's 1M-row random-slope case

Run from the repository root. Every fit runs in its own child process on a CSV made by
``lmmviz simulate`` (fixed seed) in ``benchmarks/out/data/``:

* lmmviz      – ``lmmviz.load`` + ``lmmviz.fit`` (robust default), in ``benchmarks/_worker.py``;
* statsmodels – ``pandas.read_csv`` + ``MixedLM.from_formula(...).fit()`` (defaults, REML);
* lme4        – ``read.csv`` + ``lmer()`` (defaults, REML) in ``benchmarks/_lme4_worker.R``,
  only when ``Rscript`` with lme4 is installed; otherwise its rows say "not run".

The full run writes ``benchmarks/results.json``, ``benchmarks/scaling.png`` and
``benchmarks/out/tables.md`` and then the correctness table (``benchmarks/correctness.py``).
``--quick`` and ``--max-rows`` runs write into ``benchmarks/out/`` only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from ._common import (
    HERE, LME4_WORKER, PY, ROOT, WORKER, child_env, fmt_bytes, fmt_s, have_lme4, lmmviz_revision, machine_info,
    measure, simulate, simulate_command, wait_idle,
)

# (target rows, groups, observations per group). simulate allows at most 10,000
# observations per group, so few groups only go with few rows.
GRID = [
    (100, 3, 33), (100, 10, 10),
    (1_000, 10, 100), (1_000, 100, 10),
    (10_000, 3, 3_333), (10_000, 100, 100), (10_000, 1_000, 10),
    (100_000, 10, 10_000), (100_000, 1_000, 100), (100_000, 10_000, 10),
    (1_000_000, 100, 10_000), (1_000_000, 10_000, 100), (1_000_000, 100_000, 10),
]
GRID_10M = [(10_000_000, 1_000, 10_000), (10_000_000, 100_000, 100)]
HEADLINE = (1_000_000, 10_000, 100, "slope")
MODELS = ("intercept", "slope")
SYSTEMS = ("lmmviz", "statsmodels", "lme4")
# statsmodels and lme4 take 30–120 s per fit from 10^5 rows on: above this they run
# only for the headline case.
OTHERS_MAX_ROWS = 100_000
SAME_OPTIMUM = 1e-3  # criteria within this (absolute, on the deviance scale) are one optimum
COLS = ["--y", "pain", "--x", "dosage", "--group", "subject_id"]


def _median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def run_system(system: str, csv: Path, model: str, repeats: int, timeout: float, env: dict) -> dict:
    """Repeat one measurement; medians of times, the largest peak RSS."""
    if system == "lme4":
        cmd = ["Rscript", str(LME4_WORKER), str(csv), model, "TRUE"]
    else:
        cmd = [PY, str(WORKER), system, str(csv), "--model", model]
    runs = []
    for i in range(repeats):
        m = measure(cmd, timeout=timeout, env=env, cwd="/")
        payload = m.json() or {}
        if m.timed_out:
            payload = {"status": "timeout", "error": f"killed after {timeout:.0f} s"}
        elif m.returncode != 0 or not payload:
            payload = {"status": "error", "error": (m.stderr.strip().splitlines() or ["no output"])[-1][:300]}
        runs.append((m, payload))
        if payload.get("status") != "ok":
            break
        if i == 0 and m.wall_seconds > 5 and system != "lmmviz":
            break  # one run of a slow fit is enough; it dominates the budget
    last = runs[-1][1]
    rec = {k: v for k, v in last.items() if k not in ("fit_seconds", "read_seconds", "import_seconds",
                                                     "peak_rss", "total_seconds_inside")}
    rec.update({
        "system": system,
        "status": last.get("status", "error"),
        "repeats": len(runs),
        "process_seconds": _median([m.wall_seconds for m, _ in runs]),
        "process_seconds_all": [round(m.wall_seconds, 4) for m, _ in runs],
        "fit_seconds": _median([p.get("fit_seconds") for _, p in runs]),
        "fit_seconds_all": [p.get("fit_seconds") for _, p in runs],
        "read_seconds": _median([p.get("read_seconds") for _, p in runs]),
        "import_seconds": _median([p.get("import_seconds") for _, p in runs]),
        "peak_rss": max(m.peak_rss for m, _ in runs),
        "command": " ".join(cmd),
    })
    return rec


def not_run(system: str, why: str) -> dict:
    return {"system": system, "status": "not run", "error": why}


def plan_systems(rows: int, groups: int, model: str, lme4_ok: bool, args) -> dict[str, str | None]:
    """system → None (run it) or the reason it is not run."""
    out: dict[str, str | None] = {"lmmviz": None}
    headline = (rows, groups, model) == (HEADLINE[0], HEADLINE[1], HEADLINE[3])
    cap = None if (rows <= OTHERS_MAX_ROWS or headline) else f"skipped above {OTHERS_MAX_ROWS:,} rows (runtime cap)"
    if rows > 1_000_000:
        cap = "skipped above 10^6 rows (runtime cap)"
    out["statsmodels"] = "--no-statsmodels" if args.no_statsmodels else cap
    if not lme4_ok:
        out["lme4"] = "not installed (Rscript with lme4 and jsonlite)" if not args.no_lme4 else "--no-lme4"
    else:
        out["lme4"] = cap
    return out


def mark_best(records: list[dict]) -> None:
    ok = [r for r in records if r.get("status") == "ok" and r.get("criterion") is not None]
    if not ok:
        return
    best = min(r["criterion"] for r in ok)
    for r in ok:
        r["delta_to_best"] = r["criterion"] - best
        r["is_best"] = bool(r["criterion"] - best <= SAME_OPTIMUM)


# --------------------------------------------------------------------------- headline


def headline(csv: Path, rows: int, grid_records: list[dict], repeats: int, timeout: float, env: dict) -> dict:
    """Issue 2's 1M-row goals: the CLI process against a pandas-only read, speed-ups, memory."""
    seed_csv = ROOT / "tests" / "fixtures" / "seed.csv"
    cli = [PY, "-m", "lmmviz", "fit", str(csv), *COLS, "--model", "slope", "--json"]
    cli_seed = [PY, "-m", "lmmviz", "fit", str(seed_csv), "--y", "pain", "--x", "dosage",
                "--group", "subject_id", "--model", "slope", "--json"]
    pandas_cmd = [PY, str(WORKER), "pandas_read", str(csv)]
    cli_runs, pandas_runs, base_runs = [], [], []
    for _ in range(repeats):  # interleaved, so that drift hits all three alike
        cli_runs.append(measure(cli, timeout=timeout, env=env, cwd="/"))
        pandas_runs.append(measure(pandas_cmd, timeout=timeout, env=env, cwd="/"))
        base_runs.append(measure(cli_seed, timeout=timeout, env=env, cwd="/"))
    cli_json = cli_runs[-1].json() or {}
    pandas_json = pandas_runs[-1].json() or {}
    by = {r["system"]: r for r in grid_records}
    lm, sm, lme4 = by.get("lmmviz", {}), by.get("statsmodels", {}), by.get("lme4", {})

    def ok(r):
        return r.get("status") == "ok"

    cli_s = _median([m.wall_seconds for m in cli_runs])
    pandas_s = _median([m.wall_seconds for m in pandas_runs])
    cli_peak = max(m.peak_rss for m in cli_runs)
    base_peak = _median([m.peak_rss for m in base_runs])
    data_bytes = 24 * rows  # three 8-byte columns (see README: = pandas' default frame)
    h = {
        "rows": rows,
        "groups": HEADLINE[1],
        "data": simulate_command(HEADLINE[1], HEADLINE[2]),
        "lmmviz_fit_seconds": lm.get("fit_seconds"),
        "lmmviz_fit_seconds_all": lm.get("fit_seconds_all"),
        "lmmviz_criterion": lm.get("criterion"),
        "cli_process_seconds": cli_s,
        "cli_process_seconds_all": [round(m.wall_seconds, 3) for m in cli_runs],
        "cli_criterion": cli_json.get("criterion"),
        "cli_converged": cli_json.get("converged"),
        "cli_warnings": cli_json.get("warnings"),
        "pandas_read_process_seconds": pandas_s,
        "pandas_read_process_seconds_all": [round(m.wall_seconds, 3) for m in pandas_runs],
        "cli_over_pandas": cli_s / pandas_s if cli_s and pandas_s else None,
        "cli_seed_process_seconds": _median([m.wall_seconds for m in base_runs]),
        "statsmodels_fit_seconds": sm.get("fit_seconds") if ok(sm) else None,
        "statsmodels_process_seconds": sm.get("process_seconds") if ok(sm) else None,
        "statsmodels_criterion": sm.get("criterion") if ok(sm) else None,
        "lme4_fit_seconds": lme4.get("fit_seconds") if ok(lme4) else None,
        "lme4_process_seconds": lme4.get("process_seconds") if ok(lme4) else None,
        "lme4_criterion": lme4.get("criterion") if ok(lme4) else None,
        "lme4_status": lme4.get("status", "not run"),
        "data_bytes_3x8": data_bytes,
        "pandas_frame_bytes": pandas_json.get("frame_bytes"),
        "csv_bytes": csv.stat().st_size,
        "cli_peak_rss": cli_peak,
        "cli_seed_peak_rss": base_peak,
        "pandas_read_peak_rss": max(m.peak_rss for m in pandas_runs),
        "pandas_read_rss_after_import": pandas_json.get("rss_after_import"),
        "lmmviz_worker_peak_rss": lm.get("peak_rss"),
        "lmmviz_worker_rss_after_import": lm.get("rss_after_import"),
        "commands": {"cli": " ".join(cli), "pandas_read": " ".join(pandas_cmd), "cli_seed": " ".join(cli_seed)},
    }
    f = h["lmmviz_fit_seconds"]
    for other in ("statsmodels", "lme4"):
        of, op = h[f"{other}_fit_seconds"], h[f"{other}_process_seconds"]
        h[f"speedup_fit_vs_{other}"] = of / f if of and f else None
        h[f"speedup_process_vs_{other}"] = op / cli_s if op and cli_s else None
    h["peak_over_data"] = cli_peak / data_bytes
    h["peak_increment_over_data"] = (cli_peak - base_peak) / data_bytes
    pr = h["pandas_read_peak_rss"] - (h["pandas_read_rss_after_import"] or 0)
    h["pandas_read_increment_over_data"] = pr / data_bytes
    h["goals"] = {
        "fit <= 1 s": _goal(f, lambda v: v <= 1.0),
        "CLI process <= 3x pandas read": _goal(h["cli_over_pandas"], lambda v: v <= 3.0),
        ">= 40x faster than statsmodels (fit)": _goal(h["speedup_fit_vs_statsmodels"], lambda v: v >= 40),
        ">= 100x faster than lme4 (fit)": _goal(h["speedup_fit_vs_lme4"], lambda v: v >= 100),
        "peak memory increment <= 2x data": _goal(h["peak_increment_over_data"], lambda v: v <= 2.0),
    }
    return h


def _goal(value, test):
    if value is None:
        return "not measured"
    return "met" if test(value) else "missed"


# --------------------------------------------------------------------------- tables


def speed_table(results: list[dict]) -> str:
    lines = [
        "| rows | groups | model | system | fit | process | read | peak RSS | criterion | Δ to best | best? |",
        "|---:|---:|---|---|---:|---:|---:|---:|---:|---:|:---:|",
    ]
    for case in results:
        for r in case["systems"]:
            st = r.get("status")
            if st == "ok":
                crit = f"{r['criterion']:.4f}"
                d = r.get("delta_to_best")
                delta = "0" if d is not None and d == 0 else (f"{d:.2g}" if d is not None else "–")
                best = "yes" if r.get("is_best") else "**no**"
                lines.append(
                    f"| {case['rows']:,} | {case['groups']:,} | {case['model']} | {r['system']} | "
                    f"{fmt_s(r['fit_seconds'])} | {fmt_s(r['process_seconds'])} | {fmt_s(r['read_seconds'])} | "
                    f"{fmt_bytes(r['peak_rss'])} | {crit} | {delta} | {best} |")
            else:
                why = r.get("error", "")
                lines.append(f"| {case['rows']:,} | {case['groups']:,} | {case['model']} | {r['system']} | "
                             f"{st}: {why} | | | | | | |")
    return "\n".join(lines)


def headline_table(h: dict) -> str:
    def x(v):
        return "–" if v is None else f"{v:.1f}×"

    rows = [
        ("lmmviz fit alone (median)", fmt_s(h["lmmviz_fit_seconds"]), h["goals"]["fit <= 1 s"] + " (goal ≤ 1 s)"),
        ("`lmmviz fit` CLI process (median)", fmt_s(h["cli_process_seconds"]), ""),
        ("pandas-only read process (median)", fmt_s(h["pandas_read_process_seconds"]), ""),
        ("CLI process / pandas read", x(h["cli_over_pandas"]),
         h["goals"]["CLI process <= 3x pandas read"] + " (goal ≤ 3×)"),
        ("statsmodels fit", fmt_s(h["statsmodels_fit_seconds"]), ""),
        ("speed-up vs statsmodels (fit / process)",
         f"{x(h['speedup_fit_vs_statsmodels'])} / {x(h['speedup_process_vs_statsmodels'])}",
         h["goals"][">= 40x faster than statsmodels (fit)"] + " (goal ≥ 40×)"),
        ("lme4 fit", fmt_s(h["lme4_fit_seconds"]) if h["lme4_fit_seconds"] else h["lme4_status"], ""),
        ("speed-up vs lme4 (fit / process)",
         f"{x(h['speedup_fit_vs_lme4'])} / {x(h['speedup_process_vs_lme4'])}",
         h["goals"][">= 100x faster than lme4 (fit)"] + " (goal ≥ 100×)"),
        ("data: 3 columns × 8 bytes × rows", fmt_bytes(h["data_bytes_3x8"]), ""),
        ("CLI peak RSS / after imports (seed run)",
         f"{fmt_bytes(h['cli_peak_rss'])} / {fmt_bytes(h['cli_seed_peak_rss'])}", ""),
        ("CLI peak RSS increment / data", x(h["peak_increment_over_data"]),
         h["goals"]["peak memory increment <= 2x data"] + " (goal ≤ 2×)"),
        ("CLI peak RSS (whole) / data", x(h["peak_over_data"]), ""),
        ("pandas read: peak increment / data", x(h["pandas_read_increment_over_data"]), "for scale"),
    ]
    crits = [("lmmviz", h["lmmviz_criterion"]), ("statsmodels", h["statsmodels_criterion"]),
             ("lme4", h["lme4_criterion"])]
    out = ["| measure | value | goal |", "|---|---:|---|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    out.append("")
    out.append("REML criterion reached: " + ", ".join(
        f"{n} {c:.4f}" if c is not None else f"{n} –" for n, c in crits))
    return "\n".join(out)


# --------------------------------------------------------------------------- plot


def scaling_plot(results: list[dict], path: Path) -> None:
    import altair as alt
    import pandas as pd
    import vl_convert

    pts = []
    for case in results:
        for r in case["systems"]:
            if r.get("status") != "ok":
                continue
            for measure_name, key in (("fit alone", "fit_seconds"), ("whole process (incl. CSV read)",
                                                                     "process_seconds")):
                if r.get(key):
                    pts.append({"rows": case["rows"], "groups": case["groups"], "model": case["model"],
                                "system": r["system"], "measure": measure_name, "seconds": r[key]})
    if not pts:
        return
    df = pd.DataFrame(pts)
    color = alt.Color("system:N", scale=alt.Scale(domain=list(SYSTEMS), range=["#1b9e77", "#d95f02", "#7570b3"]),
                      title="system")
    x = alt.X("rows:Q", scale=alt.Scale(type="log"), title="rows", axis=alt.Axis(format="~s"))
    y = alt.Y("seconds:Q", scale=alt.Scale(type="log"), title="seconds")
    chart = alt.layer(
        alt.Chart().mark_point(size=30, filled=True, opacity=0.55).encode(
            x=x, y=y, color=color, shape=alt.Shape("groups:O", title="groups")),
        alt.Chart().transform_aggregate(
            seconds="median(seconds)", groupby=["rows", "system", "model", "measure"]
        ).mark_line(strokeWidth=2).encode(x=x, y=y, color=color),
        data=df,
    ).properties(width=250, height=180).facet(
        row=alt.Row("measure:N", title=None), column=alt.Column("model:N", title="model")
    ).properties(title="Time against rows (log-log); line = median over group counts")
    png = vl_convert.vegalite_to_png(chart.to_json(), scale=1)
    path.write_bytes(_small_png(png))


def _small_png(png: bytes) -> bytes:
    """A 64-colour palette PNG (a quarter of the size; the chart has few colours)."""
    try:
        import io

        from PIL import Image
    except ImportError:
        return png
    img = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT)
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True)
    return buf.getvalue() if buf.tell() < len(png) else png


# --------------------------------------------------------------------------- main


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="rows ≤ 10^4, one repeat, no headline")
    p.add_argument("--max-rows", type=int, default=None, help="largest data size to run")
    p.add_argument("--min-rows", type=int, default=0, help="smallest data size to run")
    p.add_argument("--with-10m", action="store_true", help="add 10^7 rows (lmmviz and pandas only)")
    p.add_argument("--no-lme4", action="store_true", help="do not run lme4 even if installed")
    p.add_argument("--no-statsmodels", action="store_true")
    p.add_argument("--headline-only", action="store_true",
                   help="only the 1M-row random-slope case of issue 2 (written to --out)")
    p.add_argument("--no-correctness", action="store_true", help="skip the correctness table")
    p.add_argument("--repeats", type=int, default=3, help="repeats of fast measurements (median)")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds before a child is killed")
    p.add_argument("--keep-blas-env", action="store_true",
                   help="keep OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE in the children (default: unset them)")
    p.add_argument("--out", type=Path, default=HERE / "out", help="data and scratch results")
    p.add_argument("--lmmviz-root", type=Path, default=None,
                   help="folder holding the lmmviz package to measure (default: this checkout)")
    p.add_argument("--wait-idle", type=float, default=0.0, metavar="SECONDS",
                   help="first wait up to SECONDS for the 1-minute load average to fall below 0.5")
    args = p.parse_args(argv)
    args.out = args.out.resolve()
    if args.quick:
        args.max_rows = args.max_rows or 10_000
        args.repeats = 1
    max_rows = args.max_rows or (10_000_000 if args.with_10m else 1_000_000)
    publish = not args.quick and args.max_rows is None and not args.headline_only and not args.min_rows
    dest = HERE if publish else args.out
    args.out.mkdir(parents=True, exist_ok=True)
    env = child_env(native_blas=not args.keep_blas_env, lmmviz_root=args.lmmviz_root)
    lme4_ok = not args.no_lme4 and have_lme4()
    t_start = time.perf_counter()
    if args.wait_idle:
        print(f"load average {os.getloadavg()[0]:.2f}; waiting up to {args.wait_idle:.0f} s for < 0.5", flush=True)
        wait_idle(args.wait_idle)
    machine = machine_info(env, with_r=lme4_ok)
    machine["lmmviz_revision"] = lmmviz_revision()  # of this checkout
    if args.lmmviz_root:
        machine["lmmviz_root"] = str(args.lmmviz_root)  # what was measured instead
    machine["loadavg_at_start"] = os.getloadavg()
    print("machine:", json.dumps(machine), flush=True)

    grid = [c for c in GRID + (GRID_10M if args.with_10m else []) if args.min_rows <= c[0] <= max_rows]
    models = MODELS
    if args.headline_only:
        grid, models, args.no_correctness = [HEADLINE[:3]], (HEADLINE[3],), True
    results: list[dict] = []
    head = None
    for rows, groups, n_obs in grid:
        csv = simulate(groups, n_obs, args.out / "data", env=env)
        for model in models:
            plan = plan_systems(rows, groups, model, lme4_ok, args)
            recs = []
            for system in SYSTEMS:
                why = plan[system]
                if why is not None:
                    recs.append(not_run(system, why))
                    continue
                reps = args.repeats
                recs.append(run_system(system, csv, model, reps, args.timeout, env))
                r = recs[-1]
                print(f"  {rows:>10,} rows {groups:>7,} groups {model:9s} {system:11s} {r['status']:7s} "
                      f"fit {fmt_s(r.get('fit_seconds')):>8s} process {fmt_s(r.get('process_seconds')):>8s} "
                      f"peak {fmt_bytes(r.get('peak_rss')):>9s} crit {r.get('criterion')}", flush=True)
            mark_best(recs)
            case = {"rows": rows, "groups": groups, "n_obs": n_obs, "actual_rows": groups * n_obs,
                    "model": model, "data": simulate_command(groups, n_obs), "systems": recs}
            results.append(case)
            if (rows, groups, n_obs, model) == HEADLINE and not args.quick:
                head = headline(csv, groups * n_obs, recs, max(args.repeats, 5), args.timeout, env)
    elapsed = time.perf_counter() - t_start
    machine["loadavg_at_end"] = os.getloadavg()

    tables = ["## Speed and memory grid (REML)", "", speed_table(results), ""]
    if head:
        tables += ["## Headline: 1,000,000 rows, 10,000 groups, random slope", "", headline_table(head), ""]
    text = "\n".join(tables)
    print()
    print(text)
    print(f"\nspeed grid took {elapsed:.0f} s")
    out = {"machine": machine, "grid": results, "headline": head, "elapsed_seconds": elapsed,
           "settings": {"repeats": args.repeats, "max_rows": max_rows, "native_blas": not args.keep_blas_env,
                        "same_optimum": SAME_OPTIMUM}}
    (dest / "results.json").write_text(json.dumps(out, indent=1))
    (args.out / "tables.md").write_text(text + "\n")
    try:
        scaling_plot(results, dest / "scaling.png")
    except Exception as err:  # the plot is a convenience; the numbers are in the JSON
        print(f"plot not written: {type(err).__name__}: {err}", file=sys.stderr)
    print(f"wrote {dest / 'results.json'} and {dest / 'scaling.png'}")
    if not args.no_correctness:
        # in a child, so that it fits with the same lmmviz as the speed grid
        cenv = dict(env, PYTHONPATH=env["PYTHONPATH"] + os.pathsep + str(ROOT))
        subprocess.run([PY, "-m", "benchmarks.correctness", "--out", str(dest)]
                       + (["--no-statsmodels"] if args.no_statsmodels else []), env=cenv, cwd="/", check=False)
    print(f"total {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
