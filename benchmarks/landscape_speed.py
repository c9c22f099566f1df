"""Speed of the landscape views: a 60×60 map of the REML criterion for the slope model,
with the correlation profiled out or held at an optimum. Prints figures; asserts nothing.

    python benchmarks/landscape_speed.py [--groups 10000]
"""

from __future__ import annotations

import argparse
import math
import time

import lmmviz
from lmmviz import landscape as L


def best_of(fn, repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--groups", type=int, default=10_000)
    ap.add_argument("--grid", type=int, default=60)
    args = ap.parse_args()
    n = args.grid
    seed = lmmviz.seed()
    paths = L.optimizer_paths(lmmviz.compare(seed, "slope"))
    s = best_of(lambda: L.map_2d(seed, "slope", nx=n, ny=n, paths=paths), 3)
    print(f"{n}x{n} profiled map, seed (3 groups): {s:.3f} s")
    data = lmmviz.frame_to_data(lmmviz.simulate(n_subjects=args.groups, n_obs=10, dose_spacing=0.01))
    design = lmmviz.make_design(data, "slope")
    paths = L.optimizer_paths(lmmviz.fit(design))
    s = best_of(lambda: L.map_2d(design, nx=n, ny=n, paths=paths), 2)
    end = paths.ends[paths.ends["point"] == "end"].iloc[0]
    held = tuple(end[["theta1", "theta2", "theta3"]])
    h = best_of(lambda: L.map_2d(design, nx=n, ny=n, paths=paths, third="held", held_theta=held), 2)
    print(f"{n}x{n} map, {args.groups:,} groups: correlation profiled {s:.2f} s, held {h:.2f} s")


if __name__ == "__main__":
    main()
