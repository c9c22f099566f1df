"""The criterion along the straight segment in θ between two optima, and in words."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..data import Data
from ..design import Design
from .budget import MAX_CURVE, Progress, clamp_count, report_progress
from .coords import theta_columns, theta_coords
from .grid import batch_deviance, design_of

# A rise along a slice smaller than this (criterion units) is no barrier: the criterion
# is exact to ~1e-10 and converged optimizers stop within ~1e-8 of a minimum, so a
# smaller "rise" next to an end is where the run stopped, not a ridge.
NO_BARRIER = 1e-6


@dataclass(frozen=True, eq=False)
class Slice:
    """The criterion along θ(t) = (1 − t)·θ_a + t·θ_b.

    ``frame``: ``t``, ``theta1``…, the coordinates, ``criterion``. ``ridge`` is the
    highest point strictly between the ends (``t``, ``criterion``), and
    ``barrier_a``/``barrier_b`` how far it rises above each end (negative when it
    does not: then the criterion has no barrier, see :attr:`has_barrier`). When a
    barrier sits close to one end (within the first or last quarter), ``zoom``
    holds the same columns on a fine grid over the stretch between that end and a
    little past the ridge, so that the rise can be seen.
    """

    model: str
    reml: bool
    criterion_name: str
    theta_a: tuple[float, ...]
    theta_b: tuple[float, ...]
    label_a: str
    label_b: str
    frame: pd.DataFrame
    ridge_t: float
    ridge_criterion: float
    barrier_a: float
    barrier_b: float
    zoom: pd.DataFrame | None = None

    @property
    def has_barrier(self) -> bool:
        """The criterion rises above both ends somewhere between them."""
        return min(self.barrier_a, self.barrier_b) > NO_BARRIER

    def points(self) -> pd.DataFrame:
        """Every evaluated point of the slice (``frame`` and ``zoom``), ordered by ``t``."""
        fr = self.frame if self.zoom is None else pd.concat([self.frame, self.zoom], ignore_index=True)
        return fr.drop_duplicates("t").sort_values("t", kind="stable").reset_index(drop=True)


def _highest_inner(F: np.ndarray) -> int:
    """The index of the highest finite point strictly between the ends."""
    if len(F) <= 2:
        return int(np.argmax(np.where(np.isfinite(F), F, -np.inf)))
    inner = F[1:-1]
    return int(np.argmax(np.where(np.isfinite(inner), inner, -np.inf))) + 1


def slice_between(
    source: Data | Design,
    theta_a,
    theta_b,
    model: str | None = None,
    reml: bool = True,
    n: int = 301,
    label_a: str = "A",
    label_b: str = "B",
    progress: Progress = None,
) -> Slice:
    """The criterion along the straight segment in θ from ``theta_a`` to ``theta_b``.

    The points crowd towards both ends (cosine spacing), where θ changes scale
    fastest relative to its size; the ends are evaluated exactly.
    """
    d = design_of(source, model)
    n = clamp_count(n, 3, MAX_CURVE, "slice points", [])
    ta = np.asarray(theta_a, float).ravel()
    tb = np.asarray(theta_b, float).ravel()
    if ta.size != d.spec.n_theta or tb.size != d.spec.n_theta:
        raise ValueError(f"model {d.spec.name!r} takes {d.spec.n_theta} θ values")
    bd = batch_deviance(d, reml=reml)

    def along(t: np.ndarray, prog: Progress, start: float, span: float) -> pd.DataFrame:
        T = (1.0 - t)[:, None] * ta[None, :] + t[:, None] * tb[None, :]
        T[t == 0.0], T[t == 1.0] = ta, tb
        fr = pd.DataFrame(T, columns=theta_columns(T.shape[1]))
        fr.insert(0, "t", t)
        fr = pd.concat([fr, theta_coords(d.spec.name, T)], axis=1)
        fr["criterion"] = bd(T, progress=prog, start=start, span=span)
        return fr

    frame = along((1.0 - np.cos(np.linspace(0.0, math.pi, n))) / 2.0, progress, 0.0, 0.7)
    t, F = frame["t"].to_numpy(), frame["criterion"].to_numpy()
    j = _highest_inner(F)
    t_r, ridge, zoom = float(t[j]), float(F[j]), None
    if 0.0 < t[j] < 0.25 or 0.75 < t[j] < 1.0:
        # a ridge near one end: a fine grid from that end to a little past the ridge
        w = min(4.0 * min(t[j], 1.0 - t[j]), 0.5)
        zt = np.linspace(0.0, w, 201) if t[j] < 0.5 else np.linspace(1.0 - w, 1.0, 201)
        zoom = along(zt, progress, 0.7, 0.3)
        zF = zoom["criterion"].to_numpy()
        k = _highest_inner(zF)
        if zF[k] > F[j]:
            t_r, ridge = float(zt[k]), float(zF[k])
    if min(ridge - float(F[0]), ridge - float(F[-1])) <= NO_BARRIER:
        zoom = None  # no ridge to zoom on: the highest inner point is just next to the higher end
    report_progress(progress, 1.0)
    return Slice(d.spec.name, reml, "REML criterion" if reml else "-2 log-likelihood",
                 tuple(map(float, ta)), tuple(map(float, tb)), label_a, label_b, frame,
                 t_r, ridge, ridge - float(F[0]), ridge - float(F[-1]), zoom)


def format_height(value: float) -> str:
    """A rise or fall with two decimals, or more for small values: at least two
    significant digits, so that a real barrier never reads 0.00."""
    v = abs(float(value))
    decimals = 2 if v >= 0.1 or v == 0 else min(1 - math.floor(math.log10(v)), 10)
    return f"{v:.{decimals}f}"


def describe_slice(s: Slice) -> str:
    """What the criterion does along the slice, in words, from its numbers only.

    With a barrier (it rises more than :data:`NO_BARRIER` above both ends): how far
    it rises from ``label_a`` and falls to ``label_b``. Without: it falls from the
    higher end all the way to the lower one (or, when it climbs back on the way
    without reaching the higher end's value, by how much)."""
    fr = s.points()
    F = fr["criterion"].to_numpy(dtype=float)
    fa, fb = float(F[0]), float(F[-1])
    la, lb, h = s.label_a, s.label_b, format_height
    if s.has_barrier:
        before = F[: int(np.searchsorted(fr["t"].to_numpy(), s.ridge_t))]
        dip = fa - float(before.min()) if len(before) else 0.0
        start = (f"first rises by {h(s.barrier_a)}" if dip <= NO_BARRIER else
                 f"first falls by {h(dip)}, then rises to {h(s.barrier_a)} above {la}")
        return (f"From {la} to {lb} the criterion {start}, then falls by {h(s.barrier_b)}: an optimizer at "
                f"{la} must climb to {s.ridge_criterion:.2f} on this path before it can go down to {lb}.")
    hi_l, lo_l, G = (la, lb, F) if fa >= fb else (lb, la, F[::-1])
    climb = float(np.max(G - np.minimum.accumulate(G)))  # the largest rise on the way down
    if climb <= NO_BARRIER:
        return (f"Between {la} and {lb} there is no barrier: from {hi_l} the criterion falls all the way to "
                f"{lo_l}, by {h(abs(fa - fb))}. Nothing on this path holds an optimizer at {hi_l}.")
    return (f"Between {la} and {lb} there is no barrier above {hi_l}: the criterion never climbs back to "
            f"{hi_l} on the way to {lo_l}, though it rises by {h(climb)} on the way.")
