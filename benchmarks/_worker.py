"""One benchmark measurement in its own process: ``python benchmarks/_worker.py SYSTEM CSV ...``.

SYSTEM is one of

* ``lmmviz``      – ``lmmviz.data.load`` (the CLI's reader) then ``lmmviz.fit`` (robust default);
* ``statsmodels`` – ``pandas.read_csv`` then ``MixedLM.from_formula(...).fit()`` (its defaults);
* ``pandas_read`` – ``pandas.read_csv`` only (the yardstick of issue 2's process-time goal).

Prints one JSON object on stdout. Times are ``time.perf_counter`` inside the process:

* ``import_seconds`` – importing the libraries;
* ``read_seconds``   – CSV file → data frame ready for the library;
* ``fit_seconds``    – in-memory data → fitted model (model set-up included: lmmviz's design
  and sufficient statistics, statsmodels' formula and group split).

Memory: ``rss_after_import`` is VmRSS once the libraries are imported and before any data is
read; ``peak_rss`` is VmHWM at exit (the same number the parent gets from ``wait4``'s
``ru_maxrss``). Both in bytes.
"""

from __future__ import annotations

import json
import math
import sys
import time
import warnings

T_START = time.perf_counter()


def _status(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _criterion_statsmodels(res, reml: bool) -> float:
    """statsmodels' llf on lme4's scale.

    statsmodels profiles the residual variance out of the same relative-covariance
    likelihood as lme4, with the same constants: for REML its llf is
    −½[log|V| + log|X'V⁻¹X| + (n−p)(1 + log(2π·qf/(n−p)))], so −2·llf is lme4's REML
    criterion; for ML −2·llf is lme4's deviance. (Checked on the seed against lme4's
    own numbers: see benchmarks/README.md.)
    """
    return -2.0 * float(res.llf)


def run_lmmviz(csv: str, model: str, reml: bool, cols: dict) -> dict:
    import lmmviz

    load, fit = lmmviz.load, lmmviz.fit  # the public API (module names may move)

    rss0 = _status("VmRSS")
    t_imp = time.perf_counter()
    data = load(csv, y=cols["y"], x=cols["x"], group=cols["group"])
    t_read = time.perf_counter()
    res = fit(data, model, reml=reml)
    t_fit = time.perf_counter()
    return {
        "rss_after_import": rss0,
        "import_seconds": t_imp - T_START,
        "read_seconds": t_read - t_imp,
        "fit_seconds": t_fit - t_read,
        "criterion": float(res.criterion),
        "theta": [float(t) for t in res.theta],
        "beta": [float(b) for b in res.beta],
        "converged": bool(res.converged),
        "messages": list(res.warnings),
        "evaluations": int(res.evaluations),
        "n_rows": int(res.n_obs),
        "n_groups": int(res.n_groups),
    }


def run_statsmodels(csv: str, model: str, reml: bool, cols: dict) -> dict:
    import numpy as np
    import pandas as pd
    from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams

    rss0 = _status("VmRSS")
    t_imp = time.perf_counter()
    df = pd.read_csv(csv, dtype={cols["group"]: str})
    t_read = time.perf_counter()
    y, x, g = cols["y"], cols["x"], cols["group"]
    re_formula = None if model == "intercept" else f"~{x}"
    msgs: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        md = MixedLM.from_formula(f"{y} ~ {x}", df, groups=df[g], re_formula=re_formula)
        kw = {}
        if model == "uncorrelated":
            # statsmodels' documented way to hold the random-effects correlation at 0.
            kw["free"] = MixedLMParams.from_components(np.ones(md.k_fe), np.eye(md.k_re))
        res = md.fit(reml=reml, **kw)
    t_fit = time.perf_counter()
    for w in caught:
        text = " ".join(str(w.message).split())
        if text not in msgs:
            msgs.append(text[:200])
    cov = np.asarray(res.cov_re, float) / float(res.scale)
    try:
        L = np.linalg.cholesky(cov)
        theta = [float(L[0, 0])] if L.shape[0] == 1 else (
            [float(L[0, 0]), float(L[1, 0]), float(L[1, 1])] if model == "slope"
            else [float(math.sqrt(max(cov[0, 0], 0))), float(math.sqrt(max(cov[1, 1], 0)))])
    except np.linalg.LinAlgError:
        theta = [float(math.sqrt(max(v, 0.0))) for v in np.diag(cov)]
    return {
        "rss_after_import": rss0,
        "import_seconds": t_imp - T_START,
        "read_seconds": t_read - t_imp,
        "fit_seconds": t_fit - t_read,
        "criterion": _criterion_statsmodels(res, reml),
        "theta": theta,
        "beta": [float(b) for b in np.asarray(res.fe_params)],
        "converged": bool(getattr(res, "converged", True)),
        "messages": msgs,
        "n_rows": int(len(df)),
        "n_groups": int(len(md.group_labels)),
    }


def run_pandas_read(csv: str, model: str, reml: bool, cols: dict) -> dict:
    import pandas as pd

    rss0 = _status("VmRSS")
    t_imp = time.perf_counter()
    df = pd.read_csv(csv)
    t_read = time.perf_counter()
    return {
        "rss_after_import": rss0,
        "import_seconds": t_imp - T_START,
        "read_seconds": t_read - t_imp,
        "fit_seconds": None,
        "n_rows": int(len(df)),
        "frame_bytes": int(df.memory_usage(deep=True).sum()),
    }


SYSTEMS = {"lmmviz": run_lmmviz, "statsmodels": run_statsmodels, "pandas_read": run_pandas_read}


def main(argv=None) -> int:
    import argparse

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("system", choices=sorted(SYSTEMS))
    p.add_argument("csv")
    p.add_argument("--model", default="slope")
    p.add_argument("--ml", action="store_true")
    p.add_argument("--y", default="pain")
    p.add_argument("--x", default="dosage")
    p.add_argument("--group", default="subject_id")
    a = p.parse_args(argv)
    cols = {"y": a.y, "x": a.x, "group": a.group}
    try:
        out = SYSTEMS[a.system](a.csv, a.model, not a.ml, cols)
        out["status"] = "ok"
    except Exception as err:  # a failed fit is a result of the benchmark, not a crash
        out = {"status": "error", "error": f"{type(err).__name__}: {' '.join(str(err).split())[:300]}"}
    out["system"] = a.system
    out["peak_rss"] = _status("VmHWM")
    out["total_seconds_inside"] = time.perf_counter() - T_START
    sys.stdout.write(json.dumps(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
