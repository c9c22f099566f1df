"""Frozen, picklable results (lme4's ``merMod``, MixedModels.jl's fitted model).

Everything here is plain data: numbers, tuples, NumPy arrays and small pandas
frames, so that results cache with ``st.cache_data`` and travel as JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .optimizers import OptSummary


def same_optimum(a: float, b: float) -> bool:
    """Two criteria count as one optimum when within 1e-3 (plus 1e-9 relative, for the
    criteria in the millions of very large data sets, where optimizers stop a few 1e-3
    apart on the same optimum)."""
    return abs(a - b) <= 1e-3 + 1e-9 * max(abs(a), abs(b))


def same_basin(a: float, b: float) -> bool:
    """Looser than :func:`same_optimum`, for grouping runs in displays: runs that stopped
    short near one optimum (within 1e-3 relative, e.g. 101.37 beside 101.34) join it."""
    return abs(a - b) <= 1e-3 * max(1.0, abs(a), abs(b))


@dataclass(frozen=True)
class Diagnostic:
    """One finding about a fit, in words a student can act on.

    ``severity`` is ``"info"``, ``"warning"`` or ``"problem"``.
    """

    code: str
    severity: str
    title: str
    message: str
    advice: str = ""


@dataclass(frozen=True)
class VarCorrRow:
    """One row of lme4's ``as.data.frame(VarCorr(m))``."""

    grp: str
    var1: str | None
    var2: str | None
    vcov: float
    sdcor: float


@dataclass(frozen=True, eq=False)
class Fit:
    """A fitted linear mixed model, in lme4's parameterization and vocabulary.

    ``criterion`` is the REML criterion (``reml``) or −2 log-likelihood (ML).
    ``theta`` is lme4's θ (lower triangle of the relative covariance factor,
    column by column). ``ranef`` has one row per group: the conditional modes
    (BLUPs), their conditional SDs (``condsd_*``), and each group's fitted line
    (``line_intercept``, ``line_slope``). ``fitted`` and ``residuals`` follow the
    rows of the data the fit was made from; they are None for a fit from per-group sums
    (:func:`lmmviz.load_stats`), which has everything else. ``runs`` holds every optimizer run the
    fit made (several for the robust default), ``optsum`` the one that won.
    """

    model: str
    formula: str
    reml: bool
    optimizer: str
    names: dict
    n_obs: int
    n_groups: int
    dropped_rows: int
    theta: tuple
    theta_names: tuple
    criterion: float
    loglik: float
    npar: int
    aic: float
    bic: float
    fixef_names: tuple
    beta: np.ndarray = field(repr=False)
    se: np.ndarray = field(repr=False)
    vcov_fixef: np.ndarray = field(repr=False)
    sigma: float = math.nan
    varcorr: tuple = ()
    ranef: pd.DataFrame = field(default=None, repr=False)
    fitted: np.ndarray = field(default=None, repr=False)
    residuals: np.ndarray = field(default=None, repr=False)
    singular: bool = False
    converged: bool = True
    warnings: tuple = ()
    diagnostics: tuple = ()
    gradient: np.ndarray = field(default=None, repr=False)
    hessian: np.ndarray = field(default=None, repr=False)
    optsum: OptSummary | None = field(default=None, repr=False)
    runs: tuple = field(default=(), repr=False)
    # lmerTest's Satterthwaite denominator df, one per fixed effect (NaN where not computable)
    df: np.ndarray = field(default=None, repr=False)

    # --------------------------------------------------------------- lme4-style accessors
    @property
    def fixef(self) -> dict:
        return dict(zip(self.fixef_names, map(float, self.beta)))

    @property
    def se_dict(self) -> dict:
        return dict(zip(self.fixef_names, map(float, self.se)))

    @property
    def tvalue(self) -> np.ndarray:
        return self.beta / self.se

    @property
    def p_value(self) -> np.ndarray:
        """lmerTest's ``Pr(>|t|)``: two-sided, t on the Satterthwaite df."""
        from scipy.special import stdtr  # slow to import: only when asked

        return 2.0 * stdtr(self.df, -np.abs(self.tvalue))

    @property
    def corr_fixef(self) -> np.ndarray:
        d = np.sqrt(np.diag(self.vcov_fixef))
        return self.vcov_fixef / np.outer(d, d)

    @property
    def slope(self) -> float:
        """The fixed slope of x (for ``within_between``, the within-group slope)."""
        return float(self.beta[1])

    @property
    def evaluations(self) -> int:
        return int(sum(r.feval for r in self.runs)) if self.runs else 0

    @property
    def seconds(self) -> float:
        return float(sum(r.seconds for r in self.runs)) if self.runs else 0.0

    @property
    def timed_out_runs(self) -> tuple:
        """The runs the safety time limit cut short (none when evaluations bounded the work)."""
        return tuple(r for r in self.runs if r.timed_out)

    @property
    def criterion_name(self) -> str:
        return "REML criterion" if self.reml else "-2 log-likelihood"

    @property
    def max_abs_corr(self) -> float:
        cors = [abs(r.sdcor) for r in self.varcorr if r.var2 is not None and math.isfinite(r.sdcor)]
        return max(cors) if cors else math.nan

    def population_line(self) -> tuple[float, float]:
        """Intercept and slope of the fixed-effects line (for ``within_between``,
        the between-group line β₀ + β_mean·x̄)."""
        if self.model == "within_between":
            return float(self.beta[0]), float(self.beta[2])
        return float(self.beta[0]), float(self.beta[1])

    def distinct_optima(self) -> list[tuple[float, list[OptSummary]]]:
        """The free runs grouped by where they stopped (:func:`same_basin`), best first.
        Searches held on a boundary stop higher by design and are left out, and so are
        runs cut short by the time limit: they did not stop at an optimum."""
        groups: list[tuple[float, list[OptSummary]]] = []
        free = (r for r in self.runs if math.isfinite(r.fmin) and not r.constrained and not r.timed_out)
        for r in sorted(free, key=lambda r: r.fmin):
            if groups and same_basin(r.fmin, groups[-1][0]):
                groups[-1][1].append(r)
            else:
                groups.append((r.fmin, [r]))
        return groups

    def to_dict(self) -> dict:
        """The stable JSON keys of the CLI and the app's download (docs/cli-and-api.md, "JSON keys")."""
        x = self.names["x"]
        return {
            "model": self.model,
            "formula": self.formula,
            "reml": self.reml,
            "optimizer": self.optimizer,
            "criterion": self.criterion,
            "loglik": self.loglik,
            "aic": self.aic,
            "bic": self.bic,
            "theta": [float(t) for t in self.theta],
            "fixef": self.fixef,
            "se": self.se_dict,
            "df": dict(zip(self.fixef_names, map(float, self.df))),
            "p_value": dict(zip(self.fixef_names, map(float, self.p_value))),
            "sigma": self.sigma,
            "varcorr": [r.__dict__.copy() for r in self.varcorr],
            "singular": self.singular,
            "converged": self.converged,
            "warnings": list(self.warnings),
            "n_obs": self.n_obs,
            "n_groups": self.n_groups,
            "dropped_rows": self.dropped_rows,
            "evaluations": self.evaluations,
            "seconds": self.seconds,
            "x": x,
            "ranef": {
                str(row["group"]): {k: float(row[k]) for k in self.ranef.columns if k != "group"}
                for _, row in self.ranef.iterrows()
            } if self.ranef is not None and self.n_groups <= 1000 else None,
            "diagnostics": [{"code": d.code, "severity": d.severity, "message": d.message,
                             "advice": d.advice} for d in self.diagnostics],
            "runs": [
                {"optimizer": r.optimizer, "start": r.start_label, "criterion": r.fmin,
                 "theta": list(r.final), "evaluations": r.feval, "message": r.returnvalue}
                for r in self.runs
            ],
        }


# The keys of Fit.to_dict(), in order (a test keeps them in step).
FIT_KEYS = ("model", "formula", "reml", "optimizer", "criterion", "loglik", "aic", "bic", "theta", "fixef",
            "se", "df", "p_value", "sigma", "varcorr", "singular", "converged", "warnings", "n_obs", "n_groups",
            "dropped_rows", "evaluations", "seconds", "x", "ranef", "diagnostics", "runs")


@dataclass(frozen=True, eq=False)
class ComparisonEntry:
    """One optimizer's result in :func:`lmmviz.compare`; ``fit`` is None if it failed."""

    optimizer: str
    label: str
    verdict: str  # "best", "local optimum", "failed" or "not run" (the model cannot use it)
    fit: Fit | None
    message: str
    # "lme4" for a twin of an lme4 optimizer (allFit's name), "lmmviz" for the others
    family: str = "lmmviz"
    # the optimum reached: 1 for the lowest criterion, 2 for the next, ...; 0 when failed
    optimum: int = 0

    @property
    def name(self) -> str:
        """allFit's name for an lme4 twin (``bobyqa``), the registry name otherwise."""
        from .lme4opt import lme4_name

        return lme4_name(self.optimizer)


@dataclass(frozen=True, eq=False)
class Comparison:
    """lme4's ``allFit``: every optimizer from the same start; the lme4 twins first in
    allFit's order, then lmmviz's optimizers and the robust default by optimum reached."""

    model: str
    reml: bool
    start: tuple
    start_label: str
    entries: tuple
    best: str

    def table(self) -> pd.DataFrame:
        rows = []
        for e in self.entries:
            f = e.fit
            row = {"optimizer": e.optimizer, "label": e.label, "family": e.family, "optimum": e.optimum,
                   "verdict": e.verdict, "message": e.message}
            if f is not None:
                sds = [r.sdcor for r in f.varcorr if r.var2 is None and r.grp != "Residual"]
                row.update({
                    "criterion": f.criterion, "slope": f.slope, "sigma": f.sigma,
                    "sd_intercept": sds[0] if sds else math.nan,
                    "sd_slope": sds[1] if len(sds) > 1 else math.nan,
                    "corr": _corr_value(f),
                    "evaluations": f.optsum.feval if f.optsum else 0,
                    "seconds": f.optsum.seconds if f.optsum else 0.0,
                    "singular": f.singular,
                    "theta": tuple(round(t, 6) for t in f.theta),
                })
            rows.append(row)
        return pd.DataFrame(rows)

    def fit_dicts(self) -> list[dict]:
        """One object per entry, best first, all with the same keys: :data:`FIT_KEYS`
        (None where a run has no fit), then ``verdict``, ``message``, ``label``, ``family`` and
        ``optimum``."""
        out = []
        for e in self.entries:
            d = e.fit.to_dict() if e.fit else {**dict.fromkeys(FIT_KEYS), "model": self.model,
                                                "reml": self.reml, "optimizer": e.optimizer}
            out.append({**d, "verdict": e.verdict, "message": e.message, "label": e.label, "family": e.family,
                        "optimum": e.optimum})
        return out

    def to_dict(self) -> dict:
        return {
            "model": self.model, "reml": self.reml, "start": list(self.start),
            "start_label": self.start_label, "best": self.best, "fits": self.fit_dicts(),
        }


def _corr_value(f: Fit) -> float:
    for r in f.varcorr:
        if r.var2 is not None:
            return float(r.sdcor)
    return math.nan


@dataclass(frozen=True)
class AnovaRow:
    model: str
    formula: str
    npar: int
    aic: float
    bic: float
    loglik: float
    deviance: float
    chisq: float
    df: int | None
    p: float


@dataclass(frozen=True, eq=False)
class Anova:
    """Likelihood-ratio tests between nested models, refitted by ML (lme4's ``anova``)."""

    rows: tuple
    fits: tuple = field(repr=False, default=())

    def table(self) -> pd.DataFrame:
        return pd.DataFrame([r.__dict__ for r in self.rows])

    def to_dict(self) -> dict:
        return {"rows": [r.__dict__ for r in self.rows]}
