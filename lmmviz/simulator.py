"""The Simpson's-paradox simulator: settings in, a frame of subject_id, dosage, pain out.

The app, the CLI (``lmmviz simulate``), share links and exported code all use these
settings and presets, so the same settings give the same rows everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from .errors import DataError


@dataclass(frozen=True)
class SimulationSettings:
    """Settings of the Simpson's-paradox generator (the app and the CLI share it).

    Subject i takes ``n_obs`` doses spread evenly over ``dose_range`` starting at
    ``i * dose_spacing``. Its baseline pain (at dose 0) is ``intercept +
    confounding * start_dose + N(0, baseline_sd)``; within the subject pain changes
    by ``slope + N(0, slope_sd)`` per unit of dose; residuals are ``N(0, sigma)``.
    """

    n_subjects: int = 3
    n_obs: int = 4
    dose_spacing: float = 25.0
    dose_range: float = 3.0
    confounding: float = 17.0
    slope: float = -8.0
    slope_sd: float = 0.5
    sigma: float = 3.0
    intercept: float = 100.0
    baseline_sd: float = 10.0
    seed: int = 1

    def check(self) -> None:
        if not (2 <= self.n_subjects <= 200_000):
            raise DataError("number of subjects must be between 2 and 200,000")
        if not (1 <= self.n_obs <= 10_000):
            raise DataError("observations per subject must be between 1 and 10,000")
        if self.n_subjects * self.n_obs > 20_000_000:
            raise DataError("at most 20 million rows can be simulated")
        for name in ("dose_spacing", "dose_range", "confounding", "slope", "slope_sd", "sigma",
                     "intercept", "baseline_sd"):
            v = getattr(self, name)
            if not np.isfinite(v) or abs(v) > 1e6:
                raise DataError(f"the {_SIM_WORDS[name]} ({name}) must be a finite number below 1e6 in size")
        if not 0 <= int(self.seed) < 2**63:
            raise DataError("the seed must be a whole number from 0 to 2**63 - 1")
        if self.slope_sd < 0 or self.sigma < 0 or self.baseline_sd < 0 or self.dose_range < 0:
            raise DataError("standard deviations and the dose range cannot be negative")


_SIM_WORDS = MappingProxyType({"dose_spacing": "spacing of subjects' doses", "dose_range": "dose range of each subject",
              "confounding": "confounding", "slope": "within-subject slope", "slope_sd": "SD of slopes",
              "sigma": "residual SD", "intercept": "baseline at dose 0", "baseline_sd": "SD of baselines"})


PRESETS: Mapping[str, SimulationSettings] = MappingProxyType({
    "classic": SimulationSettings(n_subjects=5, n_obs=6, seed=7),
    "no_confounding": SimulationSettings(n_subjects=8, n_obs=6, confounding=0.0, dose_spacing=2.0, seed=3),
    "few_subjects": SimulationSettings(n_subjects=3, n_obs=5, seed=11),
    "many_subjects": SimulationSettings(n_subjects=200, n_obs=5, dose_spacing=0.5, seed=5),
    "varying_slopes": SimulationSettings(n_subjects=12, n_obs=8, slope_sd=6.0, dose_spacing=8.0, seed=2),
    "singular": SimulationSettings(n_subjects=6, n_obs=4, slope_sd=0.0, baseline_sd=0.0,
                                   confounding=0.0, dose_spacing=0.0, sigma=5.0, seed=4),
})

PRESET_LABELS: Mapping[str, str] = MappingProxyType({
    "classic": "Classic Simpson's paradox",
    "no_confounding": "No confounding",
    "few_subjects": "Few subjects (3)",
    "many_subjects": "Many subjects (200)",
    "varying_slopes": "Slopes that vary a lot",
    "singular": "Singular fit (no subject variation)",
})


def simulate(settings: SimulationSettings | None = None, **overrides) -> pd.DataFrame:
    """Simulate Simpson's-paradox data; deterministic for a given ``seed``.

    Returns a frame with columns ``subject_id`` (text), ``dosage`` and ``pain``.
    """
    s = settings or SimulationSettings()
    if overrides:
        s = SimulationSettings(**{**s.__dict__, **overrides})
    s.check()
    rng = np.random.default_rng(int(s.seed))
    g, m = int(s.n_subjects), int(s.n_obs)
    start = np.arange(g) * s.dose_spacing
    steps = np.linspace(0.0, s.dose_range, m) if m > 1 else np.zeros(1)
    dose = (start[:, None] + steps[None, :]).ravel()
    baseline = s.intercept + s.confounding * start + rng.normal(0.0, s.baseline_sd, g) if s.baseline_sd else (
        s.intercept + s.confounding * start)
    slopes = s.slope + (rng.normal(0.0, s.slope_sd, g) if s.slope_sd else np.zeros(g))
    noise = rng.normal(0.0, s.sigma, g * m) if s.sigma else np.zeros(g * m)
    pain = np.repeat(baseline, m) + np.repeat(slopes, m) * dose + noise
    width = len(str(g))
    labels = np.array([str(i + 1).zfill(width) for i in range(g)], dtype=object)
    return pd.DataFrame(
        {"subject_id": np.repeat(labels, m), "dosage": np.round(dose, 4), "pain": np.round(pain, 3)}
    )


__all__ = ["SimulationSettings", "PRESETS", "PRESET_LABELS", "simulate"]
