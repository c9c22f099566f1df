"""Default fits, optimizers, compare and anova against lme4's stored answers."""

import json
import math
import pickle

import numpy as np
import pytest

import lmmviz
from lmmviz.optimizers import REGISTRY, OptimizerSettings, run_optimizer
from refdata import DATASETS, FIXTURES, LME4_DEFAULT, as_x, best, data, fits, reference

MODELS = ("intercept", "slope", "uncorrelated", "within_between")
# Optima below every lme4 optimizer's, checked with lme4's own devFunOnly (fixtures/make_better.R)
BETTER = {f["model"] + ("_reml" if f["REML"] else "_ml"): f
          for f in json.loads((FIXTURES / "seed.lme4_better.json").read_text())["fits"]}


def _cases():
    for name in DATASETS:
        for model in MODELS:
            for reml in (True, False):
                refs = fits(name, model, reml)
                if refs and not (model == "within_between" and len(refs[0]["fixef"]) < 3):
                    yield name, model, reml


@pytest.mark.parametrize("name,model,reml", list(_cases()))
def test_default_fit_reaches_lme4s_best_optimum(name, model, reml):
    d = as_x(data(name)) if model == "within_between" else data(name)
    ours = lmmviz.fit(d, model, reml)
    ref = best(name, model, reml)
    key = f"{model}_{'reml' if reml else 'ml'}"
    if name == "seed" and key in BETTER:
        # lmmviz goes below every lme4 optimizer here; lme4 agrees on the value at our θ
        b = BETTER[key]
        assert ours.criterion < ref["criterion"] - 5
        assert ours.criterion == pytest.approx(b["criterion_lme4_at_theta"], abs=1e-4)
        for k, v in b["refit_fixef"].items():
            assert abs(ours.fixef[k] - v) <= 1e-3 * b["refit_se"][k]
        return
    assert ours.criterion <= ref["criterion"] + 1e-3
    assert ours.criterion == pytest.approx(ref["criterion"], abs=1e-3)
    for k, v in ref["fixef"].items():
        assert abs(ours.fixef[k] - v) <= 1e-3 * ref["se"][k], k
        assert ours.se_dict[k] == pytest.approx(ref["se"][k], rel=1e-3)
    assert ours.sigma == pytest.approx(ref["sigma"], rel=1e-3)


def test_seed_headline_numbers():
    d = lmmviz.seed()
    ri = lmmviz.fit(d, "intercept")
    rs = lmmviz.fit(d, "slope")
    assert ri.criterion == pytest.approx(77.4113, abs=1e-4)
    assert ri.fixef["dosage"] == pytest.approx(-8.157, abs=1e-3)
    assert rs.criterion == pytest.approx(68.0749, abs=1e-4)
    assert rs.fixef["dosage"] == pytest.approx(-8.215, abs=1e-3)
    assert not rs.singular
    unc = lmmviz.fit(d, "uncorrelated")
    # Below lme4's 101.88 (its default) and 77.41 (its best optimizer, nmkbw)
    assert unc.criterion == pytest.approx(70.0171, abs=1e-4)
    wb = lmmviz.fit(d, "within_between")
    assert wb.criterion == pytest.approx(64.1665, abs=1e-4)
    assert wb.fixef["dosage_within"] == pytest.approx(-8.2267, abs=1e-4)
    assert wb.fixef["dosage_mean"] == pytest.approx(7.9035, abs=1e-4)
    assert lmmviz.pooled_ols(d).slope == pytest.approx(reference("seed")["ols"]["coef"]["dosage"], rel=1e-10)


def test_robust_default_reports_where_its_runs_stopped():
    ri = lmmviz.fit(lmmviz.seed(), "intercept")
    optima = ri.distinct_optima()
    assert [round(v, 2) for v, _ in optima] == [77.41, 101.88]
    assert any("statsmodels" in r.start_label for r in optima[1][1])
    d = next(d for d in ri.diagnostics if d.code == "optima_disagree")
    assert "77.41" in d.message and "101.88" in d.message


@pytest.mark.parametrize("ours,theirs,model,reml", [
    ("nlopt_bobyqa", LME4_DEFAULT, "slope", True),
    ("nlopt_neldermead", "nloptwrap.NLOPT_LN_NELDERMEAD", "slope", True),
    ("pybobyqa", "bobyqa", "slope", True),
    ("nlopt_bobyqa", LME4_DEFAULT, "uncorrelated", True),
    ("nlopt_neldermead", "nloptwrap.NLOPT_LN_NELDERMEAD", "slope", False),
    ("nlopt_bobyqa", LME4_DEFAULT, "intercept", True),
])
def test_library_optimizers_land_where_lme4s_counterparts_land(ours, theirs, model, reml):
    ref = next(f for f in fits("seed", model, reml) if f["optimizer"] == theirs)
    ft = lmmviz.fit(lmmviz.seed(), model, reml, optimizer=ours)
    assert ft.criterion == pytest.approx(ref["criterion"], abs=1e-3)
    assert ft.fixef["dosage"] == pytest.approx(ref["fixef"]["dosage"], abs=1e-2)
    assert ft.singular == ref["singular"]


def test_compare_reproduces_both_seed_optima(cmp_slope):
    cmp = cmp_slope  # lmmviz.compare(seed, "slope"), REML, shared with the landscape tests
    assert cmp.start == (1.0, 0.0, 1.0)
    crit = {e.optimizer: e.fit.criterion for e in cmp.entries if e.fit}
    slopes = {e.optimizer: e.fit.fixef["dosage"] for e in cmp.entries if e.fit}
    local = [o for o, c in crit.items() if abs(c - 101.34) < 0.01]
    glob = [o for o, c in crit.items() if abs(c - 68.07) < 0.01]
    assert local and glob
    assert all(slopes[o] == pytest.approx(7.204, abs=1e-2) for o in local)
    assert all(slopes[o] == pytest.approx(-8.215, abs=1e-2) for o in glob)
    verdicts = {e.optimizer: e.verdict for e in cmp.entries}
    assert all(verdicts[o] == "best" for o in glob)
    assert all(verdicts[o] == "local optimum" for o in local)
    # lme4's twins first, in allFit's order; then lmmviz's own and the robust default, best first
    families = [e.family for e in cmp.entries]
    assert families == sorted(families, key=lambda fam: fam != "lme4")
    twins = [e.name for e in cmp.entries if e.family == "lme4"]
    assert twins == ["bobyqa", "Nelder_Mead", "optimx.L-BFGS-B", "nloptwrap.NLOPT_LN_NELDERMEAD",
                     "nloptwrap.NLOPT_LN_BOBYQA"]
    listed = [e.fit.criterion for e in cmp.entries if e.fit and e.family == "lmmviz"]
    assert listed == sorted(listed)
    assert [e.optimum for e in cmp.entries if e.family == "lmmviz"][:1] == [1]
    assert cmp.best in glob
    assert set(cmp.table()["optimizer"]) == set(REGISTRY) | {"robust"}


def test_newuoa_is_left_out_of_one_parameter_comparisons_with_the_reason():
    cmp = lmmviz.compare(lmmviz.seed(), "intercept")
    e = cmp.entries[-1]
    assert (e.optimizer, e.verdict, e.fit) == ("nlopt_newuoa", "not run", None)
    assert e.message == "NLopt NEWUOA needs at least two parameters; the intercept model has one θ value"
    assert cmp.entries[0].fit.criterion == pytest.approx(77.4113, abs=1e-4)
    with pytest.raises(ValueError, match="nlopt_newuoa: NLopt NEWUOA needs at least two parameters; the "
                                         "within_between model has one θ value: choose another optimizer"):
        lmmviz.fit(lmmviz.seed(), "within_between", optimizer="nlopt_newuoa")
    # two θ are enough: the uncorrelated model runs it
    assert lmmviz.fit(lmmviz.seed(), "uncorrelated", optimizer="nlopt_newuoa").optsum.error is None


def test_fit_log_records_every_evaluation():
    d = lmmviz.make_design(lmmviz.seed(), "slope")
    f = lmmviz.make_deviance(d)
    run = run_optimizer("nlopt_bobyqa", f, [1, 0, 1], f.lower)
    assert run.feval == len(run.fitlog_f) == run.fitlog_theta.shape[0]
    assert list(run.fitlog_theta[0]) == [1.0, 0.0, 1.0]
    assert run.fitlog_f[0] == pytest.approx(106.01, abs=0.005)
    for th, v in zip(run.fitlog_theta[::37], run.fitlog_f[::37]):
        assert f(th) == v
    assert run.fmin == pytest.approx(run.fitlog_f.min())


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_run_is_bounded_by_its_evaluations(name):
    d = lmmviz.make_design(lmmviz.seed(), "slope")
    f = lmmviz.make_deviance(d)
    run = run_optimizer(name, f, [1, 0, 1], f.lower, OptimizerSettings(maxeval=12))
    assert 0 < run.feval <= 12
    assert math.isfinite(run.fmin) and run.fmin <= 106.02


def test_settings_change_the_run():
    d = lmmviz.make_design(lmmviz.seed(), "slope")
    f = lmmviz.make_deviance(d)
    a = run_optimizer("pybobyqa", f, [1, 0, 1], f.lower)
    b = run_optimizer("pybobyqa", f, [300, 0, 1], f.lower, OptimizerSettings(initial_step=50.0))
    assert a.fmin == pytest.approx(101.34, abs=0.01)
    assert b.fmin == pytest.approx(68.07, abs=0.01)
    assert b.initial == (300.0, 0.0, 1.0)


def test_anova_matches_lme4():
    a = lmmviz.anova(data("sleepstudy"), ("intercept", "slope"))
    ref = reference("sleepstudy")["anova"]["intercept_vs_slope"]["rows"]
    for mine, theirs in zip(a.rows, ref):
        assert mine.model == theirs["model"] and mine.npar == theirs["npar"]
        for k in ("AIC", "BIC", "logLik", "deviance"):
            assert getattr(mine, k.lower()) == pytest.approx(theirs[k], abs=1e-4)
    assert a.rows[1].chisq == pytest.approx(ref[1]["Chisq"], abs=1e-4)
    assert a.rows[1].df == ref[1]["Df"]
    assert a.rows[1].p == pytest.approx(ref[1]["p"], rel=1e-4)
    seed = lmmviz.anova(lmmviz.seed(), ("slope", "intercept"))
    sref = reference("seed")["anova"]["intercept_vs_slope"]["rows"]
    assert [r.model for r in seed.rows] == ["intercept", "slope"]  # ordered by npar
    assert seed.rows[1].chisq == pytest.approx(sref[1]["Chisq"], abs=1e-3)
    assert seed.rows[1].p == pytest.approx(sref[1]["p"], rel=1e-3)


def test_results_pickle_and_serialize():
    ft = lmmviz.fit(lmmviz.seed(), "slope")
    back = pickle.loads(pickle.dumps(ft))
    assert back.criterion == ft.criterion and back.ranef.equals(ft.ranef)
    d = ft.to_dict()
    for key in ("model", "reml", "optimizer", "criterion", "loglik", "aic", "bic", "theta", "fixef", "se",
                "sigma", "varcorr", "singular", "converged", "warnings", "n_obs", "n_groups",
                "dropped_rows", "evaluations", "seconds"):
        assert key in d
    assert d["fixef"]["dosage"] == pytest.approx(-8.215, abs=1e-3)
    assert len(d["theta"]) == 3
    json.dumps(d)


def test_fitted_lines_and_residuals_add_up():
    d = lmmviz.seed()
    for model in MODELS:
        ft = lmmviz.fit(d, model)
        y = d.frame[d.y].to_numpy()
        assert np.allclose(ft.fitted + ft.residuals, y)
        r = ft.ranef.set_index("group")
        g = d.frame[d.group].to_numpy()
        x = d.frame[d.x].to_numpy()
        line = r.loc[g, "line_intercept"].to_numpy() + r.loc[g, "line_slope"].to_numpy() * x
        assert np.allclose(line, ft.fitted)


# --------------------------------------------------------------------------- load and the time limit


class SlowClock:
    """A stand-in for time.perf_counter on a loaded machine: every reading advances by
    ``step`` seconds, and reading number ``stall_at`` also by ``stall`` (the process
    descheduled for a while)."""

    def __init__(self, step: float, stall_at: int = 0, stall: float = 0.0):
        self.step, self.stall_at, self.stall = step, stall_at, stall
        self.now, self.readings = 1000.0, 0

    def __call__(self) -> float:
        self.readings += 1
        self.now += self.step + (self.stall if self.readings == self.stall_at else 0.0)
        return self.now


def _fit_log(ft) -> list:
    """Everything a run did, without its (load-dependent) seconds."""
    return [(r.optimizer, r.start_label, r.initial, r.final, r.fmin, r.feval, r.returnvalue, r.converged,
             r.fitlog_theta.tobytes(), r.fitlog_f.tobytes()) for r in ft.runs]


@pytest.mark.parametrize("model", ["slope", "uncorrelated"])
def test_robust_default_gives_the_same_answer_on_a_loaded_machine(seed, monkeypatch, model):
    """Evaluations, not seconds, bound the robust default's work: a slow clock with a 30 s
    stall early on (inside the nested model's fit), still below the 60 s safety limit,
    changes nothing, bit for bit. The deadline-based default gave the nested fit a third
    of the time and stopped it there."""
    quiet = lmmviz.fit(seed, model)
    clock = SlowClock(step=0.01, stall_at=10, stall=30.0)
    monkeypatch.setattr("time.perf_counter", clock)
    busy = lmmviz.fit(seed, model, settings=OptimizerSettings(max_seconds=60.0))
    monkeypatch.undo()
    assert 30.0 < clock.now - 1000.0 < 60.0  # slowed down, yet below the safety limit
    assert len(busy.runs) == len(quiet.runs) and busy.evaluations == quiet.evaluations
    assert _fit_log(busy) == _fit_log(quiet)
    assert busy.theta == quiet.theta and busy.criterion == quiet.criterion
    assert np.array_equal(busy.beta, quiet.beta)
    assert not busy.timed_out_runs
    assert "time_limit" not in {d.code for d in busy.diagnostics}
    assert quiet.criterion == pytest.approx({"slope": 68.0749, "uncorrelated": 70.0171}[model], abs=1e-4)


def test_hitting_the_time_limit_is_diagnosed_and_logged(seed, monkeypatch):
    """Past the safety limit (the clock jumps 1000 s at its 400th reading, in the slope model's own runs) the current
    run stops, each later run only evaluates its start, and the fit says so."""
    monkeypatch.setattr("time.perf_counter", SlowClock(step=0.001, stall_at=400, stall=1000.0))
    ft = lmmviz.fit(seed, "slope", settings=OptimizerSettings(max_seconds=60.0))
    monkeypatch.undo()
    cut = ft.timed_out_runs
    assert cut and all(r.returnvalue == "time limit reached" for r in cut)
    assert all(r.feval == 1 for r in cut[1:])  # begun past the limit: the start only
    assert cut[0].feval > 1
    assert {r["message"] for r in ft.to_dict()["runs"] if r["evaluations"] == 1} == {"time limit reached"}
    (d,) = [d for d in ft.diagnostics if d.code == "time_limit"]
    assert d.severity == "problem"
    assert "stopped by the time limit: the result may be a local optimum" in d.message
    assert len(cut) == len(ft.runs) and f"All {len(cut)} of its optimizer runs were cut short" in d.message
    assert "--max-seconds" in d.advice
    # cut runs did not stop at an optimum: they are not reported as optima that disagree
    assert all(not r.timed_out for _, rs in ft.distinct_optima() for r in rs)
    assert "not_converged" not in {d.code for d in ft.diagnostics}


def test_a_single_optimizer_stopped_by_the_time_limit_says_so(seed, monkeypatch):
    monkeypatch.setattr("time.perf_counter", SlowClock(step=0.001, stall_at=20, stall=1000.0))
    ft = lmmviz.fit(seed, "slope", optimizer="nlopt_bobyqa", settings=OptimizerSettings(max_seconds=60.0))
    monkeypatch.undo()
    assert ft.optsum.timed_out and 1 < ft.optsum.feval < 20 and not ft.converged
    codes = [d.code for d in ft.diagnostics]
    assert "time_limit" in codes and "not_converged" not in codes
    (d,) = [d for d in ft.diagnostics if d.code == "time_limit"]
    assert "Its optimizer run was cut short" in d.message


def test_singular_local_optimum_is_diagnosed_in_words():
    ft = lmmviz.fit(lmmviz.seed(), "slope", optimizer="pybobyqa")
    assert ft.singular and ft.criterion == pytest.approx(101.34, abs=0.01)
    codes = {d.code for d in ft.diagnostics}
    assert {"singular", "corr_one", "few_groups"} <= codes
    assert ft.warnings == ("boundary (singular) fit: see help('isSingular')",)
    assert ft.max_abs_corr == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("model", ["intercept", "slope", "uncorrelated", "within_between"])
def test_few_groups_advice_never_recommends_the_model_itself(seed, model):
    """With 3 subjects every fit gets the few-groups warning; its advice fits the model
    (a within-between fit is not told to prefer the within-between model)."""
    from lmmviz.charts import MODEL_LABELS

    ft = lmmviz.fit(seed, model)
    (d,) = [d for d in ft.diagnostics if d.code == "few_groups"]
    assert d.title == "Only 3 groups"
    label = MODEL_LABELS[model].lower()
    assert label not in d.advice.lower(), d.advice
    if model in ("slope", "uncorrelated"):
        assert "random-intercept or within-between model" in d.advice
