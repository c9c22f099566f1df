"""A registry of library optimizers behind one wrapper (lme4's ``optwrap``).

Every optimizer sees only ``f(θ)`` and the bounds. Each run is bounded by a number
of evaluations; a time limit stops it only as a last-resort safety (the run then says
so in ``timed_out``), and it returns an :class:`OptSummary` (after
MixedModels.jl) whose ``fitlog`` holds every evaluation's θ and criterion in order.

Names say the library and the algorithm (``nlopt_bobyqa`` is not ``pybobyqa``):
the same algorithm name gives different answers in different implementations.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Callable, Mapping

import numpy as np

# Large finite stand-ins for infinite bounds: some libraries reject inf.
_BIG = 1e20


@dataclass(frozen=True)
class OptimizerSettings:
    """How one fit is optimized: lmmviz's one settings type (lme4's ``lmerControl`` with
    its ``optCtrl``, plus ``lmer``'s ``start`` and ``REML``; MixedModels.jl's
    ``OptSummary`` settings). ``None`` means the optimizer's own default.

    Frozen, hashable and picklable: the app passes it to its caches as it is, a share
    link and the CLI are read into it, and the code export writes it out.

    ``optimizer`` is ``"robust"`` or a name from :data:`REGISTRY`; ``reml`` False fits
    by maximum likelihood. ``start`` is θ (lme4's ``start``), used by the models whose
    θ has that many values (:meth:`for_model`). ``initial_step`` is NLopt's initial
    step, BOBYQA's/COBYQA's initial trust radius (rhobeg), or the edge of the initial
    Nelder-Mead simplex; ``ftol_abs``/``xtol_abs``/``ftol_rel``/``xtol_rel`` are NLopt's
    stopping tolerances. ``maxeval`` bounds each run (nloptwrap's ``maxeval``, bobyqa's
    ``maxfun``); ``max_seconds`` is a safety limit for the whole fit (all the robust
    default's runs), not part of the normal stopping rule.

    :func:`lmmviz.fit` takes ``optimizer`` and ``reml`` from here unless it is given
    them as arguments; :func:`lmmviz.compare` ignores ``optimizer`` (it runs them all).
    """

    start: tuple[float, ...] | None = None
    initial_step: float | None = None
    ftol_abs: float | None = None
    xtol_abs: float | None = None
    ftol_rel: float | None = None
    xtol_rel: float | None = None
    maxeval: int = 10_000
    max_seconds: float = 60.0
    optimizer: str = "robust"
    reml: bool = True

    def __post_init__(self):
        # Plain values only, so that equal settings hash equal (a list or an array start,
        # a NumPy integer) and the object stays a usable cache key.
        if self.start is not None:
            object.__setattr__(self, "start", tuple(float(v) for v in np.ravel(self.start)))
        object.__setattr__(self, "maxeval", int(self.maxeval))
        object.__setattr__(self, "max_seconds", float(self.max_seconds))
        object.__setattr__(self, "reml", bool(self.reml))

    def with_start(self, start) -> "OptimizerSettings":
        return replace(self, start=None if start is None else tuple(float(v) for v in np.ravel(start)))

    def for_model(self, model: str) -> "OptimizerSettings":
        """These settings for one model: one start θ serves every model of a page, so it
        is kept only by the models whose θ has that many values (random intercept and
        within-between 1, uncorrelated 2, random slope 3); the others start from lme4's."""
        from .models import MODELS

        if self.start is None or len(self.start) == MODELS[model].n_theta:
            return self
        return replace(self, start=None)


@dataclass(frozen=True, eq=False)
class OptSummary:
    """One optimizer run: settings, result and the fit log (after MixedModels.jl).

    ``fitlog_theta`` is (feval, n_theta) and ``fitlog_f`` (feval,), in evaluation
    order. ``converged`` is the optimizer's own claim, nothing more.
    """

    optimizer: str
    library: str
    algorithm: str
    initial: tuple[float, ...]
    final: tuple[float, ...]
    fmin: float
    feval: int
    seconds: float
    returnvalue: str
    converged: bool
    settings: OptimizerSettings
    fitlog_theta: np.ndarray = field(repr=False)
    fitlog_f: np.ndarray = field(repr=False)
    start_label: str = "lme4 start"
    error: str | None = None
    constrained: bool = False  # a search with part of θ held fixed (a boundary), not a free run
    timed_out: bool = False  # cut short by the safety time limit, not stopped by its own rule

    @property
    def failed(self) -> bool:
        return self.error is not None or not math.isfinite(self.fmin)


class _Budget(Exception):
    """Raised inside the objective to stop a run that used up its evaluations or time."""


class OptimizerFailed(RuntimeError):
    """A fit's optimizer run failed: the criterion raised, or the library refused or broke."""


# The criterion's own numerical failures: a factorization that fails, or the
# deviance's FloatingPointError where the model cannot be evaluated at θ.
NUMERICAL_FAILURES = (FloatingPointError, np.linalg.LinAlgError)


class _Logged:
    """Wraps f(θ): logs every call, enforces the budget, hides non-finite values.

    BOBYQA's quadratic model breaks on inf, so (as MixedModels.jl does) a numerical
    failure of the criterion (a non-finite value, or one of :data:`NUMERICAL_FAILURES`)
    is reported to the optimizer as a large finite value. Any other exception is a
    bug, not a point to step away from: it is recorded in ``failure`` and re-raised,
    which ends the run as failed.
    """

    def __init__(self, f: Callable[[np.ndarray], float], maxeval: int, deadline: float):
        self.f = f
        self.maxeval = maxeval
        self.deadline = deadline
        self.thetas: list[np.ndarray] = []
        self.values: list[float] = []
        self.timed_out = False
        self.failure: str | None = None

    def __call__(self, theta) -> float:
        if len(self.values) >= self.maxeval:
            raise _Budget("maximum number of evaluations reached")
        # The start is always evaluated, so even a run begun past the deadline has a point.
        if self.values and time.perf_counter() > self.deadline:
            self.timed_out = True
            raise _Budget("time limit reached")
        th = np.array(theta, dtype=float, copy=True).ravel()
        try:
            v = float(self.f(th))
        except NUMERICAL_FAILURES:
            v = math.inf
        except Exception as err:
            self.failure = _reason(err)
            raise
        self.thetas.append(th)
        self.values.append(v)
        if math.isfinite(v):
            return v
        finite = [x for x in self.values if math.isfinite(x)]
        return (max(finite) + 1e6) if finite else 1e300

    def best(self) -> tuple[np.ndarray, float]:
        i = int(np.nanargmin(np.where(np.isfinite(self.values), self.values, np.inf)))
        return self.thetas[i], self.values[i]


def _reason(err: BaseException) -> str:
    """An exception as one line that always says something (some library errors have no text)."""
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


# Each runner: (objective, x0, lower, upper, settings) -> (x, fval, returnvalue, converged);
# x may be None when the library gave no point (the log's best is taken).
Runner = Callable[[Callable, np.ndarray, np.ndarray, np.ndarray, OptimizerSettings], tuple]


def _nlopt_runner(algorithm_name: str) -> Runner:
    def run(fun, x0, lower, upper, s: OptimizerSettings):
        import nlopt

        opt = nlopt.opt(getattr(nlopt, algorithm_name), len(x0))
        # NLopt sizes its default initial step from the bounds: pass true infinities.
        opt.set_lower_bounds(np.asarray(lower, float))
        opt.set_upper_bounds(np.asarray(upper, float))
        raised: list[Exception] = []

        def objective(x, grad):
            # An exception (the budget, or a failing criterion) is re-raised after NLopt has
            # stopped: raised through NLopt, it reaches NEWUOA as NaN, on which it spins ~80 s.
            try:
                return fun(x)
            except Exception as err:
                raised.append(err)
                opt.force_stop()
                return 1e300

        opt.set_min_objective(objective)
        # lme4's nloptwrap defaults, on top of nloptr's xtol_rel = 1e-4
        opt.set_xtol_abs(1e-8 if s.xtol_abs is None else s.xtol_abs)
        opt.set_ftol_abs(1e-8 if s.ftol_abs is None else s.ftol_abs)
        opt.set_xtol_rel(1e-4 if s.xtol_rel is None else s.xtol_rel)
        if s.ftol_rel is not None:
            opt.set_ftol_rel(s.ftol_rel)
        opt.set_maxeval(int(s.maxeval))
        if s.initial_step is not None:
            opt.set_initial_step(float(s.initial_step))
        try:
            x = opt.optimize(np.asarray(x0, float))
        except nlopt.RoundoffLimited:
            # NLopt: rounding stopped progress, the point reached is still useful
            return None, math.nan, "ROUNDOFF_LIMITED", False
        except nlopt.ForcedStop:
            if raised:
                raise raised[0] from None
            raise
        if raised:  # should NLopt ever return normally after force_stop
            raise raised[0]
        code = opt.last_optimize_result()
        names = {
            nlopt.SUCCESS: "SUCCESS", nlopt.STOPVAL_REACHED: "STOPVAL_REACHED",
            nlopt.FTOL_REACHED: "FTOL_REACHED", nlopt.XTOL_REACHED: "XTOL_REACHED",
            nlopt.MAXEVAL_REACHED: "MAXEVAL_REACHED", nlopt.MAXTIME_REACHED: "MAXTIME_REACHED",
        }
        ok = code in (nlopt.SUCCESS, nlopt.FTOL_REACHED, nlopt.XTOL_REACHED, nlopt.STOPVAL_REACHED)
        return np.asarray(x), float(opt.last_optimum_value()), names.get(code, f"code {code}"), ok

    return run


def _pybobyqa(fun, x0, lower, upper, s: OptimizerSettings):
    import logging

    import pybobyqa

    logging.getLogger("pybobyqa").setLevel(logging.ERROR)
    lo = np.where(np.isfinite(lower), lower, -_BIG)
    hi = np.where(np.isfinite(upper), upper, _BIG)
    kwargs = {}
    if s.initial_step is not None:
        kwargs["rhobeg"] = float(s.initial_step)
    if s.xtol_abs is not None:
        kwargs["rhoend"] = float(s.xtol_abs)
    user = {"logging.save_diagnostic_info": False}
    if s.ftol_abs is not None:
        user["slow.thresh_for_slow"] = float(s.ftol_abs)
    res = pybobyqa.solve(fun, np.asarray(x0, float), bounds=(lo, hi), maxfun=int(s.maxeval),
                         do_logging=False, user_params=user, **kwargs)
    if res.x is None:
        raise RuntimeError(res.msg)
    ok = res.flag in (res.EXIT_SUCCESS, res.EXIT_SLOW_WARNING)
    return np.asarray(res.x), float(res.f), res.msg, ok


def _scipy_runner(method: str) -> Runner:
    def run(fun, x0, lower, upper, s: OptimizerSettings):
        from scipy.optimize import Bounds, minimize

        x0 = np.asarray(x0, float)
        bounds = Bounds(lower, upper)
        opts: dict = {}
        if method == "Nelder-Mead":
            opts = {"maxfev": s.maxeval, "xatol": s.xtol_abs or 1e-8, "fatol": s.ftol_abs or 1e-8}
            if s.initial_step is not None:
                simplex = np.vstack([x0] + [x0 + s.initial_step * e for e in np.eye(len(x0))])
                opts["initial_simplex"] = simplex
        elif method == "Powell":
            opts = {"maxfev": s.maxeval, "xtol": s.xtol_rel or 1e-8, "ftol": s.ftol_rel or 1e-10}
            if s.initial_step is not None:
                opts["direc"] = s.initial_step * np.eye(len(x0))
        elif method == "L-BFGS-B":
            opts = {"maxfun": s.maxeval, "ftol": s.ftol_rel or 1e-12, "gtol": 1e-8}
            if s.initial_step is not None:
                opts["eps"] = s.initial_step
        elif method == "COBYQA":
            opts = {"maxfev": s.maxeval, "final_tr_radius": s.xtol_abs or 1e-8}
            if s.initial_step is not None:
                opts["initial_tr_radius"] = s.initial_step
        res = minimize(fun, x0, method=method, bounds=bounds, options=opts)
        return np.asarray(res.x), float(res.fun), str(res.message), bool(res.success)

    return run


@dataclass(frozen=True)
class OptimizerInfo:
    name: str
    library: str
    algorithm: str
    runner: Runner = field(repr=False, compare=False)
    min_params: int = 1  # fewest θ values the algorithm accepts
    # False where the algorithm does its own linear algebra through BLAS/LAPACK, whose kernels
    # depend on the CPU: its last digits and evaluation counts can differ on another computer
    same_everywhere: bool = True

    @property
    def label(self) -> str:
        return f"{self.library}: {self.algorithm}"

    @property
    def note(self) -> str:
        """What a user must know before choosing it ("" when nothing)."""
        notes = []
        if self.min_params > 1:
            notes.append(f"needs at least {_WORDS.get(self.min_params, self.min_params)} parameters: not for "
                         "the one-θ models (random intercept, within-between)")
        if not self.same_everywhere:
            notes.append(MACHINE_NOTE)
        return "; ".join(notes)

    def unusable_for(self, n_params: int, model: str = "this model") -> str | None:
        """Why it cannot run on ``n_params`` θ values, or None when it can."""
        if n_params >= self.min_params:
            return None
        return (f"{self.library} {self.algorithm.split(' ')[0]} needs at least "
                f"{_WORDS.get(self.min_params, self.min_params)} parameters; {model} has "
                f"{_WORDS.get(n_params, n_params)} θ value{'s' if n_params != 1 else ''}")


_WORDS = MappingProxyType({1: "one", 2: "two", 3: "three"})
MACHINE_NOTE = ("does linear algebra through the computer's BLAS, so its evaluation count and last digits "
                "can differ on another computer")


# Filled once, at import: lmmviz's own here, then lme4opt puts its twins first. Read through
# REGISTRY, a read-only view, so that no session can change what the others run.
_REGISTRY: dict[str, OptimizerInfo] = {
    info.name: info
    for info in (
        OptimizerInfo("nlopt_bobyqa", "NLopt", "BOBYQA", _nlopt_runner("LN_BOBYQA")),
        OptimizerInfo("nlopt_neldermead", "NLopt", "Nelder-Mead", _nlopt_runner("LN_NELDERMEAD")),
        # NEWUOA's quadratic model needs two or more variables (NLopt: invalid argument)
        OptimizerInfo("nlopt_newuoa", "NLopt", "NEWUOA (bound)", _nlopt_runner("LN_NEWUOA_BOUND"), min_params=2),
        OptimizerInfo("nlopt_sbplx", "NLopt", "Sbplx (Subplex)", _nlopt_runner("LN_SBPLX")),
        OptimizerInfo("nlopt_cobyla", "NLopt", "COBYLA", _nlopt_runner("LN_COBYLA")),
        OptimizerInfo("pybobyqa", "Py-BOBYQA", "BOBYQA", _pybobyqa, same_everywhere=False),
        OptimizerInfo("scipy_nelder_mead", "SciPy", "Nelder-Mead", _scipy_runner("Nelder-Mead")),
        OptimizerInfo("scipy_powell", "SciPy", "Powell", _scipy_runner("Powell")),
        OptimizerInfo("scipy_lbfgsb", "SciPy", "L-BFGS-B", _scipy_runner("L-BFGS-B"), same_everywhere=False),
        OptimizerInfo("scipy_cobyqa", "SciPy", "COBYQA", _scipy_runner("COBYQA"), same_everywhere=False),
    )
}
REGISTRY: Mapping[str, OptimizerInfo] = MappingProxyType(_REGISTRY)


ROBUST = "robust"
ROBUST_LABEL = "lmmviz robust default: NLopt BOBYQA from several starts, polished by Nelder-Mead"


def optimizer_names() -> tuple[str, ...]:
    """The robust default first, then every registered library optimizer."""
    return (ROBUST, *REGISTRY)


def optimizer_label(name: str) -> str:
    if name == ROBUST:
        return ROBUST_LABEL
    return get_optimizer(name).label


def get_optimizer(name: str) -> OptimizerInfo:
    from .lme4opt import ALIASES

    try:
        return REGISTRY[ALIASES.get(name, name)]
    except KeyError:
        raise ValueError(
            f"unknown optimizer {name!r}: choose one of {', '.join(optimizer_names())}"
        ) from None


def run_optimizer(
    name: str,
    f: Callable[[np.ndarray], float],
    start,
    lower,
    settings: OptimizerSettings | None = None,
    start_label: str = "lme4 start",
    deadline: float | None = None,
) -> OptSummary:
    """Minimize ``f`` from ``start`` with the named optimizer, within its budget.

    The run stops after ``settings.maxeval`` evaluations, or, as a safety, at
    ``deadline`` (a ``time.perf_counter()`` value; default ``settings.max_seconds``
    from now), after at least one evaluation. Raises ValueError, before any work, for
    a start the optimizer cannot take (too few parameters). Never raises for a failed
    run: the summary then carries ``error`` (why, in one line) and ``fmin`` NaN, so
    that no failed run passes for an optimum. A run fails when the criterion raises
    anything but a numerical failure (see :class:`_Logged`), or when the library
    raises (refuses its arguments, or breaks).
    """
    info = get_optimizer(name)
    s = settings or OptimizerSettings()
    x0 = np.array(start, dtype=float).ravel()
    unusable = info.unusable_for(x0.size)
    if unusable:  # say why, rather than the library's empty "invalid_argument"
        raise ValueError(unusable)
    lower = np.asarray(lower, dtype=float)
    x0 = np.maximum(x0, lower)
    upper = np.full_like(lower, np.inf)
    t0 = time.perf_counter()
    logged = _Logged(f, int(s.maxeval), t0 + float(s.max_seconds) if deadline is None else deadline)
    error = None
    try:
        x, fval, ret, ok = info.runner(logged, x0, lower, upper, s)
    except _Budget as stop:
        x, fval, ret, ok = None, math.nan, str(stop), False
    except Exception as err:  # ends the run as failed with its reason, never as a result
        error = logged.failure or _reason(err)
        x, fval, ret, ok = None, math.nan, error, False
    seconds = time.perf_counter() - t0
    if logged.values:
        best_x, best_f = logged.best()
        # Take the optimizer's answer unless it did not give one or the log saw better.
        if x is None or not math.isfinite(fval) or best_f < fval:
            x, fval = best_x, best_f
    else:
        x, fval = x0, math.inf
    if error is not None:
        fval = math.nan  # the point is where it stopped, not an optimum
    if logged.timed_out:
        ret = "time limit reached"
    return OptSummary(
        optimizer=name,
        library=info.library,
        algorithm=info.algorithm,
        initial=tuple(float(v) for v in x0),
        final=tuple(float(v) for v in np.maximum(np.asarray(x, float), lower)),
        fmin=float(fval),
        feval=len(logged.values),
        seconds=seconds,
        returnvalue=ret,
        converged=bool(ok),
        settings=s.with_start(x0),
        fitlog_theta=np.array(logged.thetas).reshape(len(logged.thetas), len(x0)),
        fitlog_f=np.array(logged.values, dtype=float),
        start_label=start_label,
        error=error,
        timed_out=logged.timed_out,
    )


# lme4's optimizers by lme4's names: lme4opt registers its twins into REGISTRY, first.
from . import lme4opt  # noqa: E402,F401  (at the end: lme4opt imports this module)
