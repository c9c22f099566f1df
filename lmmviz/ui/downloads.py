"""Downloads: data CSV, results JSON (the CLI's keys), summary text, chart PNG/SVG,
R and Python scripts. The builders are plain functions of the page; the heavy ones
(chart images) run only when their button is clicked."""

from __future__ import annotations

import json
from types import MappingProxyType

import streamlit as st

import lmmviz
from lmmviz.charts import MODEL_LABELS, chart_png, chart_svg
from lmmviz.cli import dumps
from lmmviz.codegen import MAX_INLINE_ROWS, FitRecipe, python_script, r_script
from lmmviz.report import anova_text, summary_text
from lmmviz.share import encode_state

from . import compute
from .tables import lrt_models

FILES = MappingProxyType({
    "csv": "lmmviz-data.csv",
    "json": "lmmviz-results.json",
    "txt": "lmmviz-summary.txt",
    "png": "lmmviz-chart.png",
    "svg": "lmmviz-chart.svg",
    "r": "lmmviz-fit.R",
    "py": "lmmviz-fit.py",
})


def recipe(page) -> FitRecipe:
    s, data = page.state, page.data
    source = page.loaded.source
    if source in ("preset", "sim"):
        sim = lmmviz.PRESETS[s.preset] if source == "preset" else s.sim
        kind = "sim"
    else:
        sim, kind = None, ("seed" if source == "seed" else "csv")
    # The data go into the scripts only when small; large data are read from the CSV download.
    csv_text = compute.data_csv(data).decode("utf-8") if data.n_obs <= MAX_INLINE_ROWS else None
    return FitRecipe(
        y=data.y, x=data.x, group=data.group, models=s.models, settings=s.settings, source=kind, sim=sim,
        csv_text=csv_text,
    )


def _settings_dict(s) -> dict:
    """The fit settings in the results file, under OptimizerSettings' names."""
    return {"reml": s.reml, "optimizer": s.optimizer, "start": list(s.start) if s.start else None,
            "initial_step": s.initial_step, "ftol_abs": s.ftol_abs, "xtol_abs": s.xtol_abs, "maxeval": s.maxeval,
            "max_seconds": s.max_seconds}


def results_dict(page) -> dict:
    """Everything fitted, each mixed model under the CLI's JSON keys (``Fit.to_dict``)."""
    s, data = page.state, page.data
    out = {
        "lmmviz": lmmviz.__version__,
        "data": {"name": page.loaded.name, "source": page.loaded.source, "y": data.y, "x": data.x,
                 "group": data.group, "n_obs": data.n_obs, "dropped": dict(data.dropped),
                 "report": data.report()},
        "settings": _settings_dict(s.settings),
        "fits": [ft.to_dict() for ft in page.fits.values()],
        "errors": dict(page.errors),
        "link": encode_state(s),
    }
    if page.pooled is not None and "pooled" in s.models:
        p = page.pooled
        out["pooled_ols"] = {"intercept": p.intercept, "slope": p.slope, "se_intercept": p.se_intercept,
                             "se_slope": p.se_slope, "sigma": p.sigma, "r2": p.r2, "n_obs": p.n_obs}
    if page.per_group is not None and "per_group" in s.models and len(page.per_group) <= 1000:
        out["per_group_ols"] = json.loads(page.per_group.to_json(orient="records"))
    return out


def results_json(page) -> str:
    return dumps(results_dict(page))


def summary_bundle(page) -> str:
    s, data = page.state, page.data
    parts = [f"lmmviz {lmmviz.__version__} — data: {page.loaded.name} ({data.report()})", ""]
    if page.pooled is not None:
        parts.append(f"Pooled OLS: {data.y} = {page.pooled.intercept:.4f} + {page.pooled.slope:.4f} * {data.x}")
    if page.per_group is not None and len(page.per_group) <= 50:
        parts.append(f"Per-{page.unit} OLS slopes: " + ", ".join(
            f"{g}: {b:.4f}" for g, b in zip(page.per_group["group"], page.per_group["slope"])))
    for model, ft in page.fits.items():
        parts += ["", f"===== {MODEL_LABELS[model]} ({s.opt}) =====", summary_text(ft, page.loaded.name)]
        for d in ft.diagnostics:
            if d.severity != "info":
                parts.append(f"note: {d.title}: {d.message}")
    for model, msg in page.errors.items():
        parts += ["", f"===== {MODEL_LABELS[model]} =====", f"not fitted: {msg}"]
    nested = lrt_models(tuple(page.fits))
    if len(nested) >= 2:
        result, _ = compute.anova(page.loaded, nested)
        if result is not None:
            parts += ["", "===== Likelihood-ratio test (refitted by ML) =====", anova_text(result)]
    return "\n".join(parts) + "\n"


def render_downloads(page) -> None:
    st.markdown("## Download")
    chart = page.chart_spec(selected=page.state.sel)  # the shown chart; exports drop pan/zoom
    rec = recipe(page)
    items = [
        ("Data (CSV)", lambda: compute.data_csv(page.data), FILES["csv"], "text/csv", "dl_csv"),
        ("Results (JSON)", lambda: results_json(page), FILES["json"], "application/json", "dl_json"),
        ("Summaries (text)", lambda: summary_bundle(page), FILES["txt"], "text/plain", "dl_txt"),
        ("Chart (PNG)", lambda: chart_png(chart), FILES["png"], "image/png", "dl_png"),
        ("Chart (SVG)", lambda: chart_svg(chart), FILES["svg"], "image/svg+xml", "dl_svg"),
        ("R script (lme4)", lambda: r_script(rec), FILES["r"], "text/plain", "dl_r"),
        ("Python script", lambda: python_script(rec), FILES["py"], "text/x-python", "dl_py"),
    ]
    per_row = 4  # wide enough for every label in full ("Summaries (text)", "R script (lme4)")
    for start in range(0, len(items), per_row):
        cols = st.columns(per_row)
        for col, (label, make, name, mime, key) in zip(cols, items[start:start + per_row]):
            col.download_button(label, make, file_name=name, mime=mime, key=key, on_click="ignore",
                                icon=":material/download:", width="stretch")
    with st.expander("Show the R and Python scripts"):
        if page.data.n_obs > 300:
            st.caption("The scripts hold the data; download them above.")
        else:
            r_col, py_col = st.columns(2)
            r_col.code(r_script(rec), language="r")
            py_col.code(python_script(rec), language="python")
