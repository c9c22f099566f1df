"""A failing criterion ends its run as failed, with its reason; only numerical failures
(a non-finite value, a failed factorization) are points for the optimizer to step away from."""

from __future__ import annotations

import math

import numpy as np
import pytest

import lmmviz
from lmmviz import fitting
from lmmviz.optimizers import REGISTRY, OptimizerFailed, OptimizerSettings, run_optimizer
from lmmviz.results import FIT_KEYS


def bowl(theta):
    return float(np.sum((np.asarray(theta) - 2.0) ** 2)) + 1.0


def breaks_after(n: int, error: Exception):
    """The bowl, raising ``error`` from its (n+1)-th call on."""
    calls = [0]

    def f(theta):
        calls[0] += 1
        if calls[0] > n:
            raise error
        return bowl(theta)

    return f


@pytest.mark.parametrize("name", sorted(REGISTRY))
@pytest.mark.parametrize("error", [TypeError("unsupported operand"), ValueError("shapes do not match"),
                                   KeyError("x"), ZeroDivisionError("float division by zero")],
                         ids=lambda e: type(e).__name__)
def test_a_bug_in_the_criterion_fails_the_run_with_its_message(name, error):
    run = run_optimizer(name, breaks_after(5, error), [0.5, 0.5], np.zeros(2))
    assert run.failed and not run.converged
    assert run.error == f"{type(error).__name__}: {error}" and run.returnvalue == run.error
    assert math.isnan(run.fmin)  # never the best of the first 5 values passed off as an optimum
    assert run.feval == 5 and np.all(np.isfinite(run.fitlog_f))


@pytest.mark.parametrize("error", [np.linalg.LinAlgError("not positive definite"),
                                   FloatingPointError("the model cannot be evaluated at this θ")],
                         ids=lambda e: type(e).__name__)
def test_numerical_failures_are_points_to_step_away_from(error):
    def f(theta):
        if theta[0] > 3.0:
            raise error
        return bowl(theta)

    # the first steps (initial step 2) land beyond θ₀ = 3, where f fails
    run = run_optimizer("nlopt_bobyqa", f, [0.5, 0.5], np.zeros(2), OptimizerSettings(initial_step=2.0))
    assert not run.failed and run.error is None and run.converged
    assert np.isinf(run.fitlog_f).any()
    assert run.fmin == pytest.approx(1.0, abs=1e-6) and run.final == pytest.approx((2.0, 2.0), abs=1e-3)


def test_non_finite_values_are_points_to_step_away_from():
    run = run_optimizer("nlopt_bobyqa", lambda t: math.nan if t[0] > 3.0 else bowl(t), [0.5, 0.5], np.zeros(2),
                        OptimizerSettings(initial_step=2.0))
    assert not run.failed and run.converged and np.isnan(run.fitlog_f).any()
    assert run.fmin == pytest.approx(1.0, abs=1e-6)


class Breaking:
    """The seed's deviance, raising TypeError where ``where(θ)`` holds."""

    def __init__(self, f, where):
        self.f, self.where = f, where

    def __getattr__(self, name):
        return getattr(self.f, name)

    def __call__(self, theta):
        if self.where(theta):
            raise TypeError("injected bug")
        return self.f(theta)


def inject(monkeypatch, where):
    real = fitting.make_deviance
    monkeypatch.setattr(fitting, "make_deviance", lambda design, reml=True: Breaking(real(design, reml), where))


def test_fit_and_compare_say_why_a_run_failed(monkeypatch):
    seed = lmmviz.seed()
    inject(monkeypatch, lambda th: len(th) == 1 and th[0] > 20.0)  # lme4's start is 17.05: a few steps in
    with pytest.raises(OptimizerFailed, match="the optimizer nlopt_bobyqa failed: TypeError: injected bug"):
        lmmviz.fit(seed, "intercept", optimizer="nlopt_bobyqa")
    cmp = lmmviz.compare(seed, "intercept", optimizers=("nlopt_bobyqa", "pybobyqa"))
    assert [(e.verdict, e.message) for e in cmp.entries] == [("failed", "TypeError: injected bug")] * 2
    assert cmp.best == ""


def test_the_robust_default_reports_its_failed_runs(monkeypatch):
    # Runs that reach θ > 100 (the 77.41 basin at θ ≈ 138) break; the run from θ = 1 stays
    # in the 101.88 basin. The fit is that run's, and the diagnostics say the others failed.
    inject(monkeypatch, lambda th: len(th) == 1 and th[0] > 100.0)
    ft = lmmviz.fit(lmmviz.seed(), "intercept")
    assert ft.criterion == pytest.approx(101.88, abs=0.01)
    failed = [r for r in ft.runs if r.error is not None]
    assert failed and all(r.error == "TypeError: injected bug" and math.isnan(r.fmin) for r in failed)
    d = next(d for d in ft.diagnostics if d.code == "run_failed")
    assert d.severity == "problem" and "TypeError: injected bug" in d.message
    assert d.title == f"{len(failed)} optimizer run{'s' if len(failed) > 1 else ''} failed"


def test_a_criterion_that_always_breaks_fails_the_robust_fit(monkeypatch):
    inject(monkeypatch, lambda th: True)
    with pytest.raises(OptimizerFailed, match="the optimizer robust failed: TypeError: injected bug"):
        lmmviz.fit(lmmviz.seed(), "slope")


def test_fit_keys_are_the_keys_of_a_fit():
    # Comparison.fit_dicts gives a run without a fit these keys, as null
    assert tuple(lmmviz.fit(lmmviz.seed(), "intercept").to_dict()) == FIT_KEYS
