"""The profiled deviance and everything derived from θ, against lme4 1.1-31 at lme4's own θ,
and against a dense O(rows) implementation written independently of the sufficient statistics."""

import math

import numpy as np
import pandas as pd
import pytest

import lmmviz
from lmmviz.data import DataError
from lmmviz.deviance import lambda_matrix
from refdata import DATASETS, as_x, data, fits, ranef_rows, theta

CASES = [
    (name, i)
    for name in DATASETS
    for i, f in enumerate(fits(name))
    # lme4 drops the collinear x_mean in balanced designs; lmmviz refuses those (tested below)
    if not (f["model"] == "within_between" and len(f["fixef"]) < 3)
]


def _our_fit(name, f):
    d = as_x(data(name)) if f["model"] == "within_between" else data(name)
    return lmmviz.fit_at(d, f["model"], theta(f), f["REML"])


@pytest.mark.parametrize("name,i", CASES)
def test_matches_lme4_at_lme4_theta(name, i):
    f = fits(name)[i]
    ours = _our_fit(name, f)
    assert ours.criterion == pytest.approx(f["criterion"], abs=1e-7, rel=1e-10)
    assert ours.loglik == pytest.approx(f["logLik"], abs=1e-7)
    assert ours.sigma == pytest.approx(f["sigma"], rel=1e-7)
    for k, v in f["fixef"].items():
        assert ours.fixef[k] == pytest.approx(v, rel=1e-6, abs=1e-6 * f["se"][k])
        assert ours.se_dict[k] == pytest.approx(f["se"][k], rel=1e-6)
    assert ours.aic == pytest.approx(f["AIC"], abs=1e-6)
    assert ours.bic == pytest.approx(f["BIC"], abs=1e-6)
    assert ours.npar == f["df"]
    assert ours.singular == f["singular"]
    vc = [r for r in ours.varcorr]
    assert len(vc) == len(f["varcorr"])
    for mine, theirs in zip(vc, f["varcorr"]):
        assert mine.grp == theirs["grp"]
        assert mine.var1 == theirs["var1"] and mine.var2 == theirs["var2"]
        assert mine.vcov == pytest.approx(theirs["vcov"], rel=1e-6, abs=1e-8)
        if theirs["sdcor"] is not None and math.isfinite(mine.sdcor):
            assert mine.sdcor == pytest.approx(theirs["sdcor"], rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("name", DATASETS)
def test_conditional_modes_and_sds_match_lme4(name):
    for f in fits(name, reml=True)[:: 7]:  # one fit per model
        if f["model"] == "within_between" and len(f["fixef"]) < 3:
            continue
        ours = _our_fit(name, f).ranef.set_index("group")
        cond = {c["group"]: c for c in next(iter(f["condsd"].values()))}
        for row in ranef_rows(f):
            g = row["group"]
            crow = cond[g]
            for term, v in row.items():
                if term in ("group", "_row"):
                    continue
                scale = max(1.0, abs(v))
                assert ours.loc[g, term] == pytest.approx(v, abs=1e-5 * scale)
                assert ours.loc[g, f"condsd_{term}"] == pytest.approx(crow[term], rel=1e-5, abs=1e-8)


def dense_criterion(d: lmmviz.Data, model: str, th, reml: bool) -> float:
    """Textbook O(rows) profiled deviance with dense matrices: V = I + ZΛΛ'Z'."""
    fr = d.frame
    x, y = fr[d.x].to_numpy(float), fr[d.y].to_numpy(float)
    g = fr[d.group].to_numpy()
    n = len(y)
    if model == "within_between":
        xm = pd.Series(x).groupby(g).transform("mean").to_numpy()
        X = np.column_stack([np.ones(n), x - xm, xm])
    else:
        X = np.column_stack([np.ones(n), x])
    spec = lmmviz.MODELS[model]
    lam = lambda_matrix(spec, th)
    V = np.eye(n)
    for lab in np.unique(g):
        idx = np.flatnonzero(g == lab)
        Z = X[idx][:, list(spec.zcols)] if not spec.within_between else np.ones((len(idx), 1))
        V[np.ix_(idx, idx)] += Z @ lam @ lam.T @ Z.T
    Vi = np.linalg.inv(V)
    XtViX = X.T @ Vi @ X
    beta = np.linalg.solve(XtViX, X.T @ Vi @ y)
    r = y - X @ beta
    pwrss = r @ Vi @ r
    ld = np.linalg.slogdet(V)[1]  # = ldL2 by the matrix determinant lemma
    p = X.shape[1]
    if reml:
        return ld + np.linalg.slogdet(XtViX)[1] + (n - p) * (1 + np.log(2 * np.pi * pwrss / (n - p)))
    return ld + n * (1 + np.log(2 * np.pi * pwrss / n))


@pytest.mark.parametrize("model,th", [
    ("intercept", [0.7]), ("intercept", [13.0]), ("slope", [1.2, -0.4, 0.3]), ("slope", [0.0, 0.5, 0.0]),
    ("uncorrelated", [0.9, 0.2]), ("within_between", [2.5]),
])
@pytest.mark.parametrize("reml", [True, False])
def test_sufficient_statistics_equal_dense_computation(model, th, reml):
    rng = np.random.default_rng(42)
    sizes = rng.integers(1, 7, size=9)  # unbalanced, with singleton groups
    g = np.repeat([f"g{i}" for i in range(9)], sizes)
    x = rng.normal(size=len(g)) * 3 + 20 + np.repeat(rng.normal(size=9) * 5, sizes)
    y = 3 - 0.5 * x + rng.normal(size=len(g)) + np.repeat(rng.normal(size=9) * 2, sizes)
    d = lmmviz.prepare(pd.DataFrame({"g": g, "x": x, "y": y}), y="y", x="x", group="g")
    f = lmmviz.make_deviance(lmmviz.make_design(d, model), reml)
    assert f(th) == pytest.approx(dense_criterion(d, model, th, reml), rel=1e-10, abs=1e-9)


def test_seed_start_values_are_lme4s():
    from lmmviz.theta import lme4_start

    d = lmmviz.seed()
    assert lme4_start(lmmviz.make_design(d, "intercept"))[0] == pytest.approx(17.05, abs=0.005)
    assert list(lme4_start(lmmviz.make_design(d, "slope"))) == [1.0, 0.0, 1.0]
    assert list(lme4_start(lmmviz.make_design(d, "uncorrelated"))) == [1.0, 1.0]
    # lme4 prints 106.01 for the slope model's criterion at its start (1, 0, 1)
    f = lmmviz.make_deviance(lmmviz.make_design(d, "slope"))
    assert f([1.0, 0.0, 1.0]) == pytest.approx(106.01, abs=0.005)


def test_two_minima_of_the_seed_intercept_criterion():
    f = lmmviz.make_deviance(lmmviz.make_design(lmmviz.seed(), "intercept"))
    grid = np.geomspace(0.05, 5000, 4001)
    vals = np.array([f([t]) for t in grid])
    minima = [i for i in range(1, len(grid) - 1) if vals[i] < vals[i - 1] and vals[i] < vals[i + 1]]
    assert len(minima) == 2
    (t1, v1), (t2, v2) = [(grid[i], vals[i]) for i in minima]
    assert t1 == pytest.approx(1.25, abs=0.01) and v1 == pytest.approx(101.88, abs=0.01)
    assert t2 == pytest.approx(138.4, rel=0.01) and v2 == pytest.approx(77.41, abs=0.01)


def test_within_between_refuses_equal_group_means_plainly():
    with pytest.raises(DataError, match="same mean"):
        lmmviz.make_design(data("sleepstudy"), "within_between")


@pytest.mark.parametrize("model", ["intercept", "slope", "within_between"])
def test_exact_fit_is_refused_rather_than_run_to_infinity(model):
    # y is constant within each group: the criterion would fall without bound as θ grows
    fr = pd.DataFrame({"g": np.repeat(["a", "b", "c"], 4), "x": np.tile([1.0, 2, 3, 4], 3) + np.repeat([0, 1, 2], 4),
                       "y": np.repeat([1.0, 5, 9], 4)})
    d = lmmviz.prepare(fr, y="y", x="x", group="g")
    with pytest.raises(DataError, match="no residual variation"):
        lmmviz.make_design(d, model)
