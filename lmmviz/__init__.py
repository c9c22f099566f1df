"""lmmviz: see Simpson's paradox in linear mixed models, fitted exactly as lme4 does.

Pipeline (after lme4): ``read_table`` → ``prepare`` (``load`` does both) → ``make_design``
→ ``make_deviance`` → ``optimize`` → ``make_fit``; :func:`fit` runs it all with a robust
default. ``simulate`` makes data for it.

Names are imported on first use so that ``python -m lmmviz --help`` starts fast.
"""

from importlib import import_module
from types import MappingProxyType

_EXPORTS = MappingProxyType({
    "data": ("Data", "DataError", "load", "prepare", "read_table", "seed", "frame_to_data"),
    "simulator": ("PRESET_LABELS", "PRESETS", "SimulationSettings", "simulate"),
    "design": ("Design", "GroupSums", "make_design", "make_design_from_stats"),
    "sums": ("group_stats", "load_stats", "write_stats"),
    "duck": ("duckdb_sums",),
    "deviance": ("make_deviance", "solve"),
    "fitting": ("anova", "compare", "fit", "fit_at", "optimize", "make_fit"),
    "models": ("MODELS",),
    "optimizers": ("REGISTRY", "ROBUST", "OptimizerSettings", "OptSummary", "optimizer_names",
                   "optimizer_label"),
    "inference": ("Confint", "confint"),
    "reference": ("pooled_ols", "per_group_ols"),
    "report": ("anova_text", "summary_text"),
    "results": ("Anova", "Comparison", "Diagnostic", "Fit"),
})
_WHERE = MappingProxyType({name: module for module, names in _EXPORTS.items() for name in names})
__all__ = sorted(_WHERE)
__version__ = "0.1.0"


_SUBMODULES = frozenset({
    "cli", "errors", "inference", "readers", "data", "simulator", "design", "numerics", "deviance", "fitting", "models",
    "optimizers", "reference", "report", "results", "rformat", "theta", "landscape", "tour", "charts",
    "charts_explore", "share", "codegen", "palette", "sums", "duck",
})


def __getattr__(name: str):
    if name in _SUBMODULES:
        return import_module(f".{name}", __name__)
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'lmmviz' has no attribute {name!r}")
    return getattr(import_module(f".{module}", __name__), name)


def __dir__():
    return __all__
