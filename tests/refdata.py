"""lme4's stored answers (tests/fixtures/*.lme4.json, made by fixtures/make_refs.R)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import lmmviz

FIXTURES = Path(__file__).parent / "fixtures"
DATASETS = ("seed", "sleepstudy", "orthodont", "chickweight", "oxboys", "bodyweight")
LME4_DEFAULT = "nloptwrap.NLOPT_LN_BOBYQA"


@lru_cache(maxsize=None)
def reference(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.lme4.json").read_text())


@lru_cache(maxsize=None)
def data(name: str) -> lmmviz.Data:
    ref = reference(name)
    return lmmviz.load(FIXTURES / f"{name}.csv", y=ref["y"], x=ref["x"], group=ref["group"])


def theta(fit_ref: dict) -> list[float]:
    th = fit_ref["theta"]
    return th if isinstance(th, list) else [th]


def fits(name: str, model: str | None = None, reml: bool | None = None) -> list[dict]:
    return [
        f for f in reference(name)["fits"]
        if (model is None or f["model"] == model) and (reml is None or f["REML"] == reml)
    ]


def best(name: str, model: str, reml: bool) -> dict:
    return min(fits(name, model, reml), key=lambda f: f["criterion"])


def ranef_rows(fit_ref: dict) -> list[dict]:
    return next(iter(fit_ref["ranef"].values()))


def as_x(d: lmmviz.Data) -> lmmviz.Data:
    """The same data with the predictor renamed "x", so that within-between fixed
    effects are named x_within and x_mean exactly as in lme4's reference fits."""
    return lmmviz.prepare(d.frame.rename(columns={d.x: "x"}), y=d.y, x="x", group=d.group)
