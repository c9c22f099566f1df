"""Per-group sufficient statistics for a model (lme4's ``lFormula``).

One pass of ``np.bincount`` over the rows gives each group's size, means and
centred cross-products of (x, y). From them every model's cross-product blocks
follow exactly, so that the deviance costs O(groups) per evaluation.

Notation: ``W = [X, y]`` is the fixed-effects design with the response appended
(k = p + 1 columns); the random-effects design ``Z`` is the columns ``zcols`` of X.

Internally x is held centred and scaled, x' = (x − c)/s with s a power of two, and y
centred. The model is the same, but the cross-products keep their digits when x sits
far from 0 (years, say), and optimizers can work in well-conditioned coordinates.
θ at the API is always lme4's θ for the raw x; :mod:`lmmviz.deviance` maps it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .data import Data, DataError
from .models import ModelSpec, get_model
from .numerics import log


@dataclass(frozen=True, eq=False)
class GroupStats:
    """Each group's size, means and centred sums of squares and products of x and y.

    ``labels`` are the group labels as text, ordered like R orders factor levels
    (numerically when every label is a number, else alphabetically). ``codes`` maps
    rows to groups; it is None for statistics made without the rows (:class:`GroupSums`).
    """

    labels: np.ndarray
    codes: np.ndarray | None  # row → group index
    n: np.ndarray
    mx: np.ndarray
    my: np.ndarray
    sxx: np.ndarray
    sxy: np.ndarray
    syy: np.ndarray

    @property
    def n_groups(self) -> int:
        return len(self.labels)


SUM_COLUMNS = ("n", "shift_x", "shift_y", "sum_x", "sum_y", "sum_xx", "sum_xy", "sum_yy")


@dataclass(frozen=True, eq=False)
class GroupSums:
    """Per-group sums, all a fit needs: n and the sums of u = x − shift_x, v = y − shift_y,
    u², uv and v² (docs/big-data.md). A shift near the group's mean keeps the centred sums
    exact (Σu² − (Σu)²/n cancels no digits); shift 0 makes them the plain sums of x and y.

    ``names`` are the user's column names for y, x and group; ``dropped`` the rows left out
    by reason, as :attr:`lmmviz.Data.dropped`; ``codes`` maps rows to groups when the rows
    were at hand (None otherwise). Arrays follow ``labels`` in R's level order.
    """

    labels: np.ndarray
    n: np.ndarray
    shift_x: np.ndarray
    shift_y: np.ndarray
    sum_x: np.ndarray
    sum_y: np.ndarray
    sum_xx: np.ndarray
    sum_xy: np.ndarray
    sum_yy: np.ndarray
    names: dict
    dropped: dict = field(default_factory=dict)
    codes: np.ndarray | None = None

    @property
    def n_groups(self) -> int:
        return len(self.labels)

    @property
    def n_obs(self) -> int:
        return int(self.n.sum())

    @property
    def dropped_rows(self) -> int:
        return int(sum(self.dropped.values()))

    def stats(self) -> GroupStats:
        """Means and centred sums: x̄ = shift + Σu/n, Sxx = Σu² − (Σu)²/n, ... (≥ 0)."""
        n, ux, uy = self.n, self.sum_x, self.sum_y
        return GroupStats(
            labels=self.labels, codes=self.codes, n=n,
            mx=self.shift_x + ux / n, my=self.shift_y + uy / n,
            sxx=np.maximum(self.sum_xx - ux * ux / n, 0.0),
            sxy=self.sum_xy - ux * uy / n,
            syy=np.maximum(self.sum_yy - uy * uy / n, 0.0),
        )

    def lost_digits(self) -> float:
        """Decimal digits the centred sums lose to cancellation (0 when the shifts are the means)."""
        st = self.stats()
        ratios = [np.max(np.where(c > 0, raw / np.where(c > 0, c, 1.0), 1.0), initial=1.0)
                  for raw, c in ((self.sum_xx, st.sxx), (self.sum_yy, st.syy))]
        return float(np.log10(max(ratios)))

    def frame(self) -> pd.DataFrame:
        """One row per group: the label (in a column named as the group variable), then
        :data:`SUM_COLUMNS` (n as an integer)."""
        label = self.names.get("group", "group")
        out = pd.DataFrame({label if label not in SUM_COLUMNS else "group": self.labels.astype(str)})
        for name in SUM_COLUMNS:
            out[name] = getattr(self, name)
        out["n"] = self.n.astype(np.int64)
        out.attrs.update(self.names)
        return out


def _level_order(labels: np.ndarray) -> np.ndarray:
    nums = pd.to_numeric(pd.Series(labels), errors="coerce").to_numpy()
    if np.isfinite(nums).all():
        return np.lexsort((labels.astype(str), nums))
    return np.argsort(labels.astype(str), kind="stable")


def level_codes(g) -> tuple[np.ndarray, np.ndarray]:
    """(codes, labels): each row's group index, the labels as text in R's level order."""
    # factorize hashes (cheaper than np.unique's sort of 1M strings); only the
    # (few) distinct labels are then sorted into R's level order.
    values = g if isinstance(g, (pd.Series, pd.api.extensions.ExtensionArray)) else np.asarray(g, dtype=object)
    codes, uniques = pd.factorize(values, sort=False)
    uniques = np.asarray(uniques, dtype=object).astype(str)
    order = _level_order(uniques)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[codes], uniques[order].astype(object)


def group_sums(g, x: np.ndarray, y: np.ndarray, names: dict | None = None,
               dropped: dict | None = None) -> GroupSums:
    """:class:`GroupSums` of the rows, shifted by each group's mean (two ``bincount`` sweeps)."""
    codes, labels = level_codes(g)
    G = len(labels)
    n = np.bincount(codes, minlength=G).astype(float)
    kx = np.bincount(codes, x, G) / n
    ky = np.bincount(codes, y, G) / n
    u = x - kx[codes]
    v = y - ky[codes]
    return GroupSums(
        labels=labels, n=n, shift_x=kx, shift_y=ky,
        sum_x=np.bincount(codes, u, G), sum_y=np.bincount(codes, v, G),
        sum_xx=np.bincount(codes, u * u, G), sum_xy=np.bincount(codes, u * v, G),
        sum_yy=np.bincount(codes, v * v, G),
        names=dict(names or {"y": "y", "x": "x", "group": "group"}), dropped=dict(dropped or {}), codes=codes,
    )


def group_stats(g: np.ndarray, x: np.ndarray, y: np.ndarray) -> GroupStats:
    """Sufficient statistics of the rows, by way of :func:`group_sums`.

    Centring within groups before squaring keeps the sums accurate when x or y
    sit far from zero; a design from the same sums written to a file and read back
    (``lmmviz stats``, ``fit --from-stats``) is then the same to the last bit.
    """
    return group_sums(g, x, y).stats()


@dataclass(frozen=True, eq=False)
class Design:
    """Everything the deviance needs, for one model on one data set.

    ``szz`` (G, q, q), ``szw`` (G, q, k) are the per-group blocks Z'Z and Z'W;
    ``sww`` (k, k) is W'W summed over groups. y is centred by ``y_shift`` (only
    the intercept moves), which keeps W'W well conditioned.
    """

    spec: ModelSpec
    names: dict[str, str]
    stats: GroupStats
    x: np.ndarray | None  # the rows' x and y; None for a design from per-group sums
    y: np.ndarray | None
    szz: np.ndarray
    szw: np.ndarray
    sww: np.ndarray
    y_shift: float
    fixef_names: tuple[str, ...]
    x_center: float = 0.0
    x_scale: float = 1.0

    def __post_init__(self):
        # Contiguous copies for the hot path (strided views of szz are ~3× slower).
        q = self.spec.q
        zz = (self.szz[:, 0, 0].copy(),) if q == 1 else (
            self.szz[:, 0, 0].copy(), self.szz[:, 0, 1].copy(), self.szz[:, 1, 1].copy())
        zw = tuple(np.ascontiguousarray(self.szw[:, i, :]) for i in range(q))
        object.__setattr__(self, "_parts", (zz, zw))

    @property
    def n(self) -> int:
        return int(self.stats.n.sum())

    @property
    def zz(self) -> tuple[np.ndarray, ...]:
        """Z'Z per group as contiguous arrays: (m11,) or (m11, m12, m22)."""
        return self._parts[0]

    @property
    def zw(self) -> tuple[np.ndarray, ...]:
        """Row i of Z'W per group as contiguous (G, k) arrays."""
        return self._parts[1]

    @property
    def p(self) -> int:
        return len(self.fixef_names)

    @property
    def internal_stats(self) -> GroupStats:
        """The group statistics of the internal x' = (x − c)/s (y as given)."""
        return _scaled_stats(self.stats, self.x_center, self.x_scale)

    @property
    def beta_map(self) -> np.ndarray:
        """Q with β(raw x) = Q β(internal x') (before the intercept's y shift)."""
        c, s = self.x_center, self.x_scale
        if self.spec.within_between:
            return np.array([[1.0, 0.0, -c / s], [0.0, 1.0 / s, 0.0], [0.0, 0.0, 1.0 / s]])
        return np.array([[1.0, -c / s], [0.0, 1.0 / s]])

    @property
    def ldRX2_shift(self) -> float:
        """log det(X'V⁻¹X) for raw x minus that for x' (= 2·(scaled columns)·log s)."""
        k = 2 if self.spec.within_between else 1
        return 2.0 * k * log(self.x_scale)

    @property
    def q(self) -> int:
        return self.spec.q

    @property
    def n_groups(self) -> int:
        return self.stats.n_groups



def _scaled_stats(st: GroupStats, c: float, s: float) -> GroupStats:
    return GroupStats(st.labels, st.codes, st.n, (st.mx - c) / s, st.my, st.sxx / (s * s), st.sxy / s, st.syy)


def internal_x_scale(st: GroupStats) -> tuple[float, float]:
    """(c, s): the mean of x and a power of two near its SD (so scaling is exact), from the
    group statistics alone (the rows and their sums give the same bits)."""
    N = float(st.n.sum())
    c = float((st.n * st.mx).sum()) / N
    sd = math.sqrt(float((st.sxx.sum() + (st.n * (st.mx - c) ** 2).sum())) / N)
    s = 2.0 ** round(math.log2(sd)) if sd > 0 and math.isfinite(sd) else 1.0
    return c, s


def _group_means_and_crossprods(st: GroupStats, within_between: bool, y_shift: float):
    """Per group: the mean row w̄ of W and the centred cross-product C of W."""
    G = st.n_groups
    my = st.my - y_shift
    zeros, ones = np.zeros(G), np.ones(G)
    if within_between:
        # W = [1, x - x̄_g, x̄_g, y]; only x - x̄_g and y vary within a group.
        wbar = np.column_stack([ones, zeros, st.mx, my])
        C = np.zeros((G, 4, 4))
        C[:, 1, 1], C[:, 1, 3], C[:, 3, 1], C[:, 3, 3] = st.sxx, st.sxy, st.sxy, st.syy
    else:
        wbar = np.column_stack([ones, st.mx, my])
        C = np.zeros((G, 3, 3))
        C[:, 1, 1], C[:, 1, 2], C[:, 2, 1], C[:, 2, 2] = st.sxx, st.sxy, st.sxy, st.syy
    return wbar, C


def make_design(data: Data, model: str = "intercept", stats: GroupStats | None = None) -> Design:
    """Build the :class:`Design` for ``model`` (lme4's ``lFormula``), checking identifiability."""
    frame = data.frame
    x = frame[data.x].to_numpy(dtype=float)
    y = frame[data.y].to_numpy(dtype=float)
    st = stats if stats is not None else group_stats(frame[data.group], x, y)
    return _build(get_model(model), st, x, y, {"y": data.y, "x": data.x, "group": data.group})


def make_design_from_stats(sums: GroupSums, model: str = "intercept") -> Design:
    """The :class:`Design` from per-group sums alone (no rows: the fit has no residuals)."""
    return _build(get_model(model), sums.stats(), None, None, dict(sums.names))


def derive_design(design: Design, model: str) -> Design:
    """The design of another model on the same data, reusing the group statistics."""
    return _build(get_model(model), design.stats, design.x, design.y, dict(design.names))


def _build(spec: ModelSpec, st: GroupStats, x: np.ndarray | None, y: np.ndarray | None,
           names: dict[str, str]) -> Design:
    _check(spec, st, x, y, names)
    y_shift = float((st.n * st.my).sum()) / float(st.n.sum())
    x_center, x_scale = internal_x_scale(st)
    wbar, C = _group_means_and_crossprods(_scaled_stats(st, x_center, x_scale), spec.within_between, y_shift)
    S = st.n[:, None, None] * wbar[:, :, None] * wbar[:, None, :] + C
    zc = list(spec.zcols)
    return Design(
        spec=spec,
        names=names,
        stats=st,
        x=x,
        y=y,
        szz=np.ascontiguousarray(S[:, zc][:, :, zc]),
        szw=np.ascontiguousarray(S[:, zc, :]),
        sww=S.sum(axis=0),
        y_shift=y_shift,
        fixef_names=spec.fixef_names(names["x"]),
        x_center=x_center,
        x_scale=x_scale,
    )


def _spread(v: np.ndarray | None, mean: np.ndarray, centred: np.ndarray, n: np.ndarray) -> tuple[bool, float]:
    """(no variation at all, largest |value|): from the rows, or bounded from group sums."""
    if v is not None:
        return bool(np.ptp(v) == 0), float(np.abs(v).max())
    big = float(np.max(np.abs(mean) + np.sqrt(centred / n)))
    return bool(np.ptp(mean) <= 1e-15 * big and centred.max() <= (1e-15 * big) ** 2 * n.max()), big


def _check(spec: ModelSpec, st: GroupStats, x: np.ndarray | None, y: np.ndarray | None,
           names: dict[str, str]) -> None:
    G, n = st.n_groups, int(st.n.sum())
    gname, xname, yname = names["group"], names["x"], names["y"]
    if G < 2:
        raise DataError(
            f"only one group in {gname!r}: a mixed model needs at least 2 groups (lme4 needs more than 1 level)"
        )
    n_re = spec.q * G
    if n <= n_re:
        raise DataError(
            f"{n} observations but {n_re} random effects ({spec.q} per group × {G} groups): "
            "the variance components cannot be estimated (lme4 refuses too); use fewer random effects or more data"
        )
    ybar = float((st.n * st.my).sum()) / n
    sst = float(st.syy.sum() + (st.n * (st.my - ybar) ** 2).sum())
    y_constant, _ = _spread(y, st.my, st.syy, st.n)
    if not sst > 0 or y_constant:
        raise DataError(f"{yname!r} has no variation: every value is the same")
    x_constant, x_big = _spread(x, st.mx, st.sxx, st.n)
    if x_constant:
        raise DataError(f"{xname!r} has no variation: every value is the same, so no slope can be estimated")
    scale_x = max(x_big, 1.0)
    within = st.sxx > (1e-12 * scale_x) ** 2 * st.n
    if spec.q == 2 and not within.any():
        raise DataError(
            f"{xname!r} is constant within every group, so a random slope cannot be estimated: "
            "use the random-intercept model"
        )
    if spec.within_between:
        if not within.any():
            raise DataError(
                f"{xname!r} is constant within every group, so there is no within-group effect to separate"
            )
        spread = np.ptp(st.mx)
        if not spread > 1e-12 * scale_x:
            raise DataError(
                f"every group has the same mean {xname!r}, so {xname}_mean is the intercept again "
                "and the between-group effect cannot be estimated: use the random-intercept model"
            )
    if n - (3 if spec.within_between else 2) <= 0:
        raise DataError("too few observations for the fixed effects")
    # With no residual variation the criterion falls without bound as θ grows.
    if spec.q == 2:
        safe = np.where(within, st.sxx, 1.0)
        rss = float(np.where(within, st.syy - st.sxy**2 / safe, st.syy).sum())
    else:
        sxx = float(st.sxx.sum())
        rss = float(st.syy.sum() - (st.sxy.sum() ** 2 / sxx if sxx > 0 else 0.0))
    if rss <= 1e-12 * sst:
        raise DataError(
            f"{yname!r} is an exact straight-line function of {xname!r} within every group: with no "
            "residual variation the variance components cannot be estimated"
        )
