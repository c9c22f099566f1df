"""The Simpson's-paradox simulator (lmmviz.simulator): exact rows for a seed, the
generator's formula without noise, presets, refusals, and the old import path."""

from __future__ import annotations

import numpy as np
import pytest

import lmmviz
from lmmviz.errors import DataError
from lmmviz.simulator import PRESET_LABELS, PRESETS, SimulationSettings, simulate


def test_default_settings_give_these_rows():
    """Pinned rows: a change to the generator (order of draws, rounding) changes every
    share link and exported script that relies on the seed, so it must show here."""
    f = simulate()
    assert list(f.columns) == ["subject_id", "dosage", "pain"]
    assert f["subject_id"].tolist() == ["1"] * 4 + ["2"] * 4 + ["3"] * 4
    assert f["dosage"].tolist() == [0, 1, 2, 3, 25, 26, 27, 28, 50, 51, 52, 53]
    assert f["pain"].tolist() == [101.845, 96.548, 87.246, 78.384, 344.618, 338.626, 327.229, 321.402,
                                  563.017, 558.483, 549.029, 540.256]
    assert simulate(seed=1).equals(f) and not simulate(seed=2).equals(f)


def test_without_noise_the_rows_are_the_formula():
    """baseline = intercept + confounding * start dose; pain = baseline + slope * dose."""
    s = SimulationSettings(n_subjects=3, n_obs=2, dose_spacing=10.0, dose_range=4.0, confounding=2.0,
                           slope=-1.5, slope_sd=0.0, sigma=0.0, baseline_sd=0.0, intercept=50.0)
    f = simulate(s)
    assert f["dosage"].tolist() == [0.0, 4.0, 10.0, 14.0, 20.0, 24.0]
    assert f["pain"].tolist() == [50.0, 44.0, 55.0, 49.0, 60.0, 54.0]


def test_presets_have_labels_and_their_sizes():
    assert set(PRESET_LABELS) == set(PRESETS)
    many = simulate(PRESETS["many_subjects"])
    assert many.shape == (1000, 3)
    # Labels are zero-padded so that they sort as numbers.
    assert (many["subject_id"].iloc[0], many["subject_id"].iloc[-1]) == ("001", "200")
    data = lmmviz.frame_to_data(simulate(PRESETS["singular"]))
    assert (data.n_obs, len(set(data.groups))) == (24, 6)


def test_simulator_refusal_names_the_setting_in_words():
    with pytest.raises(DataError, match=r"^the residual SD \(sigma\) must be a finite number"):
        SimulationSettings(sigma=float("inf")).check()
    with pytest.raises(DataError, match=r"^the spacing of subjects' doses \(dose_spacing\)"):
        SimulationSettings(dose_spacing=2e6).check()
    with pytest.raises(DataError, match="number of subjects must be between 2 and 200,000"):
        simulate(n_subjects=1)
    with pytest.raises(DataError, match="cannot be negative"):
        simulate(sigma=-1.0)


def test_old_import_paths_still_work():
    """cli.py, codegen.py and share.py import the simulator from lmmviz.data."""
    from lmmviz import data

    assert data.simulate is simulate and data.SimulationSettings is SimulationSettings
    assert data.PRESETS is PRESETS and data.PRESET_LABELS is PRESET_LABELS
    assert lmmviz.simulate is simulate and lmmviz.PRESETS is PRESETS
    assert np.isfinite(lmmviz.simulate(PRESETS["classic"])["pain"]).all()
