"""lme4's optimizers as twins, by lme4's names (``lme4:bobyqa``, ``lme4:Nelder_Mead``, …).

A twin is a library optimizer (NLopt, SciPy) configured as lme4 1.1-31
configures its namesake: same start, bounds, initial step, tolerances, stopping rules
and budget, and lme4's ``optimizeLmer`` after-care (``restart_edge`` and
``check.boundary``), so that it stops where lme4 stops, local optima included.
Sources (lme4 1.1-31, git 0fc15f17^): R/lmer.R ``optwrap``, R/modular.R
``optimizeLmer``/``check.boundary``, R/optimizer.R and src/optimizer.cpp
``Nelder_Mead``, R/utilities.R ``nloptwrap``, R/allFit.R; minqa 1.2.5 ``commonArgs``;
nloptr 2.0.3 defaults; optimx 2022.4.30 ``optimx.run``; R's ``optim``.

Not twinned: ``nlminbwrap`` (PORT's ``nlminb``: no Python library implements it)
and ``nmkbw`` (dfoptim's ``nmkb``, Kelley's bound-transformed Nelder–Mead: no
library implements it); both are listed by :data:`NOT_FEASIBLE`.
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType

import numpy as np

from .optimizers import _REGISTRY, OptimizerInfo, OptimizerSettings, Runner, _nlopt_runner

PREFIX = "lme4:"
# allFit's order and names (R/allFit.R meth.tab.0); TWINS follow it, less the two of NOT_FEASIBLE.
ALLFIT_ORDER = (
    "bobyqa", "Nelder_Mead", "nlminbwrap", "nmkbw", "optimx.L-BFGS-B",
    "nloptwrap.NLOPT_LN_NELDERMEAD", "nloptwrap.NLOPT_LN_BOBYQA",
)
NOT_FEASIBLE = MappingProxyType({
    "nlminbwrap": "PORT's nlminb (R's nlminbwrap) exists in no Python optimization library",
    "nmkbw": "dfoptim's nmkb (Kelley's Nelder-Mead with transformed bounds) exists in no "
             "Python optimization library",
})
ALIASES = MappingProxyType({PREFIX + "nloptwrap": PREFIX + "nloptwrap.NLOPT_LN_BOBYQA"})

# optimizeLmer: restart_edge = TRUE with btol 1e-5; check.boundary with boundary.tol = 1e-5
_BTOL = 1e-5
_BOUNDARY_TOL = 1e-5


def _after_care(inner: Runner) -> Runner:
    """lme4's ``optimizeLmer`` around one optimizer run.

    restart_edge: when θ ends exactly on a lower bound and a step of 1e-5 into the
    interior lowers the criterion, the optimizer runs again from where it stopped.
    check.boundary: θ within 1e-5 of a bound is set onto it when that is lower.
    Both change the optimum lme4 reports, so the twins do them too."""

    def run(fun, x0, lower, upper, s: OptimizerSettings):
        x, fval, ret, ok = inner(fun, x0, lower, upper, s)
        if x is None:  # the library gave no point (NLopt: rounding stopped it); the log's best is taken
            return x, fval, ret, ok
        x = np.asarray(x, float)
        on_edge = np.flatnonzero(x == lower)
        if on_edge.size:
            d0 = fun(x)
            grads = []
            for i in on_edge:
                th = x.copy()
                th[i] = lower[i] + _BTOL
                grads.append((fun(th) - d0) / _BTOL)
            if min(grads) < 0:
                x, fval, ret, ok = inner(fun, x, lower, upper, s)
                x = np.asarray(x, float)
                ret = f"{ret} (restarted at the boundary)"
        diff = x - lower
        near = np.flatnonzero((diff > 0) & (diff < _BOUNDARY_TOL))
        if near.size:
            pp = x.copy()
            for i in near:
                th = pp.copy()
                th[i] = lower[i]
                if fun(th) < fval:
                    pp[i] = lower[i]
            x, fval = pp, fun(pp)
        return x, float(fval), ret, ok

    return run


# --------------------------------------------------------------------------- bobyqa


def _minqa_bobyqa(fun, x0, lower, upper, s: OptimizerSettings):
    """minqa 1.2.5's bobyqa as lme4 calls it (control = list(iprint = 0)), on NLopt's
    BOBYQA (the same Powell code, translated to C).

    minqa's commonArgs: rhobeg = min(0.95, 0.2·max|x0|), rhoend = 1e-6·rhobeg, maxfun
    10000; Powell's own stopping rule only (rho reaching rhoend). NLopt takes rhobeg as
    its initial step and sets rhoend = xtol_rel·rhobeg, so xtol_rel = 1e-6 and the
    f- and absolute x-tolerances are off. NLopt fixes npt at 2n + 1 where minqa uses
    n + 2; Py-BOBYQA, which allows n + 2, landed where lme4 does less often (measured:
    tests/twin_agreement.py), so NLopt it is."""
    x0 = np.asarray(x0, float)
    if np.all(x0 == 0):
        x0 = np.full_like(x0, 0.001)  # optwrap's "minor kludge" for bobyqa
    rhobeg = s.initial_step if s.initial_step is not None else min(0.95, 0.2 * float(np.max(np.abs(x0))))
    rhoend = s.xtol_abs if s.xtol_abs is not None else 1e-6 * rhobeg
    minqa = replace(s, initial_step=float(rhobeg), xtol_rel=rhoend / rhobeg, xtol_abs=0.0,
                    ftol_abs=0.0 if s.ftol_abs is None else s.ftol_abs,
                    ftol_rel=0.0 if s.ftol_rel is None else s.ftol_rel)
    return _NLOPT_BOBYQA(fun, x0, lower, upper, minqa)


_NLOPT_BOBYQA = _nlopt_runner("LN_BOBYQA")


# --------------------------------------------------------------------------- Nelder_Mead


def _lme4_nelder_mead(fun, x0, lower, upper, s: OptimizerSettings):
    """lme4's own Nelder_Mead (R/optimizer.R, src/optimizer.cpp: a port of NLopt 2.2.4's
    nldrmd) on SciPy's Nelder-Mead, configured with lme4's defaults.

    Initial simplex x0 + xst·eᵢ with xst = 0.02 (x0 evaluated first); stop when the
    simplex is within xt = xst·5e-4 = 1e-5 in every coordinate (lme4's only working
    test: it stores FtolAbs 1e-5 and FtolRel 1e-15 but never checks them, hence
    fatol = ∞); maxfun 10000; points clipped to the bounds. Neither library has lme4's
    quirks (a reflection is kept when below the worst vertex, an expansion when below
    the old worst, even if worse than the reflection); SciPy's Nelder-Mead lands where
    lme4 does more often than NLopt's nldrmd (measured: tests/twin_agreement.py)."""
    from scipy.optimize import Bounds, minimize

    x0 = np.asarray(x0, float)
    xst = s.initial_step if s.initial_step is not None else 0.02
    xt = s.xtol_abs if s.xtol_abs is not None else xst * 5e-4
    simplex = np.vstack([x0] + [x0 + xst * e for e in np.eye(x0.size)])
    res = minimize(fun, x0, method="Nelder-Mead", bounds=Bounds(lower, upper),
                   options={"initial_simplex": simplex, "xatol": xt,
                            "fatol": np.inf if s.ftol_abs is None else s.ftol_abs,
                            "maxfev": int(s.maxeval), "maxiter": 10 * int(s.maxeval)})
    return np.asarray(res.x), float(res.fun), str(res.message), bool(res.success)


def _nloptwrap(algorithm: str) -> Runner:
    """lme4's nloptwrap (R/utilities.R): nloptr with xtol_abs 1e-8, ftol_abs 1e-8,
    maxeval 1e5 on top of nloptr 2.0.3's defaults (xtol_rel 1e-4, ftol_rel 0); no
    initial step, so NLopt chooses it from x0 and the bounds (0 below, ∞ above). These
    are the defaults of lmmviz's own NLopt runner already; only the budget is capped."""
    inner = _nlopt_runner(algorithm)

    def run(fun, x0, lower, upper, s: OptimizerSettings):
        return inner(fun, x0, lower, upper, replace(s, maxeval=min(int(s.maxeval), 100_000)))

    return run


# --------------------------------------------------------------------------- optimx L-BFGS-B

# R's optim defaults, which optimx passes on untouched (optimx.run strips only its own keys)
_NDEPS = 1e-3
_FACTR = 1e7
_LMM = 5
_MAXIT = 100


def _optim_gradient(fun, lower, upper, ndeps: float):
    """R's optim finite-difference gradient for L-BFGS-B (src/appl/optim.c, fmingr):
    central differences with step ndeps, each side cut at its bound."""

    def grad(x):
        x = np.asarray(x, float)
        g = np.empty_like(x)
        for i in range(x.size):
            hi_step = lo_step = ndeps
            xp = x.copy()
            xp[i] = x[i] + ndeps
            if xp[i] > upper[i]:
                xp[i] = upper[i]
                hi_step = xp[i] - x[i]
            xm = x.copy()
            xm[i] = x[i] - ndeps
            if xm[i] < lower[i]:
                xm[i] = lower[i]
                lo_step = x[i] - xm[i]
            g[i] = (fun(xp) - fun(xm)) / (hi_step + lo_step)
        return g

    return grad


def _optimx_lbfgsb(fun, x0, lower, upper, s: OptimizerSettings):
    """optimx(method = "L-BFGS-B") as lme4 calls it: R's optim L-BFGS-B with its
    defaults (lmm 5, factr 1e7, pgtol 0, maxit 100) and optim's own finite
    differences (ndeps 1e-3), on SciPy's L-BFGS-B (ftol = factr·machine epsilon)."""
    from scipy.optimize import Bounds, minimize

    ndeps = s.initial_step if s.initial_step is not None else _NDEPS
    lower = np.asarray(lower, float)
    upper = np.asarray(upper, float)
    res = minimize(fun, np.asarray(x0, float), jac=_optim_gradient(fun, lower, upper, ndeps),
                   method="L-BFGS-B", bounds=Bounds(lower, upper),
                   options={"maxcor": _LMM, "ftol": _FACTR * np.finfo(float).eps, "gtol": 0.0,
                            "maxiter": _MAXIT, "maxfun": int(s.maxeval)})
    return np.asarray(res.x), float(res.fun), str(res.message), bool(res.success)


# --------------------------------------------------------------------------- registry

TWINS: tuple[OptimizerInfo, ...] = (
    OptimizerInfo(PREFIX + "bobyqa", "lme4", "bobyqa (minqa)", _after_care(_minqa_bobyqa)),
    OptimizerInfo(PREFIX + "Nelder_Mead", "lme4", "Nelder_Mead", _after_care(_lme4_nelder_mead)),
    OptimizerInfo(PREFIX + "optimx.L-BFGS-B", "lme4", "optimx L-BFGS-B (optim)", _after_care(_optimx_lbfgsb),
                  same_everywhere=False),
    OptimizerInfo(PREFIX + "nloptwrap.NLOPT_LN_NELDERMEAD", "lme4", "nloptwrap Nelder-Mead",
                  _after_care(_nloptwrap("LN_NELDERMEAD"))),
    OptimizerInfo(PREFIX + "nloptwrap.NLOPT_LN_BOBYQA", "lme4", "nloptwrap BOBYQA",
                  _after_care(_nloptwrap("LN_BOBYQA"))),
)



def _register() -> None:
    """The twins into the registry, first (allFit's order), once at import."""
    own = {k: v for k, v in _REGISTRY.items() if not k.startswith(PREFIX)}
    _REGISTRY.clear()
    _REGISTRY.update({info.name: info for info in TWINS})
    _REGISTRY.update(own)


_register()


def lme4_name(name: str) -> str:
    """``lme4:bobyqa`` → ``bobyqa`` (allFit's name)."""
    name = ALIASES.get(name, name)
    return name[len(PREFIX):] if name.startswith(PREFIX) else name
