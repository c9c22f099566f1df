"""lmmviz.landscape on the seed data: the batched criterion equals the engine's,
grids hold true criterion values, paths are the fit logs, and the landscape shows
the seed's two optima where lme4 finds them."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest

import lmmviz
from lmmviz import landscape as L

MODELS = ("intercept", "slope", "uncorrelated", "within_between")


@pytest.fixture(scope="module")
def map_slope(seed, cmp_slope):
    return L.map_2d(seed, "slope", paths=L.optimizer_paths(cmp_slope))


def _deviance(data, model, reml=True):
    return lmmviz.make_deviance(lmmviz.make_design(data, model), reml)


def _direct(f, thetas):
    return np.array([f(t) for t in np.atleast_2d(thetas)])


# --------------------------------------------------------------------------- batched criterion


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("reml", [True, False])
def test_batch_equals_engine(seed, model, reml):
    f = _deviance(seed, model, reml)
    bd = L.batch_deviance(seed, model, reml=reml)
    rng = np.random.default_rng(1)
    T = np.exp(rng.uniform(math.log(1e-2), math.log(1e2), size=(300, bd.n_theta)))
    if model == "slope":
        T[:, 1] *= rng.choice([-1.0, 1.0], len(T))
    T[:5, 0] = 0.0  # boundary: no intercept variance
    if bd.n_theta > 1:
        T[5:10, -1] = 0.0  # boundary: singular factor
    want = _direct(f, T)
    got = bd(T)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)


def test_batch_at_the_seed_optima_and_lme4_start(seed):
    f = _deviance(seed, "slope")
    bd = L.batch_deviance(seed, "slope")
    T = np.array([[393.0897, -1.5768, 1.1542], [2.504894, -0.058570, 0.0], [1.0, 0.0, 1.0]])
    got = bd(T)
    np.testing.assert_allclose(got, _direct(f, T), rtol=1e-11)
    assert got[2] == pytest.approx(106.01, abs=0.005)  # lme4's start (reference README)
    assert got[0] == pytest.approx(68.0749, abs=1e-4)
    assert got[1] == pytest.approx(101.3399, abs=1e-4)


def test_batch_rejects_out_of_bounds_and_wrong_width(seed):
    bd = L.batch_deviance(seed, "slope")
    out = bd(np.array([[-1.0, 0.0, 1.0], [1.0, 0.0, np.nan], [1.0, -5.0, 1.0]]))
    assert out[0] == math.inf and out[1] == math.inf and math.isfinite(out[2])
    with pytest.raises(ValueError, match="3 θ values"):
        bd(np.ones((2, 2)))


def test_batch_groups_with_the_same_design_share_work():
    # dose_spacing 0: every subject has the same doses, so one distinct Z'Z
    data = lmmviz.frame_to_data(lmmviz.simulate(n_subjects=40, n_obs=5, dose_spacing=0.0, seed=3))
    bd = L.batch_deviance(data, "slope")
    assert bd.n_distinct == 1 and bd.counts[0] == 40
    f = _deviance(data, "slope")
    T = np.array([[0.5, 0.1, 0.3], [3.0, -1.0, 0.0], [1.0, 0.0, 1.0]])
    np.testing.assert_allclose(bd(T), _direct(f, T), rtol=1e-10)


def test_batch_against_exact_arithmetic(seed):
    """Far out (θ up to 1000), double precision loses digits in both the engine and the
    batch; against 50-digit arithmetic both keep the criterion to 1e-5 (the fit's fixed-order
    sums are the more accurate: about half the batch's error)."""
    import mpmath as mp  # pinned in requirements.txt: missing, it fails rather than skips
    mp.mp.dps = 50
    fr = seed.frame
    g = fr["subject_id"].astype(str).to_numpy()
    x = fr["dosage"].to_numpy(float)
    y = fr["pain"].to_numpy(float)
    labels = sorted(set(g))
    n, G = len(y), len(labels)

    def exact(theta):
        t1, t2, t3 = (mp.mpf(float(v)) for v in theta)
        Z = mp.matrix(n, 2 * G)
        X = mp.matrix(n, 2)
        Y = mp.matrix(n, 1)
        for i in range(n):
            j = labels.index(g[i])
            Z[i, 2 * j], Z[i, 2 * j + 1] = t1 + t2 * mp.mpf(x[i]), t3 * mp.mpf(x[i])  # Z Λ
            X[i, 0], X[i, 1], Y[i] = 1, mp.mpf(x[i]), mp.mpf(y[i])
        ldL2 = mp.log(mp.det(Z.T * Z + mp.eye(2 * G)))
        Vi = (mp.eye(n) + Z * Z.T) ** -1
        A = X.T * Vi * X
        r = Y - X * (A ** -1 * (X.T * Vi * Y))
        pwrss = (r.T * Vi * r)[0]
        return float(ldL2 + mp.log(mp.det(A)) + (n - 2) * (1 + mp.log(2 * mp.pi * pwrss / (n - 2))))

    f = _deviance(seed, "slope")
    bd = L.batch_deviance(seed, "slope")
    rng = np.random.default_rng(7)
    T = np.exp(rng.uniform(math.log(1e-3), math.log(1e3), size=(25, 3)))
    T[:, 1] *= rng.choice([-1.0, 1.0], len(T))
    ex = np.array([exact(t) for t in T])
    err_batch = np.abs(bd(T) - ex)
    err_engine = np.abs(_direct(f, T) - ex)
    assert err_batch.max() < 1e-5 and err_engine.max() < 1e-5
    assert err_engine.sum() <= err_batch.sum()


# --------------------------------------------------------------------------- coordinates


def test_coordinates_round_trip():
    rng = np.random.default_rng(3)
    a, b = np.exp(rng.normal(size=50)), np.exp(rng.normal(size=50))
    r = rng.uniform(-1, 1, 50)
    T = L.coords_to_theta("slope", a, b, r)
    c = L.theta_coords("slope", T)
    np.testing.assert_allclose(c["sd_int"], a)
    np.testing.assert_allclose(c["sd_slope"], b)
    np.testing.assert_allclose(c["corr"], r, atol=1e-12)
    # lme4's start (1, 0, 1): both relative SDs 1, correlation 0
    assert L.theta_coords("slope", [[1.0, 0.0, 1.0]]).iloc[0].tolist() == [1.0, 1.0, 0.0]
    assert L.theta_coords("slope", [[2.0, 0.0, 0.0]])["corr"].isna().all()


def test_auto_range():
    assert L.auto_range([1.0, 100.0]) == (0.5, 200.0)
    lo, hi = L.auto_range([3.0])
    assert hi / lo == pytest.approx(100.0) and math.sqrt(lo * hi) == pytest.approx(3.0)
    lo, hi = L.auto_range([1e-9, 0.0, -1.0, 1e3])  # zeros/negatives ignored, span capped
    assert hi == 2e3 and hi / lo == pytest.approx(1e4)
    assert L.auto_range([]) == (0.01, 100.0)


# --------------------------------------------------------------------------- paths


def test_paths_are_the_fit_logs(cmp_slope):
    paths = L.optimizer_paths(cmp_slope)
    entries = [e for e in cmp_slope.entries if e.fit is not None]
    assert paths.runs == [e.optimizer for e in entries]
    for e in entries:
        run = e.fit.optsum
        fr = paths.frame[paths.frame["run"] == e.optimizer]
        np.testing.assert_array_equal(fr[["theta1", "theta2", "theta3"]].to_numpy(), run.fitlog_theta)
        np.testing.assert_array_equal(fr["criterion"].to_numpy(), run.fitlog_f)
        assert fr["evaluation"].tolist() == list(range(1, run.feval + 1))
        assert (fr["verdict"] == e.verdict).all()
        np.testing.assert_allclose(fr["sd_slope"], np.hypot(run.fitlog_theta[:, 1], run.fitlog_theta[:, 2]))
        np.testing.assert_array_equal(fr["best_so_far"], np.minimum.accumulate(run.fitlog_f))
        ends = paths.ends[paths.ends["run"] == e.optimizer].set_index("point")
        assert tuple(ends.loc["start", ["theta1", "theta2", "theta3"]]) == run.initial
        if e.optimizer != "robust":  # the robust default's winning run has its own start
            assert run.initial == cmp_slope.start
        assert tuple(ends.loc["end", ["theta1", "theta2", "theta3"]]) == run.final == e.fit.theta
        # each path ends where compare says it ends
        assert ends.loc["end", "criterion"] == pytest.approx(e.fit.criterion, abs=1e-9)
        if e.optimizer != "robust":
            assert ends.loc["start", "criterion"] == pytest.approx(106.01, abs=0.005)


def test_paths_of_the_robust_fit_are_labelled_by_start(seed):
    ft = lmmviz.fit(seed, "slope")
    paths = L.optimizer_paths(ft)
    assert len(paths.runs) == len(ft.runs) and len(set(paths.runs)) == len(paths.runs)
    assert all("from" in r for r in paths.runs if r.startswith("nlopt_bobyqa"))
    ends = paths.ends
    raw = ~ends["start_label"].str.contains("centred|boundary")
    assert set(ends.loc[raw, "verdict"]) == {"best"}  # every start in lme4's θ finds 68.07
    # runs held on a boundary (a variance at 0) stop above it, as they must
    held = ends.loc[ends["start_label"].str.contains("boundary") & (ends["point"] == "end")]
    assert len(held) == 2 and (held["criterion"] > 68.08).all()
    # in centred, scaled x, lme4's start (1, 0, 1) stops at 101.34: the default shows it
    stuck = ends.loc[ends["start_label"].str.contains("centred") & (ends["point"] == "end")]
    assert sorted(stuck["criterion"].round(2)) == [68.07, 101.34]
    total = sum(r.feval for r in ft.runs)
    assert len(paths.frame) == total


def test_thin_paths_keeps_ends_and_best(cmp_slope):
    paths = L.optimizer_paths(cmp_slope)
    thin = L.thin_paths(paths, 50)
    for run, fr in thin.groupby("run"):
        full = paths.frame[paths.frame["run"] == run]
        assert len(fr) <= 51
        assert fr["evaluation"].iloc[0] == 1 and fr["evaluation"].iloc[-1] == full["evaluation"].iloc[-1]
        assert fr["criterion"].min() == full["criterion"].min()


# --------------------------------------------------------------------------- compare


def test_compare_splits_into_the_two_seed_clusters(cmp_slope):
    fr = L.comparison_frame(cmp_slope)
    assert set(fr["optimum"]) == {1, 2}
    best, local = fr[fr["optimum"] == 1], fr[fr["optimum"] == 2]
    assert best["criterion"].min() == pytest.approx(68.0749, abs=1e-3)
    assert best["slope"].to_numpy() == pytest.approx(-8.215, abs=2e-3)
    assert local["criterion"].min() == pytest.approx(101.3399, abs=1e-3)
    assert local["slope"].to_numpy() == pytest.approx(7.20, abs=0.05)
    assert {"nlopt_bobyqa", "nlopt_newuoa", "scipy_powell", "nlopt_sbplx", "robust",
            "lme4:nloptwrap.NLOPT_LN_BOBYQA"} == set(best["optimizer"])
    assert {"pybobyqa", "scipy_nelder_mead", "nlopt_neldermead", "scipy_lbfgsb", "scipy_cobyqa",
            "lme4:bobyqa", "lme4:optimx.L-BFGS-B", "lme4:nloptwrap.NLOPT_LN_NELDERMEAD"} <= set(
        local["optimizer"])
    assert fr["optimum_label"].iloc[0] == "68.07 (slope -8.215)"
    assert list(fr["optimum"]) == sorted(fr["optimum"])  # grouped, best first
    opt = L.distinct_optima(cmp_slope)
    assert list(opt["criterion"].round(2)) == [68.07, 101.34]
    assert opt["singular"].tolist() == [False, True]
    assert opt["n_optimizers"].sum() == len(fr)


def test_failed_runs_are_kept_apart(cmp_intercept):
    fr = L.comparison_frame(cmp_intercept)
    failed = fr[fr["optimum"] == 0]
    assert list(failed["optimizer"]) == ["nlopt_newuoa"]  # NEWUOA needs two parameters: not run
    assert list(failed["optimum_label"]) == ["not run"] and fr["optimum"].iloc[-1] == 0


# --------------------------------------------------------------------------- 1-D curve


def test_curve_shows_both_intercept_minima(seed, cmp_intercept):
    curve = L.curve_1d(seed, "intercept", paths=L.optimizer_paths(cmp_intercept))
    m = curve.minima.sort_values("theta")
    assert len(m) == 2
    assert m["criterion"].tolist() == pytest.approx([101.8803, 77.4113], abs=1e-4)
    assert m["theta"].tolist() == pytest.approx([1.2528, 138.408], rel=1e-3)
    assert m.set_index("rank").loc[1, "criterion"] == pytest.approx(77.4113, abs=1e-4)
    lo, hi = curve.theta_range
    assert lo < 1.2528 and hi > 138.4
    # covers every evaluation of every optimizer
    th = L.optimizer_paths(cmp_intercept).frame["theta"]
    assert lo <= th[th > 0].min() and hi >= th.max()
    f = _deviance(seed, "intercept")
    np.testing.assert_allclose(curve.frame["criterion"], _direct(f, curve.frame[["theta"]].to_numpy()), rtol=1e-10)
    assert curve.at_zero == pytest.approx(f(np.array([0.0])))
    assert (curve.frame["excess"] >= -1e-9).all()


def test_curve_without_paths_finds_the_minima_by_itself(seed):
    curve = L.curve_1d(seed, "intercept")
    assert sorted(curve.minima["criterion"].round(2)) == [77.41, 101.88]
    wb = L.curve_1d(seed, "within_between")
    assert len(wb.minima) == 1
    assert wb.minima["criterion"].iloc[0] == pytest.approx(64.1665, abs=1e-4)
    assert wb.minima["theta"].iloc[0] == pytest.approx(8.6848, rel=1e-4)


def test_curve_boundary_minimum_at_zero():
    # no subject variation at all: the criterion is lowest at θ = 0
    data = lmmviz.frame_to_data(lmmviz.simulate(lmmviz.PRESETS["singular"]))
    curve = L.curve_1d(data, "intercept", theta_range=(1e-3, 10.0), n=200)
    assert curve.minima["kind"].iloc[0] == "boundary" and curve.minima["theta"].iloc[0] == 0.0
    assert curve.minima["criterion"].iloc[0] == pytest.approx(curve.at_zero)


def test_curve_rejects_two_parameter_models(seed):
    with pytest.raises(ValueError, match="one-parameter"):
        L.curve_1d(seed, "slope")


# --------------------------------------------------------------------------- 2-D maps


def test_map_values_are_direct_evaluations(seed, map_slope):
    m = map_slope
    assert m.third == "profiled" and m.shape == (60, 60) and len(m.frame) == 3600
    f = _deviance(seed, "slope")
    T = m.frame[["theta1", "theta2", "theta3"]].to_numpy()
    np.testing.assert_allclose(m.frame["criterion"], _direct(f, T), rtol=1e-9)
    # the θ columns are the map's coordinates with the profiled correlation
    np.testing.assert_allclose(T, L.coords_to_theta("slope", m.frame["sd_int"], m.frame["sd_slope"], m.frame["corr"]))
    assert m.grid().shape == (60, 60)


def test_profiled_correlation_is_the_minimum(seed, map_slope):
    f = _deviance(seed, "slope")
    rs = np.linspace(-1.0, 1.0, 401)
    for i in range(0, 3600, 97):
        row = map_slope.frame.iloc[i]
        vals = _direct(f, L.coords_to_theta("slope", np.full_like(rs, row["sd_int"]),
                                            np.full_like(rs, row["sd_slope"]), rs))
        assert row["criterion"] <= vals.min() + 1e-6


def test_map_shows_both_slope_optima(map_slope, cmp_slope):
    mins = map_slope.minima
    assert len(mins) == 2
    assert mins["criterion"].tolist() == pytest.approx([68.07492, 101.33995], abs=1e-4)
    assert mins["singular"].tolist() == [False, True]
    assert mins["sd_int"].tolist() == pytest.approx([393.09, 2.5049], rel=2e-3)
    assert mins["sd_slope"].iloc[0] == pytest.approx(1.954, rel=2e-3)
    assert mins["corr"].tolist() == pytest.approx([-0.8069, -1.0], abs=1e-3)
    # the range covers every optimizer's path (positive values; zeros are drawn at the edge)
    ends = L.optimizer_paths(cmp_slope).ends
    x0, x1 = map_slope.x_range
    y0, y1 = map_slope.y_range
    assert x0 <= ends["sd_int"][ends["sd_int"] > 0].min() and x1 >= ends["sd_int"].max()
    assert y0 <= ends["sd_slope"][ends["sd_slope"] > 0].min() and y1 >= ends["sd_slope"].max()
    assert len(map_slope.contours) > 0 and map_slope.contours["level"].min() > 68.07


def test_map_held_at_an_optimum(seed, cmp_slope):
    best = next(e for e in cmp_slope.entries if e.optimizer == cmp_slope.best).fit
    m = L.map_2d(seed, "slope", nx=20, ny=15, third="held", held_theta=best.theta,
                 paths=L.optimizer_paths(cmp_slope))
    assert m.third == "held" and m.held_corr == pytest.approx(-0.8069, abs=1e-3)
    assert m.shape == (15, 20) and m.evaluations == 300
    assert np.allclose(m.frame["corr"], m.held_corr)
    f = _deviance(seed, "slope")
    np.testing.assert_allclose(m.frame["criterion"], _direct(f, m.frame[["theta1", "theta2", "theta3"]].to_numpy()),
                               rtol=1e-9)
    assert "held at -0.807" in m.description
    with pytest.raises(ValueError, match="held_theta"):
        L.map_2d(seed, "slope", third="held")


def test_uncorrelated_map_is_a_direct_grid(seed):
    c = lmmviz.compare(seed, "uncorrelated")
    m = L.map_2d(seed, "uncorrelated", nx=40, ny=40, paths=L.optimizer_paths(c))
    assert m.third == "none" and m.frame["corr"].isna().all()
    np.testing.assert_array_equal(m.frame[["theta1", "theta2"]].to_numpy(), m.frame[["sd_int", "sd_slope"]].to_numpy())
    f = _deviance(seed, "uncorrelated")
    np.testing.assert_allclose(m.frame["criterion"], _direct(f, m.frame[["theta1", "theta2"]].to_numpy()), rtol=1e-9)
    assert m.minima["criterion"].tolist()[:2] == pytest.approx([70.0171, 101.8803], abs=1e-3)


def test_grid_limits_and_progress(seed):
    seen = []
    m = L.map_2d(seed, "slope", nx=500, ny=2, x_range=(0.1, 1000), y_range=(0.01, 10), progress=seen.append)
    assert m.shape == (L.MIN_GRID, L.MAX_GRID)
    assert any("capped at 200" in n for n in m.notes) and any("raised to 5" in n for n in m.notes)
    assert seen and seen[-1] == 1.0 and all(0 <= a <= b <= 1 for a, b in zip(seen, seen[1:]))
    with pytest.raises(ValueError, match="one-parameter|curve_1d"):
        L.map_2d(seed, "intercept")
    with pytest.raises(ValueError, match="0 < lo < hi"):
        L.map_2d(seed, "slope", x_range=(0.0, 10.0), y_range=(1, 2))


def test_contour_segments_lie_on_the_level():
    xs = np.linspace(-2, 2, 41)
    ys = np.linspace(-2, 2, 41)
    X, Y = np.meshgrid(xs, ys)
    Z = X**2 + Y**2
    seg = L.contour_segments(xs, ys, Z, [1.0])
    r1 = np.hypot(seg["x"], seg["y"])
    r2 = np.hypot(seg["x2"], seg["y2"])
    assert len(seg) > 30 and np.allclose(r1, 1.0, atol=0.01) and np.allclose(r2, 1.0, atol=0.01)
    Z[0, 0] = np.nan
    assert len(L.contour_segments(xs, ys, Z, [1.0, 100.0])) == len(seg)


# --------------------------------------------------------------------------- slices and profiles


def test_slice_between_the_optima(seed, cmp_slope):
    opt = L.distinct_optima(cmp_slope)
    ta = tuple(opt.iloc[1][["theta1", "theta2", "theta3"]])
    tb = tuple(opt.iloc[0][["theta1", "theta2", "theta3"]])
    s = L.slice_between(seed, ta, tb, model="slope", label_a="101.34", label_b="68.07")
    f = _deviance(seed, "slope")
    fr = s.frame
    assert fr["t"].iloc[0] == 0.0 and fr["t"].iloc[-1] == 1.0
    np.testing.assert_array_equal(fr[["theta1", "theta2", "theta3"]].iloc[0], ta)
    np.testing.assert_array_equal(fr[["theta1", "theta2", "theta3"]].iloc[-1], tb)
    np.testing.assert_allclose(fr["criterion"], _direct(f, fr[["theta1", "theta2", "theta3"]].to_numpy()), rtol=1e-9)
    assert fr["criterion"].iloc[0] == pytest.approx(101.33995, abs=1e-4)
    assert fr["criterion"].iloc[-1] == pytest.approx(68.07492, abs=1e-4)
    # the ridge next to the local optimum: a rise of 0.54 before the fall of 33.8
    assert s.barrier_a == pytest.approx(0.54, abs=0.005) and s.barrier_b == pytest.approx(33.8, abs=0.05)
    assert 0 < s.ridge_t < 0.02 and s.zoom is not None
    assert s.ridge_criterion >= s.frame["criterion"].max() - 1e-12


# The slice text on every model, on the seed and on simulated sets (the app's presets):
# "classic" has barriers on three models, "no_confounding" an optimum with no barrier.
SLICE_SETS = ("seed", "classic", "no_confounding")


@pytest.fixture(scope="module")
def slice_cases():
    cache = {}

    def case(name, model):
        if (name, model) not in cache:
            data = lmmviz.seed() if name == "seed" else lmmviz.frame_to_data(lmmviz.simulate(lmmviz.PRESETS[name]))
            cmp = lmmviz.compare(data, model)
            paths = L.optimizer_paths(cmp)
            minima = (L.curve_1d(data, model, paths=paths).minima if model in L.ONE_D
                      else L.map_2d(data, model, nx=30, ny=30, paths=paths).minima)
            optima = L.converged_optima(cmp, minima)
            pair = L.slice_pair(optima)
            sl = None if pair is None else L.slice_between(data, pair[0].theta, pair[1].theta, model=model,
                                                            label_a=pair[0].label, label_b=pair[1].label)
            cache[name, model] = (cmp, optima, pair, sl)
        return cache[name, model]

    return case


def _significant(shown: str) -> int:
    """Significant digits of a printed number ("0.0031" → 2)."""
    return len(shown.replace(".", "").lstrip("0"))


@pytest.mark.parametrize("name", SLICE_SETS)
@pytest.mark.parametrize("model", MODELS)
def test_slice_text_says_what_the_curve_shows(slice_cases, name, model):
    from lmmviz.tour import rounds_to

    cmp, optima, pair, sl = slice_cases(name, model)
    if pair is None:  # one optimum: every converged run is in its basin
        assert len(optima) == 1
        return
    a, b = pair
    assert b.criterion == min(o.criterion for o in optima)
    fr = sl.points()
    F = fr["criterion"].to_numpy()
    fa, fb = F[0], F[-1]
    assert rounds_to(fa, a.label) and rounds_to(fb, b.label)
    ridge = F[1:-1].max()
    text = L.describe_slice(sl)
    if "no barrier" in text:
        assert min(ridge - fa, ridge - fb) <= L.NO_BARRIER
        assert "falls all the way" in text
        G = F if fa >= fb else F[::-1]
        assert np.all(np.diff(G) <= L.NO_BARRIER)  # never rises on the way down
        drop = re.search(r"all the way to \d+\.\d+, by (\d+\.\d+)\.", text).group(1)
        assert rounds_to(abs(fa - fb), drop) and _significant(drop) >= 2
    else:
        m = re.search(r"first (?:falls by (\d+\.\d+), then )?rises (?:by|to) (\d+\.\d+)(?: above \S+)?, "
                      r"then falls by (\d+\.\d+): an optimizer at \S+ must climb to (\d+\.\d+) ", text)
        dip, rise, fall, top = m.groups()
        assert ridge - fa > L.NO_BARRIER and ridge - fb > L.NO_BARRIER
        assert rounds_to(ridge - fa, rise) and rounds_to(ridge, top) and rounds_to(ridge - fb, fall)
        assert _significant(rise) >= 2 and _significant(fall) >= 2  # never "0.00"
        j = int(np.argmax(F[1:-1])) + 1
        if dip is None:  # "first rises": no dip below the start before the ridge
            assert F[:j].min() >= fa - L.NO_BARRIER
        else:
            assert rounds_to(fa - F[:j].min(), dip) and fa - F[:j].min() > L.NO_BARRIER


@pytest.mark.parametrize("name", SLICE_SETS)
@pytest.mark.parametrize("model", MODELS)
def test_the_slice_joins_converged_optima(slice_cases, name, model):
    cmp, optima, pair, sl = slice_cases(name, model)
    stopped = [e.fit.criterion for e in cmp.entries if e.fit is not None and not e.fit.converged]
    converged = {e.optimizer for e in cmp.entries if e.fit is not None and e.fit.converged}
    for o in optima:
        assert set(o.optimizers) <= converged
        # an optimum only a stopped run reached, and no minimum of the landscape, does not exist
        assert o.optimizers or not any(abs(o.criterion - c) < 1e-9 for c in stopped)
    if pair is not None:  # the other end is where the most runs converged
        assert len(pair[0].optimizers) == max(len(o.optimizers) for o in optima if o is not pair[1])


def test_uncorrelated_seed_slice_skips_the_run_stopped_early(slice_cases):
    cmp, optima, pair, sl = slice_cases("seed", "uncorrelated")
    cobyla = next(e for e in cmp.entries if e.optimizer == "nlopt_cobyla")
    assert not cobyla.fit.converged and 70.76 < cobyla.fit.criterion < 70.78  # MAXEVAL_REACHED
    # on the map its path ends "stopped early", not at a local optimum
    verdicts = L.optimizer_paths(cmp).ends.groupby("run")["verdict"].first()
    assert verdicts["nlopt_cobyla"] == "stopped early"
    assert all(verdicts[e.optimizer] == e.verdict for e in cmp.entries if e.optimizer != "nlopt_cobyla")
    assert [o.label for o in optima] == ["70.02", "101.88"]
    # 8 of lmmviz's library optimizers and all 5 lme4 twins stop at 101.88
    own = [o for o in optima[1].optimizers if not o.startswith("lme4:")]
    assert len(own) == 8 and len(optima[1].optimizers) == 13, optima[1].optimizers
    a, b = pair
    assert (a.label, b.label) == ("101.88", "70.02")
    assert sl.barrier_a == pytest.approx(0.2218, abs=2e-3) and sl.has_barrier
    assert L.describe_slice(sl) == ("From 101.88 to 70.02 the criterion first rises by 0.22, then falls by 32.09: "
                                    "an optimizer at 101.88 must climb to 102.10 on this path before it can go "
                                    "down to 70.02.")
    # the slice from where COBYLA stopped: the criterion falls all the way, no ridge, no zoom
    s = L.slice_between(lmmviz.seed(), cobyla.fit.theta, b.theta, model="uncorrelated", label_a="70.77",
                        label_b="70.02")
    assert not s.has_barrier and s.zoom is None
    assert L.describe_slice(s) == ("Between 70.77 and 70.02 there is no barrier: from 70.77 the criterion falls "
                                   "all the way to 70.02, by 0.75. Nothing on this path holds an optimizer at 70.77.")


def _synthetic_slice(F, t=(0.0, 0.1, 0.2, 0.5, 1.0)):
    fr = pd.DataFrame({"t": t, "criterion": F})
    j = int(np.argmax(F[1:-1])) + 1
    return L.Slice("uncorrelated", True, "REML criterion", (1.0, 0.0), (300.0, 2.0), f"{F[0]:.2f}",
                   f"{F[-1]:.2f}", fr, t[j], F[j], F[j] - F[0], F[j] - F[-1])


def test_describe_slice_dip_and_climb():
    """The two shapes no seed or preset slice has: a dip before the ridge, and a climb
    on the way down that stays below the higher end."""
    dip = _synthetic_slice([100.0, 99.5, 100.8, 90.0, 70.0])
    assert L.describe_slice(dip) == (
        "From 100.00 to 70.00 the criterion first falls by 0.50, then rises to 0.80 above 100.00, then falls by "
        "30.80: an optimizer at 100.00 must climb to 100.80 on this path before it can go down to 70.00.")
    climb = _synthetic_slice([100.0, 95.0, 97.0, 80.0, 70.0])
    assert not climb.has_barrier
    assert L.describe_slice(climb) == (
        "Between 100.00 and 70.00 there is no barrier above 100.00: the criterion never climbs back to 100.00 "
        "on the way to 70.00, though it rises by 2.00 on the way.")
    # read from the lower end, the same curve tells the same story
    back = _synthetic_slice([70.0, 80.0, 97.0, 95.0, 100.0], t=(0.0, 0.5, 0.8, 0.9, 1.0))
    assert L.describe_slice(back) == (
        "Between 70.00 and 100.00 there is no barrier above 100.00: the criterion never climbs back to 100.00 "
        "on the way to 70.00, though it rises by 2.00 on the way.")


@pytest.mark.parametrize("value, shown", [(0.5432, "0.54"), (33.8123, "33.81"), (0.0431, "0.043"),
                                          (0.000123, "0.00012"), (-0.0123, "0.012")])
def test_format_height_keeps_two_significant_digits(value, shown):
    assert L.format_height(value) == shown


def test_profile_interval_of_the_slope_sd(seed):
    lo, hi, best = L.profile_interval(seed, "sd_slope", model="slope")
    assert best == pytest.approx(1.954, rel=1e-3)
    assert lo == pytest.approx(0.558, abs=0.005) and hi == pytest.approx(9.00, abs=0.05)
    p = L.profile_point(seed, "sd_slope", hi, model="slope")
    assert p.criterion == pytest.approx(68.07492 + 3.8415, abs=1e-3)


def test_suggested_grid_shrinks_with_groups():
    assert L.suggest_grid(3) == 60
    assert L.suggest_grid(10_000) <= 60
    assert L.suggest_grid(1_000_000) < L.suggest_grid(10_000)
