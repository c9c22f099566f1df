"""The guided tour: the seed question, answered in seven steps.

The question lmmviz was born from: "How should I choose the 'correct' model? How
come the results are so different between these two models? What are the
mathematical reasons?" Each :class:`Step` has a title, a few sentences for
students, the app state as URL query parameters (so every step has its own link,
see :mod:`lmmviz.share` for the schema) and :class:`Claim` objects: every number
in the text is covered by a claim whose ``check`` recomputes it with the engine
(``tests/test_tour.py`` runs them all). No Streamlit here.

    from lmmviz import tour
    step = tour.STEPS[2]                # step 3
    step.link()                         # "?src=seed&models=pooled%2Cslope&..."
    tour.check(step)                    # [(claim, True), ...] against the seed data
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from types import MappingProxyType
from typing import Callable, Mapping
from urllib.parse import urlencode

import numpy as np

N_STEPS = 7

def rounds_to(value: float, shown: str) -> bool:
    """True when ``value`` shows as ``shown`` at the number of decimals ``shown``
    has (sign included; "−" and "+" allowed)."""
    s = shown.replace("−", "-").replace("+", "")
    decimals = len(s.split(".")[1]) if "." in s else 0
    return math.isfinite(value) and abs(value - float(s)) <= 0.5 * 10.0 ** -decimals + 1e-9


# --------------------------------------------------------------------------- facts


class Facts:
    """Engine results the claims check, computed on first use (seed data by default)."""

    def __init__(self, data=None):
        import lmmviz

        self.lmmviz = lmmviz
        self.data = data if data is not None else lmmviz.seed()

    def design(self, model: str):
        return self.lmmviz.make_design(self.data, model)

    def deviance(self, model: str):
        return self.lmmviz.make_deviance(self.design(model), True)

    @cached_property
    def pooled(self):
        return self.lmmviz.pooled_ols(self.data)

    @cached_property
    def per_group(self):
        return self.lmmviz.per_group_ols(self.data)

    @cached_property
    def fit_intercept(self):
        return self.lmmviz.fit(self.data, "intercept")

    @cached_property
    def fit_slope(self):
        return self.lmmviz.fit(self.data, "slope")

    @cached_property
    def fit_slope_pybobyqa(self):
        return self.lmmviz.fit(self.data, "slope", optimizer="pybobyqa")

    @cached_property
    def fit_within_between(self):
        return self.lmmviz.fit(self.data, "within_between")

    @property
    def _library(self) -> tuple[str, ...]:
        # the tour counts lmmviz's ten library optimizers; the lme4 twins are in Compare
        return self.lmmviz.fitting.library_optimizers()

    @cached_property
    def compare_slope(self):
        """What the Compare tab shows: lme4's twins, lmmviz's optimizers and the robust default."""
        return self.lmmviz.compare(self.data, "slope")

    @cached_property
    def compare_slope_from_local(self):
        """Every optimizer started at the 101.34 optimum (lme4 2.x's allFit default)."""
        return self.lmmviz.compare(self.data, "slope", start=self.fit_slope_pybobyqa.theta)

    @cached_property
    def compare_intercept_from_one(self):
        """Every optimizer started at θ = 1 (statsmodels' start)."""
        return self.lmmviz.compare(self.data, "intercept", start=[1.0], optimizers=self._library)

    @cached_property
    def compare_within_between(self):
        return self.lmmviz.compare(self.data, "within_between", optimizers=self._library)

    @cached_property
    def clusters(self):
        from .landscape import comparison_frame

        return comparison_frame(self.compare_slope)

    @cached_property
    def curve_intercept(self):
        from .landscape import curve_1d

        return curve_1d(self.data, "intercept")

    @cached_property
    def curve_within_between(self):
        from .landscape import curve_1d

        return curve_1d(self.data, "within_between")

    @cached_property
    def map_slope(self):
        from .landscape import map_2d, optimizer_paths

        return map_2d(self.data, "slope", paths=optimizer_paths(self.compare_slope))

    @cached_property
    def slice_slope(self):
        from .landscape import slice_between

        return slice_between(self.data, self.fit_slope_pybobyqa.theta, self.fit_slope.theta, model="slope")

    @cached_property
    def profile_sd_slope(self):
        from .landscape import profile_interval

        return profile_interval(self.data, "sd_slope", model="slope", best_theta=self.fit_slope.theta)


@lru_cache(maxsize=1)
def seed_facts() -> Facts:
    """One :class:`Facts` for the seed data, shared by every session on purpose: it holds
    only engine results on the shipped seed, which are deterministic and never changed
    after they are computed (``cached_property`` computes each once)."""
    return Facts()


# --------------------------------------------------------------------------- steps


@dataclass(frozen=True)
class Claim:
    """A statement in a step's text, the numbers it covers as written there, and a
    check that recomputes it from engine results."""

    says: str
    numbers: tuple[str, ...]
    check: Callable[[Facts], bool] = field(repr=False)


@dataclass(frozen=True)
class Step:
    number: int
    title: str
    text: str  # Markdown, a few sentences
    look: str  # where to look in the app, one line
    params: Mapping[str, str] = field(hash=False)  # the app state as URL query parameters, read-only
    claims: tuple = ()

    def link(self, base: str = "") -> str:
        """The share link of this step (``base`` is the app's address, if known)."""
        return f"{base}?{urlencode(self.params)}"


def _params(step: int, **kw: str) -> Mapping[str, str]:
    """A step's link parameters, read-only: the steps are shared by every session."""
    return MappingProxyType({"src": "seed", **kw, "tour": str(step)})


def _theta_diag_zero(fit) -> bool:
    return fit.theta[2] < 1e-4 and fit.singular


def _start_on_map(f: Facts) -> tuple[float, float]:
    from .landscape import theta_coords

    c = theta_coords("slope", [f.compare_slope.start]).iloc[0]
    return float(c["sd_int"]), float(c["sd_slope"])


def _cluster_members(f: Facts, crit: str) -> list[str]:
    c = f.clusters
    return list(c[[rounds_to(v, crit) for v in c["criterion"]]]["optimizer"])


def _near_local(f: Facts) -> list[str]:
    c = f.clusters
    return list(c[(c["criterion"] > 101.3) & (c["criterion"] < 101.5)]["optimizer"])


STEPS: tuple[Step, ...] = (
    Step(
        1, "The data and the paradox",
        "Three subjects each took four doses of a painkiller: subject 1 took doses 1 to 4, subject 2 "
        "doses 26 to 29 and subject 3 doses 51 to 54. **Within every subject, pain falls as the dose "
        "rises**, by 7.47, 6.27 and 10.94 points per unit (the per-subject lines). But the subjects who "
        "took more had far more pain to begin with, so one straight line through all 12 points (pooled "
        "OLS) **rises**, by +7.86 per unit. Same data, opposite signs: that is Simpson's paradox. The "
        "dose effect we care about is the within-subject one; the question is which models recover it.",
        "The Fit tab: the dashed pooled line against the three per-subject lines.",
        _params(1, models="pooled,per_group", tab="fit"),
        (
            Claim("three subjects, four doses each, 12 points",
                  ("1", "2", "3", "12"),
                  lambda f: f.per_group.shape[0] == 3 and list(f.per_group["n"]) == [4, 4, 4]
                  and f.data.n_obs == 12 and list(f.per_group["group"]) == ["1", "2", "3"]),
            Claim("the dose ranges 1-4, 26-29 and 51-54", ("1", "4", "26", "29", "51", "54"),
                  lambda f: list(zip(f.per_group["x_min"], f.per_group["x_max"])) == [(1, 4), (26, 29), (51, 54)]),
            Claim("within-subject slopes -7.47, -6.27 and -10.94", ("7.47", "6.27", "10.94"),
                  lambda f: [round(s, 2) for s in f.per_group["slope"]] == [-7.47, -6.27, -10.94]),
            Claim("the pooled OLS slope is +7.86", ("7.86",),
                  lambda f: rounds_to(f.pooled.slope, "+7.86")),
        ),
    ),
    Step(
        2, "Random intercept: a baseline per subject, one shared slope",
        "The random-intercept model gives every subject its own baseline pain, drawn from a normal "
        "distribution, and makes all subjects share **one** dose slope. Its REML criterion is 77.41 and "
        "its slope is **−8.16**: negative, like the lines inside each subject. Why? The baselines differ "
        "enormously (their SD is about 402 points, against a residual SD of 2.91), so the model lets "
        "every subject keep its own level, and the only information left about the dose is how pain "
        "changes *inside* each subject. One warning already: this criterion has a second, worse dip at "
        "101.88, where subjects barely differ and the slope is +7.56. An optimizer that starts at "
        "θ = 1, as statsmodels does, stops there.",
        "The Fit tab's random-intercept summary; then the Landscape tab for this model: two dips.",
        _params(2, models="pooled,per_group,intercept", tab="fit"),
        (
            Claim("REML criterion 77.41, slope -8.16", ("77.41", "8.16"),
                  lambda f: rounds_to(f.fit_intercept.criterion, "77.41")
                  and rounds_to(f.fit_intercept.slope, "-8.16")),
            Claim("subject SD about 402, residual SD 2.91", ("402", "2.91"),
                  lambda f: rounds_to(f.fit_intercept.varcorr[0].sdcor, "402")
                  and rounds_to(f.fit_intercept.sigma, "2.91")),
            Claim("a second minimum of the criterion at 101.88 with slope +7.56", ("101.88", "7.56"),
                  lambda f: any(rounds_to(c, "101.88") for c in f.curve_intercept.minima["criterion"])
                  and rounds_to(f.lmmviz.fit_at(f.data, "intercept", [float(
                      f.curve_intercept.minima.loc[f.curve_intercept.minima["criterion"].idxmax(), "theta"])]
                  ).slope, "+7.56")),
            Claim("every optimizer started at θ = 1 stops at 101.88", ("1", "101.88"),
                  lambda f: all(rounds_to(e.fit.criterion, "101.88") for e in f.compare_intercept_from_one.entries
                                if e.fit is not None)),
        ),
    ),
    Step(
        3, "Random slope: stuck at 101.34, and it says OK",
        "Now let every subject have its own slope as well. Fitted with Py-BOBYQA (the algorithm behind "
        "lme4's `bobyqa`) from lme4's start θ = (1, 0, 1), the fit stops at a REML criterion of "
        "**101.34** with a slope of **+7.20**: the wrong sign is back. The summary holds the clues: the "
        "fit is *singular* (a variance parameter, one entry of θ, sits at its limit 0), the correlation between intercepts and slopes is "
        "−1, and yet the optimizer reports success (\"rho has reached rhoend\"). A simple check proves "
        "it is not the best fit: the random-slope model contains the random-intercept model (set the "
        "slope SD to 0), which reached 77.41, so the random slope can always do at least that well. "
        "101.34 cannot be its minimum.",
        "The Fit tab's random-slope summary and diagnostics; the Random effects tab shows the "
        "subjects' lines forced onto one straight trade-off.",
        _params(3, models="pooled,slope", opt="pybobyqa", tab="fit"),
        (
            Claim("lme4's start for the random slope is θ = (1, 0, 1)", ("1", "0", "1"),
                  lambda f: tuple(f.fit_slope_pybobyqa.optsum.initial) == (1.0, 0.0, 1.0)),
            Claim("Py-BOBYQA stops at 101.34 with slope +7.20", ("101.34", "7.20"),
                  lambda f: rounds_to(f.fit_slope_pybobyqa.criterion, "101.34")
                  and rounds_to(f.fit_slope_pybobyqa.slope, "+7.20")),
            Claim("singular: one entry of θ is 0", ("0",), lambda f: _theta_diag_zero(f.fit_slope_pybobyqa)),
            Claim("correlation -1", ("1",),
                  lambda f: rounds_to(f.fit_slope_pybobyqa.varcorr[2].sdcor, "-1.00")),
            Claim("the optimizer reports success", (),
                  lambda f: f.fit_slope_pybobyqa.optsum.converged
                  and "rho has reached rhoend" in f.fit_slope_pybobyqa.optsum.returnvalue),
            Claim("with the slope SD set to 0 the random-slope model is the random-intercept model (77.41)",
                  ("0", "77.41", "101.34"),
                  lambda f: abs(f.deviance("slope")(np.array([f.fit_intercept.theta[0], 0.0, 0.0]))
                                - f.fit_intercept.criterion) < 1e-8
                  and rounds_to(f.fit_intercept.criterion, "77.41")
                  and f.fit_slope_pybobyqa.criterion > f.fit_intercept.criterion),
        ),
    ),
    Step(
        4, "The landscape: why it stopped there",
        "The map shows the REML criterion over the two random-effect SDs (each divided by the residual "
        "SD), with the correlation set to its best value at every point. It has **two basins**: a "
        "shallow one at 101.34, where the intercept SD is about 2.5 residual SDs, and a deep one at "
        "**68.07**, where it is about 393. Each line is one optimizer's path from the start (square, at "
        "1 and 1) to where it stopped (diamond). On the straight line from 101.34 to 68.07 the criterion "
        "first *rises* by 0.54 and only then falls by 33.8: an optimizer sitting at 101.34 sees only "
        "uphill around it, so it stops. Optimizers that took big early steps, such as NLopt's BOBYQA "
        "and SciPy's Powell, jumped over the ridge and found 68.07.",
        "The Landscape tab: the map with the paths, then the slice between the two optima.",
        _params(4, models="slope", opt="pybobyqa", tab="landscape"),
        (
            Claim("the map has two minima, 68.07 and 101.34", ("68.07", "101.34"),
                  lambda f: len(f.map_slope.minima) == 2
                  and rounds_to(f.map_slope.minima["criterion"].iloc[0], "68.07")
                  and rounds_to(f.map_slope.minima["criterion"].iloc[1], "101.34")),
            Claim("the intercept SD is about 2.5 and about 393 residual SDs there", ("2.5", "393"),
                  lambda f: rounds_to(f.map_slope.minima["sd_int"].iloc[1], "2.5")
                  and rounds_to(f.map_slope.minima["sd_int"].iloc[0], "393")),
            Claim("the start sits at 1 and 1 on the map", ("1",),
                  lambda f: _start_on_map(f) == (1.0, 1.0)),
            Claim("the straight path rises 0.54 before it falls 33.8", ("0.54", "33.8", "101.34", "68.07"),
                  lambda f: rounds_to(f.slice_slope.barrier_a, "0.54") and rounds_to(f.slice_slope.barrier_b, "33.8")),
            Claim("NLopt's BOBYQA and SciPy's Powell find 68.07", ("68.07",),
                  lambda f: {"nlopt_bobyqa", "scipy_powell"} <= set(_cluster_members(f, "68.07"))),
        ),
    ),
    Step(
        5, "Compare optimizers, and what to report",
        "Run every optimizer from lme4's start and they split into two groups: 6 reach **68.07** with a "
        "slope of **−8.215**, and 10 stop near **101.34** with **+7.20**, lme4's `bobyqa` among them. Both "
        "groups report success. "
        "The lower criterion wins: 68.07 is the REML estimate and the others are local optima. Starting "
        "every optimizer from the current estimate instead (what newer versions of lme4's `allFit` do by default) "
        "can hide this: started at 101.34, all 15 single-run optimizers agree on 101.34, and only the robust "
        "default, which also tries starts of its own, still finds 68.07. A careful analyst fits with several "
        "optimizers or starts, reports the lowest criterion and which optimizers found it, reads a "
        "singular fit or a correlation of ±1 as a warning rather than a result, and says how much the "
        "answer depends on the random-effects structure.",
        "The Compare optimizers tab: the table, the dot plot, and the start switch.",
        _params(5, models="slope", opt="pybobyqa", tab="compare"),
        (
            # the optimum's slope is -8.2150 (lme4: -8.2150): shown to 3 decimals and checked with
            # a tolerance, so that the last bit of an optimizer's stop cannot flip the shown digit
            Claim("6 optimizers reach 68.07 with slope -8.215", ("6", "68.07", "8.215"),
                  lambda f: len(_cluster_members(f, "68.07")) == 6
                  and all(abs(s + 8.215) < 1e-3 for s in f.clusters[f.clusters["optimum"] == 1]["slope"])),
            Claim("10 stop near 101.34 with slope +7.20, lme4's bobyqa among them", ("10", "101.34", "7.20"),
                  lambda f: len(_near_local(f)) == 10 and "lme4:bobyqa" in _near_local(f)
                  and rounds_to(f.clusters[f.clusters["optimizer"] == "pybobyqa"]["slope"].iloc[0], "+7.20")),
            Claim("both groups report success (the best of each)", (),
                  lambda f: all(e.fit.optsum.converged for e in f.compare_slope.entries
                                if e.optimizer in ("scipy_powell", "pybobyqa"))),
            Claim("started at 101.34, all 15 single-run optimizers agree on 101.34; the robust default "
                  "still finds 68.07", ("101.34", "15", "68.07"),
                  lambda f: len([e for e in f.compare_slope_from_local.entries if e.optimizer != "robust"]) == 15
                  and all(e.fit is not None and rounds_to(e.fit.criterion, "101.34")
                          for e in f.compare_slope_from_local.entries if e.optimizer != "robust")
                  and any(e.optimizer == "robust" and rounds_to(e.fit.criterion, "68.07")
                          for e in f.compare_slope_from_local.entries)),
            Claim("a correlation of ±1 is a warning", ("1",),
                  lambda f: any(d.code == "corr_one" for d in f.fit_slope_pybobyqa.diagnostics)),
        ),
    ),
    Step(
        6, "Why three subjects cannot pin down a random-slope variance",
        "The random-slope part of the model has three parameters of its own (the SD of intercepts, the "
        "SD of slopes and their correlation), and the data hold only three subjects, that is three "
        "intercept–slope pairs. Even for plain numbers, an SD estimated from three values is very "
        "uncertain: its 95% interval runs from about half to about six times the estimate. Here the "
        "REML criterion stays within 3.84 of its minimum (the usual 95% cut-off) for any ratio "
        "σ_slope/σ from about 0.6 to about 9, a factor of 16. So the data say that the slopes differ, "
        "not by how much; and the correlation, −0.81 in the best fit, is even less determined. With so "
        "few groups, prefer the within-between model (next step), or treat the subjects as fixed effects.",
        "The Landscape tab: the long, flat valley of the map along the slope-SD axis.",
        _params(6, models="slope", tab="landscape"),
        (
            Claim("an SD from three values: 95% interval from about half to about six times", ("95",),
                  lambda f: _chi2_sd_factors() == ("0.5", "6")),
            Claim("3.84 is the 95% cut-off of a chi-square with one degree of freedom", ("3.84", "95"),
                  lambda f: rounds_to(__import__("scipy.stats", fromlist=["chi2"]).chi2.ppf(0.95, 1), "3.84")),
            Claim("the profile interval of sigma_slope/sigma runs from about 0.6 to about 9, a factor of 16",
                  ("0.6", "9", "16"),
                  lambda f: rounds_to(f.profile_sd_slope[0], "0.6") and rounds_to(f.profile_sd_slope[1], "9")
                  and rounds_to(f.profile_sd_slope[1] / f.profile_sd_slope[0], "16")),
            Claim("the correlation is -0.81 in the best fit", ("0.81",),
                  lambda f: rounds_to(f.fit_slope.varcorr[2].sdcor, "-0.81") and rounds_to(f.fit_slope.criterion, "68.07")),
        ),
    ),
    Step(
        7, "Within-between: both effects in one model",
        "Split the dose into two predictors: each subject's average dose (*between*) and each dose's "
        "distance from that average (*within*). The within-between model estimates a within-subject "
        "slope of **−8.23**, exactly the average of the three subjects' own slopes, and a "
        "between-subject slope of **+7.90**: subjects who take more have more pain, which is what the "
        "pooled line (+7.86) was mostly measuring. Both are real; they answer different questions. The "
        "pooled line mixes them, and the random-slope fit at 101.34 picked the wrong one. This model has "
        "a single variance to estimate, its criterion has a single minimum (64.17), and every optimizer "
        "that runs agrees. (REML criteria of models with different fixed effects cannot be compared, so "
        "do not read 64.17 against 68.07.)",
        "The Fit tab: the within-between summary next to the pooled and per-subject lines.",
        _params(7, models="pooled,per_group,within_between", tab="fit"),
        (
            Claim("within slope -8.23, the mean of the per-subject slopes", ("8.23",),
                  lambda f: rounds_to(f.fit_within_between.beta[1], "-8.23")
                  and abs(f.fit_within_between.beta[1] - f.per_group["slope"].mean()) < 1e-8),
            Claim("between slope +7.90, close to the pooled +7.86", ("7.90", "7.86"),
                  lambda f: rounds_to(f.fit_within_between.beta[2], "+7.90") and rounds_to(f.pooled.slope, "+7.86")),
            Claim("one minimum at 64.17, every optimizer that runs agrees", ("64.17",),
                  lambda f: len(f.curve_within_between.minima) == 1
                  and rounds_to(f.curve_within_between.minima["criterion"].iloc[0], "64.17")
                  and all(e.verdict == "best" for e in f.compare_within_between.entries if e.fit is not None)),
            Claim("the random-slope fits are 101.34 and 68.07", ("101.34", "68.07"),
                  lambda f: rounds_to(f.fit_slope.criterion, "68.07")
                  and rounds_to(f.fit_slope_pybobyqa.criterion, "101.34")),
        ),
    ),
)


def _chi2_sd_factors() -> tuple[str, str]:
    """95% interval of an SD from 3 normal values, as multiples of the estimate,
    rounded the way the text says them ("about half", "about six")."""
    from scipy.stats import chi2

    lo = math.sqrt(2 / chi2.ppf(0.975, 2))
    hi = math.sqrt(2 / chi2.ppf(0.025, 2))
    return f"{round(lo * 2) / 2:g}", f"{round(hi):g}"


def step(number: int) -> Step:
    """Step ``number`` (1..7); out-of-range numbers are clamped."""
    return STEPS[min(max(int(number), 1), N_STEPS) - 1]


def check(s: Step, facts: Facts | None = None) -> list[tuple[Claim, bool]]:
    """Evaluate every claim of a step against engine results (seed data by default)."""
    f = facts or seed_facts()
    out = []
    for c in s.claims:
        try:
            ok = bool(c.check(f))
        except Exception:  # a claim that cannot be computed is a failed claim
            ok = False
        out.append((c, ok))
    return out
