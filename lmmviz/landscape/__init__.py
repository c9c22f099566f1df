"""The criterion as a landscape over θ: curves, maps, slices and optimizer paths.

Everything here is pure NumPy/pandas (no Streamlit, no Altair) and returns frozen
dataclasses holding DataFrames, so results cache and test well. Every value comes
from the engine (:mod:`lmmviz.deviance`): grids through its batched
:class:`~lmmviz.deviance.BatchDeviance`, single points through the fit's own
deviance, both ending in the same criterion formula.

* :mod:`.curve` — :func:`curve_1d`: the criterion against θ = σ_group/σ for the
  one-parameter models (``intercept``, ``within_between``), on a log grid, with the
  local minima of the grid refined by a bounded 1-D optimizer.
* :mod:`.maps` — :func:`map_2d`: the ``slope`` model over the relative SDs of
  intercept and slope (log axes), with the correlation profiled out (minimized at
  each point, :mod:`.brent`) or held at a chosen optimum; the ``uncorrelated`` model
  over its two θ directly. Contour lines come from :mod:`.contours`, the refined
  minima of a grid from :mod:`.grid`.
* :mod:`.slices` — :func:`slice_between`: the criterion along the straight segment
  in θ between two optima, the ridge a local optimizer cannot cross, and
  :func:`describe_slice` in words. :mod:`.optima` — :func:`converged_optima` and
  :func:`slice_pair` pick the two ends.
* :mod:`.paths` — :func:`optimizer_paths`: every optimizer's fit log mapped into the
  same coordinates, with start and end marked; :func:`comparison_frame` and
  :func:`distinct_optima`: the optima a comparison's optimizers reached.
* :mod:`.profiles` — :func:`profile_point`, :func:`profile_interval`: profiles of
  one relative SD.
* :mod:`.coords` — θ ↔ (sd_int, sd_slope, corr), axis titles and ranges.
* :mod:`.budget` — grid-size caps, progress and a time estimate for a map.
"""

from ..deviance import BatchDeviance
from .budget import MAX_CURVE, MAX_GRID, MIN_GRID, Progress, estimate_seconds, suggest_grid
from .contours import contour_segments, default_levels
from .coords import ONE_D, TWO_D, auto_range, axis_titles, coords_to_theta, theta_coords
from .curve import Curve, curve_1d
from .grid import batch_deviance
from .maps import Map2D, map_2d
from .optima import Optimum, converged_optima, describe_optima, slice_pair
from .paths import Paths, comparison_frame, distinct_optima, optimizer_paths, thin_paths
from .profiles import ProfilePoint, profile_interval, profile_point
from .slices import NO_BARRIER, Slice, describe_slice, format_height, slice_between

__all__ = (
    "BatchDeviance", "Curve", "MAX_CURVE", "MAX_GRID", "MIN_GRID", "Map2D", "NO_BARRIER", "ONE_D",
    "Optimum", "Paths", "ProfilePoint", "Progress", "Slice", "TWO_D", "auto_range", "axis_titles",
    "batch_deviance", "comparison_frame", "contour_segments", "converged_optima", "coords_to_theta",
    "curve_1d", "default_levels", "describe_optima", "describe_slice", "distinct_optima",
    "estimate_seconds", "format_height", "map_2d", "optimizer_paths", "profile_interval", "profile_point",
    "slice_between", "slice_pair", "suggest_grid", "theta_coords", "thin_paths",
)
