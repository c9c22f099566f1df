"""The same answer on every machine: lmmviz.numerics and fits under other CPUs' code paths.

numpy picks OpenBLAS kernels (OPENBLAS_CORETYPE) and its own SIMD loops (NPY_DISABLE_CPU_FEATURES)
by the CPU it runs on; setting those variables makes this machine compute as an older one would.
Before lmmviz.numerics, the seed's lme4:bobyqa twin took 80 evaluations on an Intel SkylakeX
server, 89 on an AMD EPYC and 97 on a pre-AVX machine, and the robust default 61, 82 and 61.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import mpmath
import numpy as np
import pytest

from lmmviz import numerics
from lmmviz.optimizers import REGISTRY

REPO = Path(__file__).resolve().parents[1]

# Optimizers whose every step is lmmviz's criterion and NLopt's or SciPy's pure code give the same
# bits everywhere. Py-BOBYQA, COBYQA and SciPy's L-BFGS-B (lme4's optimx twin too) call LAPACK/BLAS
# inside the algorithm, so their last bits and evaluation counts follow the machine: the registry
# says which (OptimizerInfo.same_everywhere), and the app and `lmmviz optimizers` tell the user.
EXACT = ("robust",) + tuple(name for name, info in REGISTRY.items() if info.same_everywhere)

FITS = r"""
import json, sys
import lmmviz
from lmmviz.data import SimulationSettings, frame_to_data, simulate
seed = lmmviz.load("lmmviz/examples/seed.csv")
sim = frame_to_data(simulate(SimulationSettings(n_subjects=400, n_obs=6, seed=7)))
out = {}
for label, data, model, names in [("seed slope", seed, "slope", sys.argv[1:]),
                                  ("seed intercept", seed, "intercept", ["robust", "lme4:bobyqa"]),
                                  ("400 groups slope", sim, "slope", ["robust", "lme4:bobyqa"])]:
    for name in names:
        f = lmmviz.fit(data, model, optimizer=name)
        out[f"{label} {name}"] = [float(f.criterion).hex(), [float(t).hex() for t in f.theta],
                                  [float(b).hex() for b in f.fixef.values()], f.evaluations]
print(json.dumps(out))
"""

# Code paths other CPUs take: OpenBLAS's SSE-only kernels (any x86-64 has them) and numpy without
# its AVX2/AVX-512 loops.
MACHINES = {
    "this machine": {},
    "OpenBLAS Nehalem kernels": {"OPENBLAS_CORETYPE": "Nehalem"},
    "numpy without AVX2 or AVX-512": {"NPY_DISABLE_CPU_FEATURES": "X86_V3 X86_V4 AVX512_ICL"},
}


def _fits_on(env: dict) -> dict:
    run = subprocess.run([sys.executable, "-c", FITS, *EXACT], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, **env}, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout)


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="the emulated kernels are x86-64's")
def test_fits_are_bit_identical_under_other_cpus_code_paths():
    with ThreadPoolExecutor(2) as pool:
        results = dict(zip(MACHINES, pool.map(_fits_on, MACHINES.values())))
    here = results["this machine"]
    assert len(EXACT) == 12 and len(here) == len(EXACT) + 4
    # the fits are the right ones (lme4's best optimum on the seed: REML 68.0749, slope -8.215)
    crit, _, fixef, _ = here["seed slope robust"]
    assert float.fromhex(crit) <= 68.0749203963088 + 1e-9  # lme4 Nelder-Mead's, or lower
    assert float.fromhex(fixef[1]) == pytest.approx(-8.2150, abs=1e-3)
    assert float.fromhex(here["seed intercept robust"][0]) == pytest.approx(77.41130269066, abs=1e-8)  # lme4's
    for machine, got in results.items():
        diff = {k: (here[k], got[k]) for k in here if got[k] != here[k]}
        assert not diff, f"{machine}: {diff}"


def test_log_is_correctly_rounded():
    rng = np.random.default_rng(5)
    xs = np.concatenate([rng.uniform(0.5, 1.0, 2000), np.exp(rng.uniform(-700, 700, 2000)), [1.0, 2.0, 1e-310]])
    mpmath.mp.prec = 200
    for x in xs:
        assert numerics.log(x) == float(mpmath.log(mpmath.mpf(float(x)))), x
    assert numerics.log(0.0) == -math.inf and math.isnan(numerics.log(-1.0)) and numerics.log(math.inf) == math.inf


def test_sum_log_is_the_sum_of_logs():
    rng = np.random.default_rng(6)
    for n in (1, 2, 3, 7, 1000, 100_001):
        x = np.exp(rng.normal(0, 30, n))
        mpmath.mp.prec = 200
        exact = float(mpmath.fsum(mpmath.log(mpmath.mpf(float(v))) for v in x[:2000])) if n <= 2000 else None
        got = numerics.sum_log(x)
        if exact is not None:
            assert got == pytest.approx(exact, rel=0, abs=1e-15 * n * max(1.0, float(np.abs(np.log(x)).max())))
        assert got == pytest.approx(math.fsum(np.log(x)), rel=1e-12, abs=1e-9)
    assert numerics.sum_log(np.array([1e-300] * 5000)) == pytest.approx(5000 * math.log(1e-300), rel=1e-14)
    assert numerics.sum_log(np.array([])) == 0.0
    assert numerics.sum_log(np.array([2.0, 0.0])) == -math.inf


def test_gram_and_cholesky_agree_with_lapack():
    rng = np.random.default_rng(7)
    b1, b2 = rng.normal(size=(5000, 3)), rng.normal(size=(5000, 3))
    np.testing.assert_allclose(numerics.gram(b1, b2), b1.T @ b1 + b2.T @ b2, rtol=1e-12)
    for k in (1, 2, 3, 4):
        a = rng.normal(size=(k + 3, k))
        spd = a.T @ a
        np.testing.assert_allclose(numerics.cholesky(spd), np.linalg.cholesky(spd), rtol=1e-12, atol=1e-14)
    with pytest.raises(np.linalg.LinAlgError):
        numerics.cholesky(np.array([[1.0, 2.0], [2.0, 1.0]]))
