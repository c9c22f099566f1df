"""One criterion: the landscape's grid evaluation and the fit's deviance are the same
engine (lmmviz.deviance), so they agree to 1e-10 at any θ, and both equal lme4's
criterion at lme4's θ.

Reference: lme4 1.1-31, every allFit optimizer's (θ, criterion) on the seed
(tests/fixtures/seed.lme4.json) and on two simulated data sets
(tests/fixtures/allfit/allfit_sims.lme4.json). Per model and criterion these are
7 θ each: both optima of the seed's slope model, boundary fits (θ₃ = 0, θ₁ = 0)
and the stops of optimizers that ended early.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import lmmviz
import refdata
from lmmviz import landscape as L

ALLFIT = Path(__file__).parent / "fixtures" / "allfit"
MODELS = ("intercept", "slope", "uncorrelated")
DATASETS = ("seed", "sim01", "sim08")
REL = 1e-10


def _lme4(name: str):
    """(data, lme4's fits) of a reference data set."""
    if name == "seed":
        return refdata.data("seed"), refdata.reference("seed")["fits"]
    s = next(s for s in json.loads((ALLFIT / "allfit_sims.lme4.json").read_text())["sets"]
             if s["dataset"] == name)
    return lmmviz.load(ALLFIT / f"{name}.csv", y=s["y"], x=s["x"], group=s["group"]), s["fits"]


def _fit_criteria(data, model, reml, T):
    """The fit's deviance (what the optimizers minimize) and fit_at's criterion at each θ."""
    f = lmmviz.make_deviance(lmmviz.make_design(data, model), reml)
    return np.array([f(t) for t in T]), np.array([lmmviz.fit_at(data, model, t, reml).criterion for t in T])


@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("name", DATASETS)
def test_grid_and_fit_equal_lme4_at_lme4_theta(name, model, reml):
    data, fits = _lme4(name)
    ref = [f for f in fits if f["model"] == model and f["REML"] == reml and "criterion" in f]
    assert len(ref) == 7
    T = np.array([refdata.theta(f) for f in ref], dtype=float)
    want = np.array([f["criterion"] for f in ref])
    grid = L.batch_deviance(data, model, reml=reml)(T)  # the batched path, as on a map or curve
    one = np.array([L.batch_deviance(data, model, reml=reml)(t[None])[0] for t in T])  # a batch of one
    dev, at = _fit_criteria(data, model, reml, T)
    np.testing.assert_allclose(grid, dev, rtol=REL, atol=0)
    np.testing.assert_allclose(one, dev, rtol=REL, atol=0)
    np.testing.assert_array_equal(at, dev)
    np.testing.assert_allclose(dev, want, rtol=REL, atol=0)
    np.testing.assert_allclose(grid, want, rtol=REL, atol=0)


def test_a_slice_between_lme4s_seed_optima_starts_and_ends_at_lme4s_criteria():
    """The slice's ends are grid evaluations at lme4's two θ of the seed's slope model."""
    low = next(f for f in refdata.fits("seed", "slope", True) if f["optimizer"] == "Nelder_Mead")
    high = next(f for f in refdata.fits("seed", "slope", True) if f["optimizer"] == "bobyqa")
    sl = L.slice_between(refdata.data("seed"), high["theta"], low["theta"], model="slope", n=51)
    F = sl.frame["criterion"].to_numpy()
    assert F[0] == pytest.approx(101.339947475161, rel=REL)  # lme4's bobyqa
    assert F[-1] == pytest.approx(68.0749203963088, rel=REL)  # lme4's Nelder_Mead
    dev = lmmviz.make_deviance(lmmviz.make_design(refdata.data("seed"), "slope"))
    T = sl.frame[["theta1", "theta2", "theta3"]].to_numpy()
    np.testing.assert_allclose(F, [dev(t) for t in T], rtol=REL, atol=0)


def _random_thetas(model: str, rng, n: int = 200) -> np.ndarray:
    k = {"intercept": 1, "slope": 3, "uncorrelated": 2}[model]
    T = np.exp(rng.uniform(math.log(1e-2), math.log(1e2), size=(n, k)))
    if model == "slope":
        T[:, 1] *= rng.choice([-1.0, 1.0], n)
    T[:4, 0] = 0.0  # boundary: no intercept variance
    if k > 1:
        T[4:8, -1] = 0.0  # boundary: a singular factor
    return T


@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
@pytest.mark.parametrize("model", MODELS)
def test_grid_and_fit_agree_on_simulated_data(model, reml):
    """lmmviz's simulator, θ over four decades, boundaries included. (Much farther out,
    with x far from 0, the criterion itself is ill-conditioned in θ and the two ways of
    forming the factor lose different digits: test_landscape checks that against
    50-digit arithmetic.)"""
    data = lmmviz.frame_to_data(lmmviz.simulate(n_subjects=30, n_obs=6, dose_spacing=0.5, seed=11))
    T = _random_thetas(model, np.random.default_rng(4))
    grid = L.batch_deviance(data, model, reml=reml)(T)
    dev, at = _fit_criteria(data, model, reml, T[:20])
    np.testing.assert_array_equal(at, dev)
    f = lmmviz.make_deviance(lmmviz.make_design(data, model), reml)
    np.testing.assert_allclose(grid, [f(t) for t in T], rtol=REL, atol=0)
    assert np.isfinite(grid).all()


def test_a_batch_runs_blas_on_one_thread(monkeypatch):
    """The batched criterion limits BLAS to one thread while it runs (see
    lmmviz.deviance._one_blas_thread); threadpoolctl is pinned in requirements.txt:
    missing, this fails rather than skips."""
    from threadpoolctl import threadpool_info

    from lmmviz import deviance

    seen = []
    chunk = deviance.BatchDeviance._chunk

    def spy(self, T, fast):
        seen.append({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})
        return chunk(self, T, fast)

    monkeypatch.setattr(deviance.BatchDeviance, "_chunk", spy)
    bd = L.batch_deviance(refdata.data("seed"), "slope")
    n = deviance.CHUNK_ELEMENTS // bd.n_distinct + 1  # a batch big enough for BLAS threads to matter
    bd(np.ones((n, 3)))
    assert seen and all(s == {1} for s in seen)
