"""The four mixed models lmmviz fits, named the same everywhere (API, CLI, JSON, app).

Each model has one grouping factor ``g``, one predictor ``x`` and a response ``y``.
A :class:`ModelSpec` says which fixed effects there are, which of them carry random
effects (``zcols``), and how lme4's θ fills the relative covariance factor Λ.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

INTERCEPT = "(Intercept)"


@dataclass(frozen=True)
class ModelSpec:
    """Structure of one model.

    ``zcols`` indexes the fixed-effect columns that also have random effects
    (the random-effects design is a subset of the fixed-effects design).
    ``lambda_index`` maps θ onto the lower triangle (l11, l21, l22) of the 2×2
    factor Λ; ``None`` marks a structural zero. For q = 1 only l11 is used.
    """

    name: str
    label: str
    q: int
    zcols: tuple[int, ...]
    lambda_index: tuple[int | None, ...]
    within_between: bool = False

    @property
    def n_theta(self) -> int:
        return sum(i is not None for i in self.lambda_index)

    def fixef_names(self, x: str) -> tuple[str, ...]:
        if self.within_between:
            return (INTERCEPT, f"{x}_within", f"{x}_mean")
        return (INTERCEPT, x)

    def re_names(self, x: str) -> tuple[str, ...]:
        return (INTERCEPT, x)[: self.q]

    def formula(self, y: str, x: str, g: str) -> str:
        if self.name == "intercept":
            return f"{y} ~ {x} + (1 | {g})"
        if self.name == "slope":
            return f"{y} ~ {x} + (1 + {x} | {g})"
        if self.name == "uncorrelated":
            return f"{y} ~ {x} + (1 | {g}) + (0 + {x} | {g})"
        return f"{y} ~ {x}_within + {x}_mean + (1 | {g})"

    def theta_names(self, x: str, g: str) -> tuple[str, ...]:
        """lme4's names for θ, as ``getME(m, "theta")`` gives them."""
        if self.name == "slope":
            return (f"{g}.{INTERCEPT}", f"{g}.{x}.{INTERCEPT}", f"{g}.{x}")
        if self.name == "uncorrelated":
            return (f"{g}.{INTERCEPT}", f"{g}.{x}")
        return (f"{g}.{INTERCEPT}",)

    def lower_bounds(self) -> tuple[float, ...]:
        """Diagonal entries of Λ are ≥ 0; off-diagonal ones are free."""
        diag_slots = (0, 2)
        lower = [0.0] * self.n_theta
        for slot, idx in enumerate(self.lambda_index):
            if idx is not None and slot not in diag_slots:
                lower[idx] = float("-inf")
        return tuple(lower)

    def diagonal(self) -> tuple[int, ...]:
        """Positions in θ of the diagonal of Λ (the singular-fit check looks here)."""
        return tuple(i for slot, i in enumerate(self.lambda_index) if i is not None and slot != 1)


MODELS: Mapping[str, ModelSpec] = MappingProxyType({
    "intercept": ModelSpec("intercept", "random intercept", 1, (0,), (0, None, None)),
    "slope": ModelSpec("slope", "random slope (correlated)", 2, (0, 1), (0, 1, 2)),
    "uncorrelated": ModelSpec("uncorrelated", "uncorrelated random slope", 2, (0, 1), (0, None, 1)),
    "within_between": ModelSpec(
        "within_between", "within-between (random intercept)", 1, (0,), (0, None, None), True
    ),
})


def get_model(name: str) -> ModelSpec:
    try:
        return MODELS[name]
    except KeyError:
        raise ValueError(
            f"unknown model {name!r}: choose one of {', '.join(MODELS)}"
        ) from None
