"""Property-based tests (hypothesis) of the engine on small random data sets.

1. Robustness: on any small data set, ``lmmviz.fit`` returns a finite fit or raises
   ``DataError``, never another exception.
2. Invariances that theory makes exact. With X the fixed-effects design, Z the
   random-effects design, and lme4's profiled criterion:

   * shuffling rows or relabelling groups changes nothing;
   * y → y + a: criterion, θ, σ, slope unchanged, intercept + a (the intercept is in X);
   * y → c·y: θ unchanged, β → c·β, σ → |c|·σ, and the criterion shifts by exactly
     2·log|c| times (n − p) for REML or n for ML (the Gaussian densities of n
     residuals, of which p are used up by β under REML);
   * x → c·x + a, i.e. X → X·A with A = [[1, a], [0, c]]: under ML the criterion is
     unchanged; under REML log|X'V⁻¹X| gains 2·log|det A| = 2·log|c| (4·log|c| for
     within_between, where both x_within and x_mean scale). For the random-slope
     model Z → Z·A too, so the same fit is reached at Λ' = chol(A⁻¹ΛΛ'A⁻ᵀ): the
     criterion at Λ' equals the original one exactly (checked with ``fit_at``), and the
     optimum of the transformed data must be as good. The uncorrelated model is
     invariant to scaling only (a shift mixes intercept and slope effects);
   * stacking two copies of the data set with the copy's groups relabelled: under ML
     the profiled deviance doubles at every θ, so θ̂, β̂ and σ̂ are unchanged, the
     criterion doubles and SEs shrink by √2;
   * balanced data where every group has the same x values: GLS equals OLS for any θ
     (Z's columns lie in X's span within each group), so the fixed effects of the
     intercept, slope and uncorrelated models equal pooled OLS, also after every row
     is duplicated.

   Diagnostics that depend only on θ (singular fit, |Corr| ≈ 1, few groups) must not
   change under the transformations that leave θ unchanged.

Invariance data are generated from a well-conditioned mixed model (a seed drawn by
hypothesis), so that the optimum is unique; a failure is then a real finding (the
optimizer stopped elsewhere), not an artefact.
"""

from __future__ import annotations

import gzip
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

import lmmviz
from lmmviz import DataError
from lmmviz.data import GROUP_NA_MARKERS, MIN_SPREAD

MODELS = ("intercept", "slope", "uncorrelated", "within_between")
PROPS = settings(max_examples=40, deadline=None, derandomize=True, print_blob=True,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
FEW = settings(PROPS, max_examples=25)
THETA_DIAGNOSTICS = {"singular", "corr_one", "few_groups"}
# β from two runs on the same problem differ by the optimizer's stopping tolerance: for the
# random-slope model up to ~5e-6 relative (seen when relabelling groups), i.e. ~1e-5 SE.
# Allow 1e-4 standard errors (the engine's acceptance vs lme4 is 1e-3 SE).
FIXEF_SE_TOL = 1e-4


def make_data(g, x, y) -> lmmviz.Data:
    frame = pd.DataFrame({"g": np.asarray(g).astype(str), "x": np.asarray(x, float), "y": np.asarray(y, float)})
    return lmmviz.prepare(frame, y="y", x="x", group="g")


def n_fixef(model: str) -> int:
    return 3 if model == "within_between" else 2


def close(a: float, b: float, rel: float = 1e-6, abs_: float = 1e-6) -> bool:
    return abs(a - b) <= max(abs_, rel * max(abs(a), abs(b)))


def assert_close(a, b, what: str, rel: float = 1e-6, abs_: float = 1e-6) -> None:
    a, b = np.atleast_1d(np.asarray(a, float)), np.atleast_1d(np.asarray(b, float))
    assert a.shape == b.shape, what
    for u, v in zip(a, b):
        assert close(u, v, rel, abs_), f"{what}: {a} vs {b}"


def crit_tol(crit: float) -> float:
    """How far two optima of the same problem may differ: optimizer tolerances, not more."""
    return 1e-6 * max(1.0, abs(crit))


def opt_tol(crit: float) -> float:
    """Optima of equivalent problems whose deviance differs in rounding (x transformed, data
    stacked): the optimizer's path differs, and it stops within ~2e-6 relative (seen: 1.5e-4
    of 72). Distinct local optima are much further apart (0.04 of 115 in the seed-2881 case)."""
    return 1e-5 * max(1.0, abs(crit))


def assert_finite(fit) -> None:
    assert math.isfinite(fit.criterion)
    assert np.all(np.isfinite(fit.beta)) and np.all(np.isfinite(fit.theta))
    assert math.isfinite(fit.sigma) and fit.sigma >= 0
    assert np.all(np.isfinite(fit.se))


def theta_codes(fit) -> set[str]:
    return {d.code for d in fit.diagnostics} & THETA_DIAGNOSTICS


def _diagonal(model: str) -> tuple[int, ...]:
    from lmmviz.models import get_model

    return get_model(model).diagonal()


def near_singular_threshold(*fits) -> bool:
    """Some diagonal θ is small enough that a flat criterion lets it cross lme4's 1e-4
    singularity threshold between two runs on equivalent data (seen: 1.5e-3 and 2.9e-4)."""
    return any(0 < fit.theta[i] < 1e-2 for fit in fits for i in _diagonal(fit.model))


# --------------------------------------------------------------------------- data strategies

values = st.one_of(
    st.integers(-4, 4).map(float),  # ties: constant within groups, constant overall
    st.floats(-100, 100, allow_nan=False, allow_infinity=False),
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=32).map(float),
)


# Units: a column is offset + scale·value, as data in other units or far from zero are.
offsets = st.sampled_from([0.0, 0.0, 50.0, -1e4, 2e9])
scales = st.sampled_from([1.0, 1.0, 1e-3, 1e3, 1e-8, 1e8])


@st.composite
def raw_data(draw):
    """Any small data set: 2-8 groups of 1-8 rows, arbitrary x and y in arbitrary units."""
    G = draw(st.integers(2, 8))
    sizes = draw(st.lists(st.integers(1, 8), min_size=G, max_size=G))
    n = sum(sizes)
    g = np.repeat([f"g{i}" for i in range(G)], sizes)
    x = np.array(draw(st.lists(values, min_size=n, max_size=n)))
    y = np.array(draw(st.lists(values, min_size=n, max_size=n)))
    x = draw(offsets) + draw(scales) * x
    y = draw(offsets) + draw(scales) * y
    return g, x, y


def model_recipe(seed: int, G: int, m: int | None = None):
    """A random-slope data set: G subjects of 4-8 rows (m each if given), x spread within
    and between subjects, intercept SD 3, slope SD 0.7, residual SD 1."""
    rng = np.random.default_rng(seed)
    sizes = np.full(G, m) if m else rng.integers(4, 9, G)
    g = np.repeat([f"s{i}" for i in range(G)], sizes)
    x = np.repeat(rng.normal(0, 2, G), sizes) + rng.uniform(-2, 2, sizes.sum())
    u = np.repeat(rng.normal(0, 3, G), sizes)
    v = np.repeat(rng.normal(0, 0.7, G), sizes)
    y = 10 + u + (1.5 + v) * x + rng.normal(0, 1, sizes.sum())
    return g, x, np.round(y, 6)


@st.composite
def model_data(draw, balanced: bool = False, min_groups: int = 4):
    """Data drawn from a well-conditioned random-slope model; the RNG seed comes from hypothesis."""
    seed = draw(st.integers(0, 2**32 - 1))
    G = draw(st.integers(min_groups, 8))
    m = draw(st.integers(4, 8)) if balanced else None
    note(f"model_recipe(seed={seed}, G={G}, m={m})")
    return model_recipe(seed, G, m)


# --------------------------------------------------------------------------- 1. robustness


@settings(PROPS, max_examples=150)
@given(raw_data(), st.sampled_from(MODELS), st.booleans())
def test_fit_is_finite_or_refused(data, model, reml):
    g, x, y = data
    try:
        d = make_data(g, x, y)
        fit = lmmviz.fit(d, model, reml=reml)
    except DataError as err:
        msg = str(err)
        assert msg and "\n" not in msg
        event(f"refused: {msg.split(':')[0][:40]}")
        return
    event("fit")
    assert_finite(fit)
    assert fit.n_obs == len(y)


# --------------------------------------------------------------------------- 2. invariances


@FEW
@given(model_data(), st.sampled_from(MODELS), st.randoms(use_true_random=False))
def test_shuffling_rows_changes_nothing(data, model, rnd):
    g, x, y = data
    perm = list(range(len(y)))
    rnd.shuffle(perm)
    a = lmmviz.fit(make_data(g, x, y), model)
    b = lmmviz.fit(make_data(g[perm], x[perm], y[perm]), model)
    assert_close(b.criterion, a.criterion, "criterion", abs_=crit_tol(a.criterion))
    assert_close(b.beta, a.beta, "fixef", rel=1e-6, abs_=FIXEF_SE_TOL * float(np.max(a.se)))
    if not near_singular_threshold(a, b):
        assert theta_codes(a) == theta_codes(b)


@FEW
@given(model_data(), st.sampled_from(MODELS), st.randoms(use_true_random=False))
def test_relabelling_groups_changes_nothing(data, model, rnd):
    g, x, y = data
    old = sorted(set(g))
    new = [f"{rnd.randint(0, 10**6)}_{i}" for i in range(len(old))]
    rnd.shuffle(new)
    relabel = dict(zip(old, new))
    a = lmmviz.fit(make_data(g, x, y), model)
    b = lmmviz.fit(make_data([relabel[v] for v in g], x, y), model)
    assert_close(b.criterion, a.criterion, "criterion", abs_=crit_tol(a.criterion))
    assert_close(b.beta, a.beta, "fixef", rel=1e-6, abs_=FIXEF_SE_TOL * float(np.max(a.se)))
    if not near_singular_threshold(a, b):
        assert theta_codes(a) == theta_codes(b)
    # The conditional modes follow their groups.
    ra = a.ranef.set_index("group").iloc[:, 0]
    rb = b.ranef.set_index("group").iloc[:, 0]
    for label in old:
        assert close(ra[label], rb[relabel[label]], rel=1e-3, abs_=1e-3 * max(1.0, float(ra.abs().max())))


@FEW
@given(model_data(), st.sampled_from(MODELS), st.floats(-1e3, 1e3), st.booleans())
def test_shifting_y(data, model, shift, reml):
    g, x, y = data
    a = lmmviz.fit(make_data(g, x, y), model, reml=reml)
    b = lmmviz.fit(make_data(g, x, y + shift), model, reml=reml)
    assert_close(b.criterion, a.criterion, "criterion", abs_=crit_tol(a.criterion))
    assert_close(b.beta[0], a.beta[0] + shift, "intercept", rel=1e-5, abs_=1e-4 * max(1.0, a.se[0]))
    assert_close(b.beta[1:], a.beta[1:], "slopes", rel=1e-5, abs_=1e-4 * max(1.0, float(np.max(a.se))))
    assert_close(b.sigma, a.sigma, "sigma", rel=1e-4)
    if not near_singular_threshold(a, b):
        assert theta_codes(a) == theta_codes(b)


@FEW
@given(model_data(), st.sampled_from(MODELS),
       st.sampled_from([-1.0, 1e-3, 0.5, 3.0, -7.0, 1e3, 1e6]), st.booleans())
def test_scaling_y(data, model, c, reml):
    g, x, y = data
    a = lmmviz.fit(make_data(g, x, y), model, reml=reml)
    b = lmmviz.fit(make_data(g, x, c * y), model, reml=reml)
    n, p = len(y), n_fixef(model)
    expected = a.criterion + (n - p if reml else n) * 2 * math.log(abs(c))
    assert_close(b.criterion, expected, "criterion", abs_=crit_tol(a.criterion))
    assert_close(b.beta, c * a.beta, "fixef", rel=1e-4, abs_=1e-4 * abs(c) * max(1.0, float(np.max(a.se))))
    assert_close(b.sigma, abs(c) * a.sigma, "sigma", rel=1e-4)
    # θ is unchanged: a's θ is optimal for c·y too. Near the boundary the criterion is
    # too flat for θ itself to be compared (θ₂₂ = 3e-4 and 1.5e-3 give the same criterion).
    at = lmmviz.fit_at(make_data(g, x, c * y), model, a.theta, reml=reml)
    assert_close(at.criterion, expected, "criterion of c·y at the θ of y", abs_=crit_tol(a.criterion))
    if min(a.theta[i] for i in _diagonal(model)) > 1e-2:
        assert_close(b.theta, a.theta, "theta", rel=1e-3, abs_=1e-3)
    if not near_singular_threshold(a, b):
        assert theta_codes(a) == theta_codes(b)


@PROPS
@given(model_data(min_groups=3), st.booleans())
def test_nested_models_are_ordered(data, reml):
    """Same X, nested random effects: intercept ⊂ uncorrelated ⊂ slope (θ's extra entries 0),
    so each optimum is at most the smaller model's."""
    g, x, y = data
    fits = {}
    for model in ("intercept", "uncorrelated", "slope"):
        try:
            fits[model] = lmmviz.fit(make_data(g, x, y), model, reml=reml)
        except DataError:
            return
    event("all three fitted")
    tol = opt_tol(fits["intercept"].criterion)
    assert fits["uncorrelated"].criterion <= fits["intercept"].criterion + tol, fits
    assert fits["slope"].criterion <= fits["uncorrelated"].criterion + tol, fits


def lambda_of(model: str, theta) -> np.ndarray:
    t = list(theta)
    if model == "slope":
        return np.array([[t[0], 0.0], [t[1], t[2]]])
    if model == "uncorrelated":
        return np.array([[t[0], 0.0], [0.0, t[1]]])
    return np.array([[t[0]]])


def transformed_theta(model: str, theta, a: float, c: float) -> list[float]:
    """θ that gives the same fit after x → c·x + a (see the module docstring)."""
    if model in ("intercept", "within_between"):
        return list(theta)
    if model == "uncorrelated":
        assert a == 0
        return [theta[0], theta[1] / abs(c)]
    L = lambda_of(model, theta)
    Ainv = np.linalg.inv(np.array([[1.0, a], [0.0, c]]))
    S = Ainv @ L @ L.T @ Ainv.T
    l11 = math.sqrt(max(S[0, 0], 0.0))
    l21 = S[1, 0] / l11 if l11 > 0 else 0.0
    l22 = math.sqrt(max(S[1, 1] - l21**2, 0.0))
    return [l11, l21, l22]


def x_transform_check(data, model, a, c, reml) -> None:
    g, x, y = data
    d0, d1 = make_data(g, x, y), make_data(g, c * x + a, y)
    f0 = lmmviz.fit(d0, model, reml=reml)
    npx = 2 if model == "within_between" else 1
    shift = npx * 2 * math.log(abs(c)) if reml else 0.0
    # Exact identity at the corresponding θ (no optimizer involved).
    at = lmmviz.fit_at(d1, model, transformed_theta(model, f0.theta, a, c), reml=reml)
    assert_close(at.criterion, f0.criterion + shift, "criterion at the transformed θ", abs_=1e-7 * max(1, abs(f0.criterion)))
    # The optimizer on the transformed data must reach the same optimum.
    f1 = lmmviz.fit(d1, model, reml=reml)
    detail = (f"original {f0.criterion!r} θ={f0.theta}; transformed {f1.criterion!r} θ={f1.theta}, "
              f"expected {f0.criterion + shift!r} at θ={at.theta}")
    assert_close(f1.criterion, f0.criterion + shift, f"optimum after transforming x ({detail})",
                 abs_=opt_tol(f0.criterion))
    slope_names = slice(1, None)
    assert_close(np.asarray(f1.beta[slope_names]) * c, f0.beta[slope_names], "slopes",
                 rel=1e-3, abs_=1e-3 * max(1.0, float(np.max(f0.se))))


@FEW
@given(model_data(), st.sampled_from(["intercept", "slope", "within_between"]), st.floats(-20, 20), st.booleans())
def test_shifting_x(data, model, a, reml):
    x_transform_check(data, model, a, 1.0, reml)


@FEW
@given(model_data(), st.sampled_from(MODELS), st.sampled_from([-1.0, 0.1, 0.5, 4.0, -10.0]), st.booleans())
def test_scaling_x(data, model, c, reml):
    x_transform_check(data, model, 0.0, c, reml)


@FEW
@given(model_data(), st.sampled_from(MODELS))
def test_stacking_two_copies_doubles_the_ml_deviance(data, model):
    g, x, y = data
    a = lmmviz.fit(make_data(g, x, y), model, reml=False)
    g2 = np.concatenate([g, np.char.add(np.asarray(g).astype(str), "_copy")])
    d2 = make_data(g2, np.concatenate([x, x]), np.concatenate([y, y]))
    # Exact at a's θ, then the optimizer must find it again.
    at = lmmviz.fit_at(d2, model, a.theta, reml=False)
    assert_close(at.criterion, 2 * a.criterion, "2 × deviance at θ̂", abs_=1e-7 * max(1, abs(a.criterion)))
    b = lmmviz.fit(d2, model, reml=False)
    assert_close(b.criterion, 2 * a.criterion, "deviance of the doubled data", abs_=2 * opt_tol(a.criterion))
    assert_close(b.beta, a.beta, "fixef", rel=1e-3, abs_=1e-3 * max(1.0, float(np.max(a.se))))
    assert_close(b.se * math.sqrt(2), a.se, "se", rel=1e-2)
    assert_close(b.sigma, a.sigma, "sigma", rel=1e-3)


@FEW
@given(model_data(balanced=True), st.sampled_from(["intercept", "slope", "uncorrelated"]), st.booleans())
def test_balanced_identical_x_gives_ols_fixef_also_after_duplicating_rows(data, model, reml):
    g, _, y = data
    G, m = len(set(g)), len(y) // len(set(g))
    x = np.tile(np.linspace(0.0, 3.0, m) ** 1.3, G)  # the same x pattern in every group
    X = np.column_stack([np.ones_like(x), x])
    ols = np.linalg.lstsq(X, y, rcond=None)[0]
    fit = lmmviz.fit(make_data(g, x, y), model, reml=reml)
    assert_close(fit.beta, ols, "fixef vs OLS", rel=1e-7, abs_=1e-7)
    dup = lmmviz.fit(make_data(np.repeat(g, 2), np.repeat(x, 2), np.repeat(y, 2)), model, reml=reml)
    assert_close(dup.beta, ols, "fixef vs OLS after duplicating every row", rel=1e-7, abs_=1e-7)


# --------------------------------------------------------------------------- known findings


def test_seed_slope_model_invariant_to_centring_x():
    """The seed's random-slope optimum (68.07) is also found when x is centred."""
    d = lmmviz.seed()
    f0 = lmmviz.fit(d, "slope")
    x = d.frame["dosage"].to_numpy()
    data = (d.frame["subject_id"].to_numpy(), x, d.frame["pain"].to_numpy())
    assert f0.criterion == pytest.approx(68.0749, abs=1e-3)
    x_transform_check(data, "slope", -float(x.mean()), 1.0, True)


# --------------------------------------------------------------------------- 3. reading


label_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")) | st.sampled_from(",;\t|\"'<>&\n"),
    min_size=1, max_size=12,
).filter(lambda s: s == s.strip() and s not in GROUP_NA_MARKERS)
finite = st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False)


@settings(PROPS, max_examples=60)
@given(
    st.lists(st.tuples(label_text, finite, finite), min_size=1, max_size=25),
    st.sampled_from([(",", "."), (";", ","), (";", "."), ("\t", "."), ("|", ".")]),
    st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le"]),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
)
def test_written_tables_read_back_exactly(rows, dialect, encoding, eol, gz):
    """Whatever pandas writes (any labels, any finite numbers, any of the dialects and
    encodings the reader claims), lmmviz reads back the same labels and numbers."""
    sep, decimal = dialect
    frame = pd.DataFrame(rows, columns=["group", "x", "y"])
    text = frame.to_csv(index=False, sep=sep, decimal=decimal, lineterminator=eol)
    raw = text.encode(encoding)
    if gz:
        raw = gzip.compress(raw, mtime=0)
    if any(0 < np.ptp(frame[c].to_numpy()) < MIN_SPREAD for c in ("x", "y")):
        with pytest.raises(DataError, match="too little"):  # squares would underflow
            lmmviz.load(raw, y="y", x="x", group="group")
        return
    data = lmmviz.load(raw, y="y", x="x", group="group")
    assert data.dropped_rows == 0
    assert list(data.frame["group"]) == list(frame["group"])
    np.testing.assert_array_equal(data.frame["x"].to_numpy(), frame["x"].to_numpy())
    np.testing.assert_array_equal(data.frame["y"].to_numpy(), frame["y"].to_numpy())


csvish_text = st.text(
    alphabet=st.sampled_from(list('0123456789.,;\t|"\'-+eE \r\nabcNA#<>{}[]\u00e9\u2212\ufeff\x00')),
    max_size=400,
)


plain_number = st.floats(-1e6, 1e6, allow_nan=False).map(repr)
number_cell = st.one_of(
    plain_number, plain_number, plain_number, plain_number, plain_number, plain_number,
    st.integers(-10**6, 10**6).map(str),
    st.floats(-1e4, 1e4, allow_nan=False).map(lambda v: f"{v:,.2f}"),
    st.floats(-1e4, 1e4, allow_nan=False).map(lambda v: f"{v:.3e}".replace(".", ",")),
    st.floats(-1e4, 1e4, allow_nan=False).map(lambda v: f"{v:.1f}".replace("-", "\u2212")),
    st.sampled_from(["NA", "", ".", "-", "inf", "-Infinity", "1e300", "1e400", "nan", "#N/A", " 7 ", '"8"']),
)
label_cell = st.one_of(st.sampled_from(["A", "B", "C", "01", "1", "none", "<b>x</b>", '"q,1"', "NA", ""]),
                       st.sampled_from(["A", "B", "C", "D"]), st.text(alphabet="abc '", min_size=1, max_size=4))


@st.composite
def messy_csv(draw) -> bytes:
    """A table that is almost right: real header, cells in many spellings, then damage."""
    sep = draw(st.sampled_from([",", ";", "\t", "|"]))
    n = draw(st.integers(0, 25))
    lines = [sep.join(["subject", "dose", "pain"])]
    for _ in range(n):
        lines.append(sep.join([draw(label_cell), draw(number_cell), draw(number_cell)]))
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):  # damage: drop or insert characters, blank lines
        i = draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        j = draw(st.integers(0, len(line)))
        lines[i] = line[:j] + draw(st.sampled_from(["", '"', sep, "\n", "\x00", "\ufffd"])) + line[j + 1:]
    text = draw(st.sampled_from(["\n", "\r\n", "\r"])).join(lines) + draw(st.sampled_from(["", "\n", "\n\n"]))
    raw = text.encode(draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"])), errors="replace")
    return gzip.compress(raw, mtime=0) if draw(st.booleans()) else raw


@settings(PROPS, max_examples=300)
@given(st.one_of(messy_csv(), messy_csv(), st.binary(max_size=600), csvish_text.map(lambda t: t.encode("utf-8")),
                 csvish_text.map(lambda t: t.encode("utf-16")), csvish_text.map(lambda t: gzip.compress(t.encode()))))
def test_reader_never_fails_with_anything_but_a_data_error(raw):
    """Arbitrary bytes and CSV-like garbage: a table, or a one-line DataError; with the
    columns guessed, a fit or a DataError."""
    try:
        data = lmmviz.load(raw, y="pain", x="dose", group="subject")
    except DataError as err:
        assert str(err) and "\n" not in str(err) and len(str(err)) < 400
        event(f"refused: {str(err)[:25]}")
        return
    event("loaded")
    try:
        fit = lmmviz.fit(data, "intercept")
    except DataError:
        return
    assert_finite(fit)


# --------------------------------------------------------------------------- engine findings, now regressions
# Found by the properties above (strict xfails until fixed in 1b04579: x is held centred
# and scaled inside the design, and the robust default also optimizes the slope model there).

# A well-conditioned random-slope data set (model_data's recipe, seed 14: 6 groups, 35 rows)
# on which the robust default stops 0.43 above the optimum once x is shifted by 100.
SHIFT_SIZES = [4, 8, 7, 5, 4, 7]
SHIFT_X = (
    [-5.560105390951142, -4.864651703316483, -7.595685467124943, -5.262436972846234, 0.2377642444175957,
    -1.1114289466536156, -0.6777342058768873, -1.791581816110885, -0.10568760377662623, 1.178672729637312,
    -1.5116119882666559, -0.8551411700276469, 4.061668345317493, 2.7008162544122647, 2.1810717056727684,
    3.1683757284251786, 0.6184936708347801, 1.110398416765901, 3.9805062826252473, -1.3008953766677323,
    -1.8159873977777083, 1.7717273961479454, 1.0772854752974905, 1.9758681607441364, 2.06256386331526,
    2.7149215589166817, 0.4013418341279662, 2.042218540213079, 0.7041099512953006, 3.3420368739954336,
    2.975724540001491, 0.8118042993748431, 0.782345248064042, 0.7212916917361563, 3.321969957075732]
)
SHIFT_Y = (
    [7.61861165375207, 6.137661868450859, 4.765423360608553, 7.836196311152481, 7.586670993046537,
    5.319919817870166, 8.154533290823723, 5.715073439923939, 7.963873247182559, 10.414420962149535,
    5.484905017509551, 6.430926515680121, 17.880908861863535, 16.34423056886005, 16.36921760408383,
    16.306272197621418, 12.24263522485165, 12.954511899623798, 16.939326338540774, 11.606454586848699,
    11.056022787275289, 17.46180269303253, 17.567598806259138, 18.195633112657564, 15.41683868560344,
    16.17708040877983, 12.110931921538429, 12.242901614707172, 14.192325661154582, 18.156288141014684,
    17.537459262431117, 14.491907171682996, 16.049266449937992, 14.480821158469753, 19.28982568522321]
)


def test_robust_slope_fit_survives_shifting_x_by_100():
    g = np.repeat([f"s{i}" for i in range(6)], SHIFT_SIZES)
    x, y = np.array(SHIFT_X), np.array(SHIFT_Y)
    x_transform_check((g, x, y), "slope", 100.0, 1.0, True)


def test_intercept_fit_survives_shifting_x_by_a_million():
    rng = np.random.default_rng(1)
    sizes = rng.integers(4, 9, 6)
    g = np.repeat([f"s{i}" for i in range(6)], sizes)
    x = np.round(np.repeat(rng.normal(0, 2, 6), sizes) + rng.uniform(-2, 2, sizes.sum()), 3)
    u, v = np.repeat(rng.normal(0, 3, 6), sizes), np.repeat(rng.normal(0, 0.7, 6), sizes)
    y = np.round(10 + u + (1.5 + v) * x + rng.normal(0, 1, sizes.sum()), 3)
    x_transform_check((g, x, y), "intercept", 1e6, 1.0, True)


NEARLY_CONSTANT_X = [
    # (groups, x, y): x varies only in its 11th-13th significant digit.
    (["g0", "g1", "g2", "g2", "g3", "g3", "g3", "g3", "g3", "g3", "g3", "g3"],
     [-1e4] * 10 + [-9999.99999996] * 2, [0.0] * 11 + [1.0]),
    (["g0", "g1", "g2", "g2", "g3", "g3", "g3"], [-1e4, -9999.99999999] + [-1e4] * 5, [0.0] * 6 + [1.0]),
    (["g0", "g1", "g2", "g3", "g3"], [50.0, 50.00000001, 50.0, 50.0, 50.0], [0.0] * 4 + [1.0]),
]


@pytest.mark.parametrize("example", range(len(NEARLY_CONSTANT_X)))
@pytest.mark.parametrize("reml", [True, False])
def test_nearly_constant_x_is_refused_or_fitted(example, reml):
    g, x, y = NEARLY_CONSTANT_X[example]
    try:
        fit = lmmviz.fit(make_data(g, x, y), "intercept", reml=reml)
    except DataError:
        return
    assert_finite(fit)


# --------------------------------------------------------------------------- engine findings, now fixed
# Tiny data sets where x has one or two huge values: the uncorrelated model breaks
# (LinAlgError, FloatingPointError, or a fit far above the nested intercept model's optimum
# with NaN SEs), and the nested order intercept ≥ uncorrelated ≥ slope fails. Found by
# test_fit_is_finite_or_refused and test_nested_models_are_ordered with more examples than
# CI runs (derandomize=False, 1,000-1,500 examples). Suggested fix: start each richer model
# also from the nested model's optimum, e.g. (θ_intercept, 0) and (θ_intercept, 0, 0), which
# guarantees the order, and keep solve() from failing where the deviance was finite. Fixed:
# the robust default starts each richer model from the nested model's optimum, and solve()
# reuses the Cholesky factor of the deviance.
EXTREME_X = {
    "A": (["g0", "g0", "g1", "g1", "g1"], [0, 0, 0, 0, 1e8], [0, 0, 0, 1000, 0]),
    "B": (["g0", "g0", "g1", "g1", "g1"], [0, 0, 0, 0, 1e8], [0, 0, 0, 1, 0]),
    "C": (["g0", "g1", "g1", "g1", "g1"], [0, 0, 0, 0, 1e8], [0, 0, 0, 1, 0]),
    "D": (["g0", "g1", "g2", "g3", "g3", "g3", "g3", "g3", "g3"], [0] * 7 + [1e8, 2.4e9], [0] * 8 + [1]),
    "E": (["g0", "g1", "g1", "g2", "g2", "g3", "g3", "g3", "g3"], [0] * 7 + [1e8, 2.3e9], [0] * 8 + [1]),
    "F": (["g0", "g0", "g1", "g1", "g2", "g2", "g3", "g3", "g3"],
          [50, 50, 50, 50, -9.53415061e9, 9.99999e13, 2.46435656e13, 50, 50], [0] * 8 + [1]),
}
_OPEN: dict = {}  # (example, reml) -> what failed; all fixed, see the comment above


@pytest.mark.parametrize("key,reml", [
    pytest.param(k, r, marks=pytest.mark.xfail(strict=True, reason=f"engine: {_OPEN[(k, r)]}"))
    if (k, r) in _OPEN else (k, r)
    for k in EXTREME_X for r in (True, False)
])
def test_extreme_x_nested_models_fit_in_order(key, reml):
    g, x, y = EXTREME_X[key]
    d = make_data(g, x, y)
    fits = {}
    for model in ("intercept", "uncorrelated", "slope"):
        try:
            fits[model] = lmmviz.fit(d, model, reml=reml)
        except DataError:
            return
        assert_finite(fits[model])
    tol = opt_tol(fits["intercept"].criterion)
    assert fits["uncorrelated"].criterion <= fits["intercept"].criterion + tol
    assert fits["slope"].criterion <= fits["uncorrelated"].criterion + tol


# The robust default's blind spot on well-conditioned data: model_recipe(seed=2881, G=5) under
# ML has two optima of the random-slope model. All seven robust runs (lme4's start, the moment
# starts, the boundary starts, the centred-x starts) and the polish stop at the interior one,
# 114.80582 (θ = 0.759, 0.471, 0.806; converged, no warning), while the boundary optimum
# 114.76449 (θ = 0.283, 1.017, 0: singular) is 0.041 lower. Found by test_shifting_x (x + 2
# reaches the lower one). compare() finds it with nlopt_neldermead and nlopt_newuoa, yet labelled
# all ten runs "best": its SAME_OPTIMUM was 1e-3 *relative* (0.11 here). Fixed: the robust
# default also searches each boundary through its best point, and "best" means within 1e-3.


def test_robust_slope_ml_reaches_the_boundary_optimum():
    d = make_data(*model_recipe(2881, 5))
    fit = lmmviz.fit(d, "slope", reml=False)
    better = lmmviz.fit_at(d, "slope", transformed_theta("slope", (1.7514804766, -1.0174733702, 1.5e-6), -2.0, 1.0),
                           reml=False)
    assert better.criterion == pytest.approx(114.76449, abs=1e-4)
    assert fit.criterion <= better.criterion + 1e-6


def test_compare_verdicts_separate_optima_0_04_apart():
    d = make_data(*model_recipe(2881, 5))
    result = lmmviz.compare(d, "slope", reml=False)
    best = min(e.fit.criterion for e in result.entries if e.fit)
    for e in result.entries:
        if e.fit and e.fit.criterion > best + 1e-3:
            assert e.verdict == "local optimum", (e.optimizer, e.fit.criterion, best)
