"""One settings type (issue 12, part 2): OptimizerSettings is what the engine, the CLI, a
share link, the code export and the app's caches all read and write."""

from __future__ import annotations

import dataclasses
import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import lmmviz
from lmmviz.codegen import APP_MAX_SECONDS, FitRecipe, python_script, r_script
from lmmviz.optimizers import OptimizerSettings
from lmmviz.share import DEFAULT, LINK_SETTINGS, decode_state, encode_state

SEED = Path(__file__).parent / "fixtures" / "seed.csv"


def test_settings_are_frozen_hashable_picklable_and_plain():
    a = OptimizerSettings(start=[300, 0, np.float64(1.5)], maxeval=np.int64(500), initial_step=20.0,
                          optimizer="pybobyqa", reml=False)
    b = OptimizerSettings(start=(300.0, 0.0, 1.5), maxeval=500, initial_step=20.0, optimizer="pybobyqa", reml=False)
    assert a == b and hash(a) == hash(b) and {a: 1}[b] == 1  # one cache entry, however it was built
    assert type(a.maxeval) is int and all(type(v) is float for v in a.start)
    back = pickle.loads(pickle.dumps(a))
    assert back == a and back.start == (300.0, 0.0, 1.5) and back.optimizer == "pybobyqa" and back.reml is False
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.maxeval = 1  # type: ignore[misc]
    assert a != dataclasses.replace(a, reml=True)
    # the defaults are lmmviz's: the robust default, REML, 10,000 evaluations per run, 60 s safety limit
    d = OptimizerSettings()
    assert (d.optimizer, d.reml, d.maxeval, d.max_seconds, d.start) == ("robust", True, 10_000, 60.0, None)


def test_one_start_serves_only_the_models_it_fits():
    s = OptimizerSettings(start=(1, 0, 1), maxeval=50)
    assert s.for_model("slope") is s
    assert s.for_model("intercept") == dataclasses.replace(s, start=None)
    assert s.for_model("uncorrelated").start is None
    assert OptimizerSettings(start=(2.5,)).for_model("within_between").start == (2.5,)


def test_fit_reads_the_optimizer_and_reml_from_the_settings():
    seed = lmmviz.seed()
    from_settings = lmmviz.fit(seed, "slope", settings=OptimizerSettings(optimizer="pybobyqa"))
    as_arguments = lmmviz.fit(seed, "slope", optimizer="pybobyqa")
    assert from_settings.optimizer == "pybobyqa" and from_settings.reml is True
    assert from_settings.criterion == as_arguments.criterion == pytest.approx(101.34, abs=0.005)  # the local optimum
    assert lmmviz.fit(seed, "slope").criterion == pytest.approx(68.07, abs=0.005)  # robust default: the global one
    ml = lmmviz.fit(seed, "intercept", settings=OptimizerSettings(reml=False))
    assert ml.reml is False and ml.criterion == lmmviz.fit(seed, "intercept", reml=False).criterion
    # an argument given explicitly wins over the settings
    over = lmmviz.fit(seed, "intercept", reml=True, settings=OptimizerSettings(reml=False))
    assert over.reml is True and over.criterion == pytest.approx(77.411303, abs=1e-5)
    cmp = lmmviz.compare(seed, "intercept", settings=OptimizerSettings(reml=False),
                         optimizers=("nlopt_bobyqa",))
    assert cmp.reml is False and cmp.entries[0].fit.criterion == pytest.approx(ml.criterion, abs=1e-6)


LINK = {"opt": "pybobyqa", "ml": "1", "start": "300,0,1.5", "step": "20", "ftol": "1e-10", "xtol": "2e-09",
        "maxeval": "777"}


def test_a_link_reads_into_the_settings_and_back_unchanged():
    state, notices = decode_state(LINK)
    assert notices == []
    s = state.settings
    assert s == OptimizerSettings(start=(300.0, 0.0, 1.5), initial_step=20.0, ftol_abs=1e-10, xtol_abs=2e-9,
                                  maxeval=777, max_seconds=APP_MAX_SECONDS, optimizer="pybobyqa", reml=False)
    back = dataclasses.replace(DEFAULT, ml=not s.reml, **{key: getattr(s, name) for key, name in LINK_SETTINGS.items()})
    assert back == state and encode_state(back) == LINK
    assert set(LINK_SETTINGS) | {"ml"} == set(LINK)  # every setting a link carries has its field
    assert DEFAULT.settings == OptimizerSettings(max_seconds=APP_MAX_SECONDS)


def test_the_code_export_writes_the_settings_it_is_given():
    state, _ = decode_state(LINK)
    rec = FitRecipe(y="pain", x="dosage", group="subject_id", models=("intercept", "slope"), settings=state.settings)
    py, r = python_script(rec), r_script(rec)
    assert ("settings=lmmviz.OptimizerSettings(start=(300.0, 0.0, 1.5,), maxeval=777, max_seconds=20.0, "
            "initial_step=20.0, ftol_abs=1e-10, xtol_abs=2e-09))") in py
    assert "fit_intercept = lmmviz.fit(data, 'intercept', reml=False, optimizer=optimizer," in py
    assert "optimizer = 'pybobyqa'" in py
    # the start fits only the random-slope model; minqa's bobyqa gets maxfun, rhobeg and rhoend
    assert 'lmerControl(optimizer = "bobyqa", optCtrl = list(maxfun = 777, rhobeg = 20, rhoend = 2e-09))' in r
    assert r.count("start = list(theta = c(300, 0, 1.5))") == 1 and "REML = FALSE" in r


def test_the_cli_builds_the_same_settings_as_the_engine_gets():
    out = subprocess.run([sys.executable, "-m", "lmmviz", "fit", str(SEED), "--y", "pain", "--x", "dosage",
                          "--group", "subject_id", "--model", "intercept", "--optimizer", "nlopt_bobyqa", "--ml",
                          "--maxeval", "300", "--json"], capture_output=True, timeout=120)
    assert out.returncode == 0, out.stderr.decode()[-2000:]
    got = json.loads(out.stdout)
    want = lmmviz.fit(lmmviz.load(str(SEED), y="pain", x="dosage", group="subject_id"), "intercept",
                      settings=OptimizerSettings(optimizer="nlopt_bobyqa", reml=False, maxeval=300))
    assert got["optimizer"] == "nlopt_bobyqa" and got["reml"] is False
    assert got["criterion"] == pytest.approx(want.criterion, abs=1e-9)


def test_the_app_caches_get_one_settings_object():
    from lmmviz.ui import compute

    state, _ = decode_state(LINK)
    s = compute.fit_settings(state, "intercept")
    assert s.start is None and s.optimizer == "pybobyqa" and s.reml is False and s.maxeval == 777
    c = compute.compare_settings(state.settings, start=(1, 0, 1))
    # a comparison runs every optimizer from its own start, each for at most 10 s
    assert (c.start, c.optimizer, c.reml, c.max_seconds, c.maxeval, c.initial_step) == \
        ((1.0, 0.0, 1.0), "robust", False, compute.MAX_SECONDS_COMPARE, 777, 20.0)
    # the page's optimizer is not part of a comparison: one cache entry whichever is chosen
    other, _ = decode_state({**LINK, "opt": "nlopt_sbplx"})
    assert compute.compare_settings(other.settings) == compute.compare_settings(state.settings)
