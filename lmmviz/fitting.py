"""The pipeline in plain sight (lme4's ``lmer``):

    design = make_design(data, model)              # lFormula
    f      = make_deviance(design, reml)           # mkLmerDevfun
    runs   = optimize(f, design, optimizer, ...)   # optimizeLmer
    fit    = make_fit(design, reml, runs, ...)     # mkMerMod

plus :func:`compare` (lme4's ``allFit``) and :func:`anova` (likelihood-ratio tests).
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from types import MappingProxyType

import numpy as np
import pandas as pd

from .data import Data, DataError
from .design import Design, GroupSums, derive_design, make_design, make_design_from_stats
from .deviance import Deviance, internal_lambda, lambda_matrix, make_deviance, solve, theta_from_internal
from .inference import satterthwaite_df
from .lme4opt import PREFIX as LME4_PREFIX
from .optimizers import (
    REGISTRY, ROBUST, OptimizerFailed, OptimizerSettings, OptSummary, get_optimizer, optimizer_label,
    run_optimizer,
)
from .results import (
    Anova, AnovaRow, Comparison, ComparisonEntry, Diagnostic, Fit, VarCorrRow, same_optimum,
)
from .theta import candidate_starts, lme4_start

SINGULAR_TOL = 1e-4  # lme4's isSingular
GRAD_TOL = 0.002  # lme4's check.conv.grad
HESS_TOL = 1e-6  # lme4's check.conv.hess
FEW_GROUPS = 5


# --------------------------------------------------------------------------- optimize


def optimize(
    f: Deviance,
    design: Design,
    optimizer: str = ROBUST,
    settings: OptimizerSettings | None = None,
) -> tuple[OptSummary, tuple[OptSummary, ...]]:
    """Run the optimizer(s); returns (the winning run, all runs)."""
    s = settings or OptimizerSettings()
    if s.start is not None:
        s = s.with_start(_checked_start(design, s.start))
    if optimizer != ROBUST:
        start = np.array(s.start) if s.start is not None else lme4_start(design)
        label = "your start" if s.start is not None else "lme4 start"
        run = run_optimizer(optimizer, f, start, f.lower, s, start_label=label)
        return run, (run,)
    return _robust(f, design, s)


def _checked_start(design: Design, start) -> np.ndarray:
    th = np.atleast_1d(np.asarray(start, dtype=float)).ravel()
    spec = design.spec
    if th.size != spec.n_theta:
        raise ValueError(
            f"the {spec.name} model has {spec.n_theta} θ value{'s' if spec.n_theta > 1 else ''} "
            f"({', '.join(spec.theta_names(design.names['x'], design.names['group']))}), "
            f"but the start gives {th.size}"
        )
    if not np.all(np.isfinite(th)):
        raise ValueError("start θ values must be finite numbers")
    return th


def _run_mapped(name: str, f: Deviance, to_theta, phi0, lower, s: OptimizerSettings, label: str,
                deadline: float | None = None) -> OptSummary:
    """Optimize f(to_theta(φ)) over φ; the summary and its fit log come back in lme4's θ."""
    def g(phi):
        return f(to_theta(np.asarray(phi, float)))

    run = run_optimizer(name, g, phi0, lower, s, start_label=label, deadline=deadline)
    to_raw = lambda v: tuple(float(t) for t in to_theta(np.asarray(v, float)))  # noqa: E731
    log = np.array([to_raw(v) for v in run.fitlog_theta]).reshape(len(run.fitlog_theta), f.n_theta)
    return replace(run, initial=to_raw(run.initial), final=to_raw(run.final), fitlog_theta=log,
                   settings=run.settings.with_start(to_raw(run.initial)))


def _run_internal(name: str, f: Deviance, design: Design, phi0, s: OptimizerSettings, label: str,
                  deadline: float | None = None) -> OptSummary:
    """The slope model over the factor φ for the internal x' = (x − c)/s.

    Same model, same criterion; but in φ the intercept and slope effects are nearly
    uncorrelated and of similar size, so trust-region and simplex steps fit the
    problem."""
    return _run_mapped(name, f, lambda phi: theta_from_internal(design, phi), phi0, f.lower, s, label, deadline)


def _run_on_boundary(f: Deviance, design: Design, zero: int, theta0, s: OptimizerSettings,
                     deadline: float | None = None) -> OptSummary:
    """BOBYQA with the diagonal entry ``zero`` of Λ held at 0: a variance at zero, or a
    correlation at ±1. Boundary optima can hide beside interior ones that every
    interior start falls into."""
    free = [i for i in range(f.n_theta) if i != zero]

    def embed(phi):
        th = np.zeros(f.n_theta)
        th[free] = phi
        return th

    name = design.spec.theta_names(design.names["x"], design.names["group"])[zero]
    run = _run_mapped("nlopt_bobyqa", f, embed, np.asarray(theta0, float)[free], f.lower[free], s,
                      f"best point with {name} held at 0 (boundary)", deadline)
    return replace(run, constrained=True)


NESTED = MappingProxyType({"uncorrelated": "intercept", "slope": "uncorrelated"})


def _nested_start(f: Deviance, design: Design, s: OptimizerSettings,
                  deadline: float) -> tuple[str, np.ndarray] | None:
    """The optimum of the model nested in this one, as a point of this one: the richer
    model then never ends above the simpler one."""
    inner = NESTED.get(design.spec.name)
    if inner is None:
        return None
    try:
        nd = derive_design(design, inner)
    except DataError:
        return None
    best, _ = _robust(make_deviance(nd, f.reml), nd, replace(s, start=None), nested=False, deadline=deadline)
    th = np.asarray(best.final, float)
    point = np.array([th[0], 0.0]) if inner == "intercept" else np.array([th[0], 0.0, th[1]])
    return f"optimum of the {inner} model", point


def _robust(f: Deviance, design: Design, s: OptimizerSettings, nested: bool = True,
            deadline: float | None = None):
    """NLopt BOBYQA from several starts, then a Nelder-Mead polish of the best.

    The starts are lme4's, a moment estimate, boundary points near it, and the
    optimum of the nested simpler model; they cost a few hundred O(groups)
    evaluations and catch the local optima that a single run from lme4's start falls
    into (the seed's random-slope and uncorrelated models). For the correlated slope
    model, runs and the polish also work in the coordinates of centred, scaled x,
    where a raw x far from 0 cannot stretch the criterion's valleys out of an
    optimizer's reach. Then each boundary through the best point (one diagonal
    entry of Λ at 0) is searched on its own.

    The work is fixed by the data and the settings: the same runs, each bounded by
    ``s.maxeval`` evaluations, so a busy machine gives the same answer, bit for bit,
    as a quiet one. ``s.max_seconds`` bounds the whole fit (nested fit
    included) only as a safety: past it, the current run stops and every later run
    evaluates its start once; those runs say ``timed_out`` and the fit's diagnostics
    report it.
    """
    if deadline is None:
        deadline = time.perf_counter() + s.max_seconds
    starts = [(label, th, False) for label, th in candidate_starts(design)]
    if s.start is not None:
        starts.insert(0, ("your start", np.maximum(np.array(s.start, float), f.lower), False))
    # One level deep: the slope model starts from the uncorrelated model's optimum, which
    # itself is fitted without going on to the intercept model (half the work, measured).
    inner = _nested_start(f, design, s, deadline) if nested else None
    if inner is not None:
        starts.append((*inner, False))
    internal = design.spec.name == "slope"
    if internal:
        starts.append(("lme4's start for centred, scaled x", np.array([1.0, 0.0, 1.0]), True))
        moment = next((th for label, th, _ in starts if label == "moment start"), None)
        if moment is not None:
            starts.append(("moment start for centred, scaled x",
                           np.array(internal_lambda(design, moment)), True))
    runs: list[OptSummary] = []
    for label, th, in_internal in starts:
        if in_internal:
            runs.append(_run_internal("nlopt_bobyqa", f, design, th, s, label, deadline))
        else:
            runs.append(run_optimizer("nlopt_bobyqa", f, th, f.lower, s, start_label=label, deadline=deadline))

    def best_run():
        return min(runs, key=lambda r: r.fmin if math.isfinite(r.fmin) else math.inf)

    best = best_run()
    if design.spec.q == 2 and math.isfinite(best.fmin):
        for zero in design.spec.diagonal():
            if best.final[zero] >= SINGULAR_TOL:
                runs.append(_run_on_boundary(f, design, zero, best.final, s, deadline))
        best = best_run()
    if math.isfinite(best.fmin):
        label = f"polish of best ({best.start_label})"
        if internal:
            phi = np.array(internal_lambda(design, best.final))
            step = 0.05 * max(1.0, float(np.max(np.abs(phi))))
            polish = _run_internal("nlopt_neldermead", f, design, phi, replace(s, initial_step=step), label,
                                   deadline)
        else:
            step = 0.05 * max(1.0, float(np.max(np.abs(best.final))))
            polish = run_optimizer("nlopt_neldermead", f, best.final, f.lower, replace(s, initial_step=step),
                                   start_label=label, deadline=deadline)
        runs.append(polish)
        if polish.fmin < best.fmin:
            best = polish
    return best, tuple(runs)


# --------------------------------------------------------------------------- derivatives


def deriv12(f, x: np.ndarray, fx: float, delta: float = 1e-4) -> tuple[np.ndarray, np.ndarray]:
    """Central-difference gradient and Hessian, as lme4's ``deriv12``, except that the
    step is ``delta·max(1, |θᵢ|)``.

    lme4's absolute step of 1e-4 makes the Hessian mostly rounding noise when θ is in
    the hundreds (the seed's optimum has θ₁ ≈ 393), so its verdict flips between fits
    at the same optimum; a relative step keeps the check meaningful.
    """
    x = np.asarray(x, float)
    n = len(x)
    h = delta * np.maximum(1.0, np.abs(x))
    g = np.zeros(n)
    H = np.zeros((n, n))

    def at(steps: dict[int, float]) -> float:
        xx = x.copy()
        for k, s in steps.items():
            xx[k] += s * h[k]
        return f(xx)

    for j in range(n):
        fa, fs = at({j: 1}), at({j: -1})
        H[j, j] = (fa - 2 * fx + fs) / h[j] ** 2
        g[j] = (fa - fs) / (2 * h[j])
        for i in range(j):
            v = [at({i: si, j: sj}) for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1))]
            H[i, j] = H[j, i] = (v[0] - v[1] - v[2] + v[3]) / (4 * h[i] * h[j])
    return g, H


def check_conv(theta, lower, g, H) -> list[str]:
    """lme4's ``checkConv`` messages, word for word (singular fits are not checked)."""
    msgs: list[str] = []
    bounded = np.asarray(lower) == 0
    if np.any(np.asarray(theta)[bounded] < SINGULAR_TOL):
        return ["boundary (singular) fit: see help('isSingular')"]
    if not np.all(np.isfinite(g)):
        return ["Gradient contains NAs"]
    try:
        R = np.linalg.cholesky(H).T
        scgrad = np.linalg.solve(R, g)
        if not np.all(np.isfinite(scgrad)):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        msgs.append("unable to evaluate scaled gradient")
    else:
        mingrad = np.minimum(np.abs(scgrad), np.abs(g))
        if mingrad.max() > GRAD_TOL:
            msgs.append(
                f"Model failed to converge with max|grad| = {_fmt_g(mingrad.max())} "
                f"(tol = {GRAD_TOL:g}, component 1)"
            )
    if not np.all(np.isfinite(H)):
        msgs.append("Problem with Hessian check (infinite or missing values?)")
        return msgs
    ev = np.linalg.eigvalsh(H)[::-1]
    negative = int((ev < -HESS_TOL).sum())
    if negative:
        msgs.append(f"Model failed to converge: degenerate  Hessian with {negative} negative eigenvalues")
    elif (np.abs(ev) < HESS_TOL).any():
        msgs.append(" Hessian is numerically singular: parameters are not uniquely determined")
    else:
        if ev.max() * HESS_TOL > 1:
            msgs.append("Model is nearly unidentifiable: very large eigenvalue\n - Rescale variables?")
        if ev.min() / ev.max() < HESS_TOL:
            msgs.append("Model is nearly unidentifiable: large eigenvalue ratio\n - Rescale variables?")
    return msgs


def _fmt_g(v: float) -> str:
    return f"{v:.6g}"


# --------------------------------------------------------------------------- results


def _varcorr(design: Design, theta, sigma: float) -> tuple[VarCorrRow, ...]:
    spec, g, x = design.spec, design.names["group"], design.names["x"]
    lam = lambda_matrix(spec, theta)
    cov = sigma**2 * lam @ lam.T
    rows: list[VarCorrRow] = []
    names = spec.re_names(x)
    if spec.name == "uncorrelated":
        rows.append(VarCorrRow(g, names[0], None, float(cov[0, 0]), math.sqrt(cov[0, 0])))
        rows.append(VarCorrRow(f"{g}.1", names[1], None, float(cov[1, 1]), math.sqrt(cov[1, 1])))
    else:
        sds = np.sqrt(np.diag(cov))
        for i, nm in enumerate(names):
            rows.append(VarCorrRow(g, nm, None, float(cov[i, i]), float(sds[i])))
        if spec.q == 2:
            corr = cov[1, 0] / (sds[0] * sds[1]) if sds[0] > 0 and sds[1] > 0 else math.nan
            rows.append(VarCorrRow(g, names[0], names[1], float(cov[1, 0]), float(corr)))
    rows.append(VarCorrRow("Residual", None, None, sigma**2, sigma))
    return tuple(rows)


def _group_lines(design: Design, sol) -> tuple[pd.DataFrame, np.ndarray | None]:
    """(ranef, fitted): each group's conditional modes with their SDs and its fitted line
    y = a_g + b_g·x (group sums suffice), and the rows' fitted values (None without the rows)."""
    spec, st, b = design.spec, design.stats, sol.b
    if spec.within_between:
        line_a = sol.beta[0] + b[:, 0] + (sol.beta[2] - sol.beta[1]) * st.mx
        line_b = np.full(st.n_groups, sol.beta[1])
    else:
        line_a = sol.beta[0] + b[:, 0]
        line_b = sol.beta[1] + (b[:, 1] if spec.q == 2 else np.zeros(st.n_groups))
    re_names = spec.re_names(design.names["x"])
    ranef = pd.DataFrame({"group": st.labels})
    for i, nm in enumerate(re_names):
        ranef[nm] = b[:, i]
    for i, nm in enumerate(re_names):
        # mapping back from centred x can leave a zero variance a rounding error below 0
        ranef[f"condsd_{nm}"] = np.sqrt(np.maximum(sol.condvar[:, i, i], 0.0))
    ranef["line_intercept"] = line_a
    ranef["line_slope"] = line_b
    ranef["n"] = st.n.astype(int)
    if design.x is None:
        return ranef, None
    return ranef, line_a[st.codes] + line_b[st.codes] * design.x


def make_fit(
    design: Design,
    reml: bool,
    optsum: OptSummary,
    runs: tuple[OptSummary, ...],
    optimizer: str,
    dropped_rows: int = 0,
    theta=None,
) -> Fit:
    """Everything that follows from θ (lme4's ``mkMerMod``), with diagnostics."""
    theta = np.asarray(optsum.final if theta is None else theta, float)
    sol = solve(design, theta, reml)
    spec, names = design.spec, design.names
    n, p = design.n, design.p
    crit = sol.objective.criterion
    f = make_deviance(design, reml)
    g, H = deriv12(f, theta, crit)
    lower = np.array(spec.lower_bounds())
    warnings = check_conv(theta, lower, g, H)
    singular = bool(np.any(theta[list(spec.diagonal())] < SINGULAR_TOL))
    npar = p + spec.n_theta + 1
    loglik = -crit / 2.0
    vcov = sol.sigma**2 * sol.vcov_unscaled
    se = np.sqrt(np.diag(vcov))
    st = design.stats
    ranef, fitted = _group_lines(design, sol)
    residuals = None if fitted is None else design.y - fitted
    varcorr = _varcorr(design, theta, sol.sigma)
    converged = bool(optsum.converged and not any("failed" in w for w in warnings))
    df = _satterthwaite(design, theta, sol.sigma, vcov, reml)
    fit = Fit(
        model=spec.name,
        formula=spec.formula(names["y"], names["x"], names["group"]),
        reml=reml,
        optimizer=optimizer,
        names=dict(names),
        n_obs=n,
        n_groups=st.n_groups,
        dropped_rows=dropped_rows,
        theta=tuple(float(t) for t in theta),
        theta_names=spec.theta_names(names["x"], names["group"]),
        criterion=crit,
        loglik=loglik,
        npar=npar,
        aic=-2 * loglik + 2 * npar,
        bic=-2 * loglik + npar * math.log(n),
        fixef_names=design.fixef_names,
        beta=sol.beta,
        se=se,
        vcov_fixef=vcov,
        sigma=sol.sigma,
        varcorr=varcorr,
        ranef=ranef,
        fitted=fitted,
        residuals=residuals,
        singular=singular,
        converged=converged,
        warnings=tuple(warnings),
        gradient=g,
        hessian=H,
        optsum=optsum,
        runs=tuple(runs),
        df=df,
    )
    from .report import diagnose  # report imports results only; kept lazy to avoid a cycle

    return replace(fit, diagnostics=tuple(diagnose(fit)))


def _satterthwaite(design: Design, theta, sigma: float, vcov: np.ndarray, reml: bool) -> np.ndarray:
    """lmerTest's df, or NaN where the model cannot be evaluated around θ (far out in θ)."""
    try:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return satterthwaite_df(design, theta, sigma, vcov, reml)
    except (FloatingPointError, np.linalg.LinAlgError, ValueError):
        return np.full(design.p, np.nan)


# --------------------------------------------------------------------------- public API


def _as_design(data: Data | Design | GroupSums, model: str) -> tuple[Design, int]:
    if isinstance(data, Design):
        return data, 0
    if isinstance(data, GroupSums):
        return make_design_from_stats(data, model), data.dropped_rows
    return make_design(data, model), data.dropped_rows


def fit(
    data: Data | Design,
    model: str = "intercept",
    reml: bool | None = None,
    optimizer: str | None = None,
    settings: OptimizerSettings | None = None,
) -> Fit:
    """Fit ``model`` to ``data``; the robust default never stops silently in a local optimum.

    ``optimizer`` is ``"robust"`` (the default) or a name from :data:`REGISTRY`, e.g. an
    lme4 twin by lme4's name (``"lme4:bobyqa"``, ``"lme4:Nelder_Mead"``, ``"lme4:nloptwrap"``).
    ``reml`` and ``optimizer``, when given, override those of ``settings`` (whose
    defaults are REML and the robust default).
    """
    s = _resolved(settings, reml=reml, optimizer=optimizer)
    reml, optimizer, settings = s.reml, s.optimizer, s
    design, dropped = _as_design(data, model)
    if optimizer != ROBUST:
        # an unknown name, or one the model cannot use, is a ValueError before any work
        unusable = get_optimizer(optimizer).unusable_for(design.spec.n_theta, f"the {design.spec.name} model")
        if unusable:
            raise ValueError(f"{optimizer}: {unusable}: choose another optimizer")
    f = make_deviance(design, reml)
    best, runs = optimize(f, design, optimizer, settings)
    if best.error is not None:
        raise OptimizerFailed(f"the optimizer {optimizer} failed: {best.error}")
    if not math.isfinite(best.fmin):
        raise FloatingPointError(
            f"the optimizer {optimizer} found no point where the model can be evaluated: {best.returnvalue}"
        )
    return make_fit(design, reml, best, runs, optimizer, dropped)


def _resolved(settings: OptimizerSettings | None, **given) -> OptimizerSettings:
    """``settings`` (default: lmmviz's) with the arguments a call gave explicitly."""
    s = settings or OptimizerSettings()
    changes = {k: v for k, v in given.items() if v is not None}
    return replace(s, **changes) if changes else s


def fit_at(data: Data | Design, model: str, theta, reml: bool = True) -> Fit:
    """The model evaluated at a given θ without optimizing (lme4's ``devFunOnly`` + ``mkMerMod``)."""
    design, dropped = _as_design(data, model)
    f = make_deviance(design, reml)
    th = np.atleast_1d(np.asarray(theta, float))
    value = f(th)
    run = OptSummary(
        optimizer="none", library="", algorithm="evaluated at a given θ", initial=tuple(th),
        final=tuple(th), fmin=value, feval=1, seconds=0.0, returnvalue="given θ", converged=True,
        settings=OptimizerSettings(start=tuple(th)), fitlog_theta=th[None, :],
        fitlog_f=np.array([value]), start_label="given θ",
    )
    return make_fit(design, reml, run, (run,), "none", dropped)


def _family(name: str) -> str:
    """"lme4" for a twin of an lme4 optimizer, "lmmviz" for lmmviz's own and the robust default."""
    return "lme4" if name.startswith(LME4_PREFIX) else "lmmviz"


def library_optimizers() -> tuple[str, ...]:
    """lmmviz's own library optimizers (the registry without the lme4 twins)."""
    return tuple(n for n in REGISTRY if _family(n) == "lmmviz")


def compare_optimizers() -> tuple[str, ...]:
    """What :func:`compare` runs by default: the lme4 twins in allFit's order, lmmviz's
    library optimizers, and the robust default."""
    return (*REGISTRY, ROBUST)


def compare(
    data: Data | Design,
    model: str = "slope",
    reml: bool | None = None,
    start=None,
    settings: OptimizerSettings | None = None,
    optimizers: tuple[str, ...] | None = None,
) -> Comparison:
    """Fit with every optimizer from the same start (lme4's ``allFit``).

    ``start`` is θ, or None for lme4's start (the robust default adds it to its own
    starts). Entries list the lme4 twins first, in allFit's order, then lmmviz's own
    optimizers and the robust default grouped by the optimum reached (best first),
    failed runs last. Each entry has the optimum it reached (1 = lowest criterion; two
    criteria within 1e-3 are one optimum, :func:`lmmviz.results.same_optimum`) and a
    verdict: ``best`` (optimum 1), ``local optimum`` or ``failed`` (the message says why);
    last, ``not run`` for optimizers the model cannot use (NEWUOA on one θ).
    """
    s = _resolved(settings, reml=reml)
    reml = s.reml
    design, dropped = _as_design(data, model)
    f = make_deviance(design, reml)
    if start is None and s.start is not None:
        start = s.start
    th0 = lme4_start(design) if start is None else _checked_start(design, start)
    label = "lme4 start" if start is None else "given start"
    raw: list[tuple[str, Fit | None, str]] = []
    not_run: list[tuple[str, str]] = []
    for name in optimizers or compare_optimizers():
        unusable = None if name == ROBUST else get_optimizer(name).unusable_for(f.n_theta,
                                                                                 f"the {design.spec.name} model")
        if unusable:  # left out, with the reason shown (NEWUOA on a one-θ model)
            not_run.append((name, unusable))
            continue
        if name == ROBUST:
            rs = s.with_start(None if start is None else th0)
            best_run, runs = _robust(f, design, rs)
            run, all_runs = best_run, runs
        else:
            run = run_optimizer(name, f, th0, f.lower, s.with_start(th0), start_label=label)
            all_runs = (run,)
        if run.failed:
            raw.append((name, None, run.error or run.returnvalue))
            continue
        try:
            raw.append((name, make_fit(design, reml, run, all_runs, name, dropped), run.returnvalue))
        except (FloatingPointError, np.linalg.LinAlgError) as err:
            raw.append((name, None, str(err)))
    # one optimum per group of criteria within same_optimum of the group's lowest, so that
    # optimum 1 is exactly the verdict "best" (same_basin would merge optima 0.04 apart)
    levels: list[float] = []
    for c in sorted(ft.criterion for _, ft, _ in raw if ft is not None):
        if not levels or not same_optimum(c, levels[-1]):
            levels.append(c)
    entries = []
    for name, ft, msg in raw:
        family = _family(name)
        if ft is None:
            entries.append(ComparisonEntry(name, optimizer_label(name), "failed", None, msg, family, 0))
            continue
        optimum = 1 + max(i for i, c in enumerate(levels) if c <= ft.criterion + 1e-12)
        verdict = "best" if optimum == 1 else "local optimum"
        entries.append(ComparisonEntry(name, optimizer_label(name), verdict, ft, msg, family, optimum))
    twins = [e for e in entries if e.family == "lme4"]
    own = sorted((e for e in entries if e.family != "lme4"),
                 key=lambda e: (e.fit is None, e.optimum, e.fit.criterion if e.fit else 0.0))
    entries = twins + own + [ComparisonEntry(name, optimizer_label(name), "not run", None, why, _family(name), 0)
                              for name, why in not_run]
    best = next((e.optimizer for e in entries if e.verdict == "best"), "")
    return Comparison(
        model=design.spec.name, reml=reml, start=tuple(float(t) for t in th0), start_label=label,
        entries=tuple(entries), best=best,
    )


def anova(data: Data, models: tuple[str, ...] = ("intercept", "slope"),
          settings: OptimizerSettings | None = None) -> Anova:
    """Likelihood-ratio tests between nested models, refitted by ML as lme4's ``anova``.

    Models are ordered by their number of parameters; each row is tested against
    the row before it.
    """
    from scipy.stats import chi2

    fits = [fit(data, m, reml=False, settings=settings) for m in models]
    fits.sort(key=lambda ft: ft.npar)
    rows = []
    prev = None
    for ft in fits:
        if prev is None:
            chisq, df, p = math.nan, None, math.nan
        else:
            chisq = 2.0 * max(0.0, ft.loglik - prev.loglik)
            df = ft.npar - prev.npar
            p = float(chi2.sf(chisq, df)) if df > 0 else math.nan
        rows.append(AnovaRow(ft.model, ft.formula, ft.npar, ft.aic, ft.bic, ft.loglik, -2 * ft.loglik,
                             chisq, df, p))
        prev = ft
    return Anova(tuple(rows), tuple(fits))
