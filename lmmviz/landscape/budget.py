"""How much work a landscape view may do: grid sizes, progress and a time estimate."""

from __future__ import annotations

from typing import Callable

Progress = Callable[[float], None] | None

MAX_GRID = 200  # points per axis of a 2-D map
MIN_GRID = 5
MAX_CURVE = 2000  # points of a 1-D curve or slice


def report_progress(progress: Progress, fraction: float) -> None:
    """Tell ``progress`` (if any) the fraction done, clipped to [0, 1]."""
    if progress is not None:
        progress(float(min(max(fraction, 0.0), 1.0)))


def clamp_count(n: int, lo: int, hi: int, what: str, notes: list[str]) -> int:
    """``n`` within [lo, hi]; a note says when it was changed."""
    n = int(n)
    if n > hi:
        notes.append(f"{what} capped at {hi} (asked for {n})")
        return hi
    if n < lo:
        notes.append(f"{what} raised to {lo} (asked for {n})")
        return lo
    return n


def estimate_seconds(n_groups: int, points: int, profiled: bool = True, rate: float = 1.5e8) -> float:
    """A rough wall-clock estimate for a map: points × evaluations per point (20
    profiled, 1 held) × distinct groups / ``rate`` (θ·group products per second,
    measured on 2 busy cores), plus the polishing of the minima."""
    per_point = 20 if profiled else 1
    return float(points) * per_point * max(int(n_groups), 1) / rate + 2e-6 * max(int(n_groups), 1)


def suggest_grid(n_groups: int, profiled: bool = True, seconds: float = 3.0, largest: int = 60) -> int:
    """The largest square grid side (≥ 10, ≤ ``largest``, a multiple of 5) expected
    to finish in ``seconds``."""
    side = largest
    while side > 10 and estimate_seconds(n_groups, side * side, profiled) > seconds:
        side -= 5
    return side
