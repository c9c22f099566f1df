"""``python -m lmmviz`` / ``lmmviz``: fit, compare, list optimizers, simulate, per-group sums.

Heavy libraries are imported inside the commands so that ``--help`` is instant.
Exit status: 0 on success, 2 with one ``error: …`` line on bad input, 1 with one
``error: …`` line when the optimizer run failed (the line says why).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from types import MappingProxyType

MODEL_CHOICES = ("intercept", "slope", "uncorrelated", "within_between")


def _json_default(o):
    import numpy as np

    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(type(o).__name__)


def _clean(o):
    """JSON has no NaN or infinity: write null."""
    if isinstance(o, float) and not math.isfinite(o):
        return None
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    return o


def dumps(obj) -> str:
    return json.dumps(_clean(json.loads(json.dumps(obj, default=_json_default, allow_nan=True))),
                      indent=2, allow_nan=False)


def _data_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="CSV or TSV file (gzip allowed), or - for standard input")
    p.add_argument("--y", help="response column (guessed from names if omitted)")
    p.add_argument("--x", help="predictor column (guessed if omitted)")
    p.add_argument("--group", help="grouping column (guessed if omitted)")
    p.add_argument("--model", choices=MODEL_CHOICES, default="intercept")
    p.add_argument("--ml", action="store_true", help="maximum likelihood instead of REML")
    p.add_argument("--maxeval", type=int, default=10_000, help="evaluations per optimizer run")
    p.add_argument("--start", help="start θ, comma separated in lme4's order (default: lme4's start)")
    p.add_argument("--initial-step", type=float, help="initial step / trust radius / simplex size")
    p.add_argument("--ftol", type=float, help="absolute tolerance on the criterion")
    p.add_argument("--xtol", type=float, help="absolute tolerance on θ")
    p.add_argument("--max-seconds", type=float, default=60.0, help="safety time limit per fit (default 60); evaluations bound the work")
    p.add_argument("--json", action="store_true", help="print JSON with stable keys")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one ``error:`` line and exit status 2."""

    def error(self, message):
        self.exit(2, f"error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="lmmviz",
        description="Fit linear mixed models exactly as lme4 does, without stopping silently in a local optimum.",
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    f = sub.add_parser("fit", help="fit one model and print an lme4-style summary")
    _data_args(f)
    f.add_argument("--optimizer", default="robust",
                   help="robust (default) or a name from `lmmviz optimizers`, e.g. lme4:bobyqa (lme4's own, as a twin)")
    _scale_args(f)
    f.add_argument("--confint", choices=("wald", "profile"),
                   help="confidence intervals of the fixed effects, as lme4's confint(method=)")
    f.add_argument("--level", type=float, default=0.95, help="confidence level of --confint (default 0.95)")
    c = sub.add_parser("compare", help="fit with every optimizer from the same start (like lme4's allFit)")
    _data_args(c)
    _scale_args(c)
    sub.add_parser("optimizers", help="list the optimizers with library and algorithm")
    s = sub.add_parser("simulate", help="simulate Simpson's-paradox data")
    from_defaults = _simulation_defaults()
    for name, (default, kind, help_text) in from_defaults.items():
        s.add_argument(f"--{name.replace('_', '-')}", dest=name, type=kind, default=default, help=help_text)
    s.add_argument("--preset", help="start from a named preset (classic, no_confounding, few_subjects, "
                                     "many_subjects, varying_slopes, singular)")
    s.add_argument("--out", required=True, help="output CSV path, or - for standard output")
    t = sub.add_parser("stats", help="write the per-group sums a fit needs (one row per group)")
    t.add_argument("data", help="CSV or TSV file (gzip allowed), Parquet with --engine duckdb, or - for standard input")
    for role in ("y", "x", "group"):
        t.add_argument(f"--{role}", help=f"{role} column (guessed if omitted)")
    t.add_argument("--engine", choices=ENGINES, default="memory", help="memory (default) or duckdb (embedded)")
    t.add_argument("--out", required=True, help="output path: .parquet/.pq for Parquet, else CSV; - for standard output")
    return parser


ENGINES = ("memory", "duckdb")


def _scale_args(p: argparse.ArgumentParser) -> None:
    """Options for data beyond memory (docs/big-data.md)."""
    p.add_argument("--from-stats", action="store_true",
                   help="DATA holds per-group sums (from `lmmviz stats` or SQL), not rows")
    p.add_argument("--engine", choices=ENGINES, default="memory",
                   help="read DATA in memory (default) or with DuckDB (CSV or Parquet; the sums come from SQL)")


def _simulation_defaults() -> dict:
    return {
        "n_subjects": (None, int, "number of subjects (default 3)"),
        "n_obs": (None, int, "observations per subject (default 4)"),
        "dose_spacing": (None, float, "distance between subjects' first doses (default 25)"),
        "dose_range": (None, float, "each subject's dose range (default 3)"),
        "confounding": (None, float, "rise of baseline pain per unit of a subject's dose (default 17)"),
        "slope": (None, float, "mean within-subject slope (default -8)"),
        "slope_sd": (None, float, "SD of slopes between subjects (default 0.5)"),
        "sigma": (None, float, "residual SD (default 3)"),
        "intercept": (None, float, "baseline pain at dose 0 (default 100)"),
        "baseline_sd": (None, float, "SD of baselines between subjects (default 10)"),
        "seed": (None, int, "random seed (default 1)"),
    }


def _load(args):
    """Validated rows, or per-group sums (``--from-stats``, ``--engine duckdb``), which ``fit`` takes alike."""
    if getattr(args, "from_stats", False) or getattr(args, "engine", "memory") == "duckdb":
        return _load_sums(args)
    from .data import load

    return load(args.data, y=args.y, x=args.x, group=args.group)


def _load_sums(args):
    from .sums import load_stats, precision_notes

    if getattr(args, "from_stats", False):
        if args.engine == "duckdb":
            raise ValueError("--from-stats reads the sums themselves: leave out --engine duckdb")
        sums = load_stats(args.data, y=args.y, x=args.x, group=args.group)
    elif args.engine == "duckdb":
        from .duck import duckdb_sums

        sums = duckdb_sums(args.data, y=args.y, x=args.x, group=args.group)
    else:
        from .sums import data_sums

        sums = data_sums(_load(args))
    for note in precision_notes(sums):
        print(f"note: {note}", file=sys.stderr)
    return sums


def cmd_stats(args) -> int:
    from .sums import write_stats

    sums = _load_sums(args)
    if args.out == "-":
        sums.frame().to_csv(sys.stdout, index=False)
    else:
        write_stats(sums, args.out)
        print(f"wrote {sums.n_groups} groups ({sums.n_obs} rows) to {args.out}", file=sys.stderr)
    return 0


def _settings(args):
    from .optimizers import OptimizerSettings

    if args.maxeval < 1 or args.maxeval > 1_000_000:
        raise ValueError("--maxeval must be between 1 and 1,000,000")
    if not 0 < args.max_seconds <= 3600:
        raise ValueError("--max-seconds must be between 0 and 3600")
    start = None
    if args.start:
        try:
            start = tuple(float(v) for v in args.start.split(","))
        except ValueError:
            raise ValueError(f"--start must be numbers separated by commas, not {args.start!r}") from None
        if not all(math.isfinite(v) for v in start):
            raise ValueError("--start values must be finite")
    for name in ("initial_step", "ftol", "xtol"):
        v = getattr(args, name)
        if v is not None and not (math.isfinite(v) and v > 0):
            raise ValueError(f"--{name.replace('_', '-')} must be a positive number")
    return OptimizerSettings(start=start, initial_step=args.initial_step, ftol_abs=args.ftol,
                             xtol_abs=args.xtol, maxeval=args.maxeval, max_seconds=args.max_seconds,
                             optimizer=getattr(args, "optimizer", "robust"), reml=not args.ml)


def cmd_fit(args) -> int:
    from .fitting import fit
    from .inference import confint
    from .report import confint_text, diagnostic_parts, summary_text

    data = _load(args)
    if not 0 < args.level < 1:
        raise ValueError("--level must be between 0 and 1")
    result = fit(data, args.model, settings=_settings(args))
    ci = confint(result, data, args.confint, args.level) if args.confint else None
    if args.json:
        print(dumps({**result.to_dict(), **(ci.to_dict() if ci else {})}))
    else:
        name = "stdin" if args.data == "-" else args.data
        print(summary_text(result, data_name=name))
        if ci:
            print(confint_text(ci))
        for d in result.diagnostics:
            if d.severity != "info":
                what, why, todo = diagnostic_parts(d)
                print(f"note: {d.title}: {what}")
                if why:
                    print(f"  why it matters: {why}")
                if todo:
                    print(f"  what to do: {todo}")
    return 0


def cmd_compare(args) -> int:
    from .fitting import compare
    from .lme4opt import NOT_FEASIBLE

    data = _load(args)
    result = compare(data, args.model, settings=_settings(args))
    if args.json:
        out = {"fits": result.fit_dicts(), "best": result.best}  # same keys in every entry
        print(dumps(out))
        return 0
    crit = "REML" if not args.ml else "-2logLik"
    header = f"{'optimizer':30s} {'optimum':>7s} {'verdict':14s} {crit:>12s} {'slope':>10s} {'evals':>6s}  message"
    sections = (("lme4 (allFit's optimizers, as twins)", "lme4"),
                ("lmmviz (library optimizers and the robust default)", "lmmviz"))
    for title, family in sections:
        print(f"{title}:")
        print(header)
        for e in result.entries:
            if e.family != family:
                continue
            if e.fit:
                print(f"{e.name:30s} {e.optimum:7d} {e.verdict:14s} {e.fit.criterion:12.4f} "
                      f"{e.fit.slope:10.4f} {e.fit.optsum.feval:6d}  {e.message[:60]}")
            else:
                print(f"{e.name:30s} {'-':>7s} {e.verdict:14s} {'':>12s} {'':>10s} {'':>6s}  {e.message}")
        if family == "lme4":
            for name, why in NOT_FEASIBLE.items():
                print(f"{name:30s} {'-':>7s} {'no twin':14s} {'':>12s} {'':>10s} {'':>6s}  {why}")
        print()
    return 0


def cmd_optimizers(args) -> int:
    from .optimizers import REGISTRY, ROBUST, ROBUST_LABEL

    print(f"{ROBUST:34s} {ROBUST_LABEL}")
    for info in REGISTRY.values():
        note = f"  [{info.note}]" if info.note else ""
        print(f"{info.name:34s} {info.library}: {info.algorithm}{note}")
    return 0


def cmd_simulate(args) -> int:
    from .data import PRESETS, SimulationSettings, simulate

    base = SimulationSettings()
    if args.preset:
        if args.preset not in PRESETS:
            raise ValueError(f"unknown preset {args.preset!r}: choose one of {', '.join(PRESETS)}")
        base = PRESETS[args.preset]
    overrides = {k: getattr(args, k) for k in _simulation_defaults() if getattr(args, k) is not None}
    frame = simulate(base, **overrides)
    if args.out == "-":
        frame.to_csv(sys.stdout, index=False)
    else:
        try:
            frame.to_csv(args.out, index=False)
        except OSError as err:
            raise ValueError(f"cannot write {args.out}: {err.strerror}") from None
        print(f"wrote {len(frame)} rows to {args.out}", file=sys.stderr)
    return 0


COMMANDS = MappingProxyType({"fit": cmd_fit, "compare": cmd_compare, "optimizers": cmd_optimizers, "simulate": cmd_simulate,
                            "stats": cmd_stats})


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ValueError, FloatingPointError, OverflowError, MemoryError, UnicodeError) as err:
        msg = " ".join(str(err).split()) or type(err).__name__
        print(f"error: {msg}", file=sys.stderr)
        return 2
    except RuntimeError as err:
        from .optimizers import OptimizerFailed  # here, so that --help does not import numpy

        if not isinstance(err, OptimizerFailed):
            raise
        print(f"error: {' '.join(str(err).split())}", file=sys.stderr)  # the input was fine; the run broke
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
