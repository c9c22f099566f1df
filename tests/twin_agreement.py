"""How often each lme4 twin lands where its lme4 namesake landed.

A case is one lme4 1.1-31 fit in the reference files (tests/fixtures/*.lme4.json from
make_refs.R, tests/fixtures/allfit/allfit_sims.lme4.json from make_allfit.R): a data
set, a model, REML or ML and an allFit optimizer. The twin ``lme4:NAME`` runs from
lme4's start on the same model; it agrees when its criterion is within 0.02 of lme4's.

    PYTHONPATH=. python tests/twin_agreement.py     # prints the table and the disagreements
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import lmmviz  # noqa: E402
import refdata  # noqa: E402
from lmmviz.fitting import optimize  # noqa: E402
from lmmviz.lme4opt import PREFIX, TWINS  # noqa: E402

TOL = 0.02
ALLFIT = refdata.FIXTURES / "allfit"
TWIN_NAMES = tuple(info.name[len(PREFIX):] for info in TWINS)


@dataclass(frozen=True)
class Case:
    dataset: str
    model: str
    reml: bool
    optimizer: str  # allFit's name
    lme4: float  # lme4's criterion
    twin: float | None  # None: lmmviz refuses the model on these data (see skipped)

    @property
    def agrees(self) -> bool:
        return self.twin is not None and abs(self.twin - self.lme4) <= TOL

    def __str__(self) -> str:
        crit = "REML" if self.reml else "ML"
        twin = "refused" if self.twin is None else f"{self.twin:.4f}"
        return f"{self.dataset}/{self.model}/{crit}: lme4 {self.lme4:.4f}, twin {twin}"


def _sources():
    """(name, data, fits) for every reference data set."""
    for name in refdata.DATASETS:
        yield name, refdata.data(name), refdata.reference(name)["fits"]
    sims = json.loads((ALLFIT / "allfit_sims.lme4.json").read_text())
    for s in sims["sets"]:
        d = lmmviz.load(ALLFIT / f"{s['dataset']}.csv", y=s["y"], x=s["x"], group=s["group"])
        yield s["dataset"], d, [f for f in s["fits"] if "criterion" in f]


@lru_cache(maxsize=None)
def cases() -> tuple[Case, ...]:
    out = []
    for name, d, fits in _sources():
        for fr in fits:
            if fr["optimizer"] not in TWIN_NAMES:
                continue
            case = run_case(name, d, fr)
            if case is not None:
                out.append(case)
    return tuple(out)


def run_case(name: str, d: lmmviz.Data, fr: dict) -> Case | None:
    """The twin of ``fr``'s optimizer on ``fr``'s model, from lme4's start."""
    try:
        design = lmmviz.make_design(d, fr["model"])
    except lmmviz.DataError:
        # lmmviz refuses a rank-deficient within-between design (sleepstudy: every
        # subject has the same mean day) that lme4 fits after dropping a column
        return None
    f = lmmviz.make_deviance(design, fr["REML"])
    run, _ = optimize(f, design, PREFIX + fr["optimizer"])
    return Case(name, fr["model"], fr["REML"], fr["optimizer"], fr["criterion"], run.fmin)


def table() -> list[dict]:
    rows = []
    for name in TWIN_NAMES:
        mine = [c for c in cases() if c.optimizer == name]
        agreed = sum(c.agrees for c in mine)
        rows.append({"twin": PREFIX + name, "cases": len(mine), "agreed": agreed,
                     "rate": agreed / len(mine) if mine else float("nan"),
                     "disagreeing": [str(c) for c in mine if not c.agrees]})
    return rows


def main() -> None:
    print(f"{'twin':36s} {'cases':>5s} {'agreed':>6s} {'rate':>6s}")
    rows = table()
    for r in rows:
        print(f"{r['twin']:36s} {r['cases']:5d} {r['agreed']:6d} {r['rate']:6.3f}")
    for r in rows:
        for c in r["disagreeing"]:
            print(f"  {r['twin']}: {c}")


if __name__ == "__main__":
    main()
