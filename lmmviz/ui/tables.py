"""Pure helpers behind the app's tables and sentences (no Streamlit here).

Numbers become small DataFrames and one-line statements; user strings (column
names, group labels) are escaped before they go into Markdown.
"""

from __future__ import annotations

import math
import re
from typing import Mapping

import numpy as np
import pandas as pd

from ..charts import MODEL_LABELS, signed
from ..report import diagnostic_parts, plain_number, stop_reason
from ..results import Diagnostic, same_basin, same_optimum

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=&\"'^%@])")


def md(text) -> str:
    """Escape a user string for Markdown: every ASCII punctuation gets a backslash,
    so nothing in it can become a link, an image, HTML, LaTeX or a colour directive."""
    s = re.sub(r"[\x00-\x1f\x7f]", " ", str(text))
    return _MD_SPECIAL.sub(r"\\\1", s)


def crit_name(reml: bool) -> str:
    return "REML criterion" if reml else "−2 log-likelihood"


# --------------------------------------------------------------------------- the paradox in one line


def within_summary(slopes: np.ndarray, list_up_to: int = 6) -> str:
    s = np.asarray(slopes, float)
    s = s[np.isfinite(s)]
    if not len(s):
        return "n/a"
    if len(s) <= list_up_to:
        return ", ".join(signed(v) for v in s)
    neg = int((s < 0).sum())
    return (f"median {signed(float(np.median(s)))} (from {signed(float(s.min()))} to {signed(float(s.max()))}; "
            f"{neg} of {len(s)} negative)")


def paradox_line(pooled, per_group: pd.DataFrame | None, fits: Mapping[str, object], x: str, y: str,
                 unit: str = "subject") -> str:
    """One Markdown line: the pooled slope, the within-subject slopes and each mixed
    model's fixed slope, and whether the signs disagree (Simpson's paradox)."""
    parts = []
    pooled_slope = pooled.slope if pooled is not None else math.nan
    own = per_group["slope"].to_numpy(float) if per_group is not None else np.array([])
    own = own[np.isfinite(own)]
    parts.append(f"pooled OLS slope **{signed(pooled_slope)}**")
    if len(own):
        parts.append(f"within-{unit} OLS slopes **{within_summary(own)}**")
    for model, ft in fits.items():
        if model == "within_between":
            parts.append(f"within-between **{signed(ft.beta[1])}** within, **{signed(ft.beta[2])}** between")
        else:
            parts.append(f"{MODEL_LABELS[model].lower()} **{signed(ft.slope)}**")
    numbers = " · ".join(parts)
    X, Y = md(x), md(y)
    if len(own) and math.isfinite(pooled_slope):
        share_neg = float((own < 0).mean())
        within_sign = -1 if share_neg > 0.5 else 1 if share_neg < 0.5 else 0
        pooled_sign = int(np.sign(pooled_slope))
        if within_sign and pooled_sign and within_sign != pooled_sign:
            trend = "rises" if pooled_sign > 0 else "falls"
            inside = "falls" if pooled_sign > 0 else "rises"
            lead = (f"**Simpson's paradox:** across all {unit}s {Y} {trend} with {X}, "
                    f"but within each {unit} it {inside}.")
            return f"{lead} {numbers}."
        return f"**No paradox here:** pooled and within-{unit} slopes of {X} agree in sign. {numbers}."
    return f"{numbers}."


# --------------------------------------------------------------------------- slope table


def _direction(v: float) -> str:
    if v is None or not math.isfinite(v):
        return ""
    return "↗ rises" if v > 0 else "↘ falls" if v < 0 else "flat"


def slope_table(pooled, per_group: pd.DataFrame | None, fits: Mapping[str, object], models,
                unit: str = "subject") -> pd.DataFrame:
    """The x slope in every fitted model, so that the paradox reads off one table."""
    rows = []
    if pooled is not None and "pooled" in models:
        rows.append({"model": "Pooled OLS", "slope": pooled.slope, "SE": pooled.se_slope,
                     "what it estimates": f"ignores {unit}s: mixes within and between"})
    if per_group is not None and "per_group" in models:
        s = per_group["slope"].to_numpy(float)
        ok = s[np.isfinite(s)]
        if len(ok):
            se = float(np.std(ok, ddof=1) / math.sqrt(len(ok))) if len(ok) > 1 else math.nan
            rows.append({"model": f"Per-{unit} OLS (mean of {len(ok)})", "slope": float(ok.mean()), "SE": se,
                         "what it estimates": f"within each {unit}, no pooling"})
    for model, ft in fits.items():
        if model == "within_between":
            rows.append({"model": "Within-between: within", "slope": float(ft.beta[1]), "SE": float(ft.se[1]),
                         "what it estimates": f"within {unit}s"})
            rows.append({"model": "Within-between: between", "slope": float(ft.beta[2]), "SE": float(ft.se[2]),
                         "what it estimates": f"between {unit}s' means"})
        else:
            what = {"intercept": f"within {unit}s (one shared slope)",
                    "slope": f"average within-{unit} slope",
                    "uncorrelated": f"average within-{unit} slope"}[model]
            rows.append({"model": MODEL_LABELS[model], "slope": ft.slope, "SE": float(ft.se[1]),
                         "what it estimates": what})
    out = pd.DataFrame(rows, columns=["model", "slope", "SE", "what it estimates"])
    out.insert(2, "direction", [_direction(v) for v in out["slope"]])
    return out


def comparison_table(fits: Mapping[str, object]) -> pd.DataFrame:
    """AIC, BIC and logLik of the fitted mixed models (as fitted: REML or ML)."""
    rows = []
    for model, ft in fits.items():
        rows.append({"model": MODEL_LABELS[model], "npar": ft.npar, ft.criterion_name: ft.criterion,
                     "logLik": ft.loglik, "AIC": ft.aic, "BIC": ft.bic,
                     "singular": "yes" if ft.singular else "no"})
    return pd.DataFrame(rows)


def lrt_models(models) -> tuple[str, ...]:
    """The nested random-effects models to test against each other (by ML)."""
    return tuple(m for m in ("intercept", "uncorrelated", "slope") if m in models)


# --------------------------------------------------------------------------- lme4-style blocks


def residual_quantiles(ft) -> pd.DataFrame:
    q = np.quantile(np.asarray(ft.residuals) / ft.sigma, [0, 0.25, 0.5, 0.75, 1.0])
    return pd.DataFrame([q], columns=["Min", "1Q", "Median", "3Q", "Max"])


def varcorr_table(ft) -> pd.DataFrame:
    rows = [r for r in ft.varcorr if r.var2 is None]
    corr = next((r.sdcor for r in ft.varcorr if r.var2 is not None), None)
    out = []
    for i, r in enumerate(rows):
        out.append({"Groups": r.grp, "Name": r.var1 or "", "Variance": r.vcov, "Std.Dev.": r.sdcor,
                    "Corr": (corr if i == 1 and corr is not None else None)})
    t = pd.DataFrame(out)
    if corr is None:
        t = t.drop(columns="Corr")
    return t


def fixef_table(ft) -> pd.DataFrame:
    return pd.DataFrame({"": list(ft.fixef_names), "Estimate": np.asarray(ft.beta, float),
                         "Std. Error": np.asarray(ft.se, float), "df": np.asarray(ft.df, float),
                         "t value": np.asarray(ft.tvalue, float), "Pr(>|t|)": np.asarray(ft.p_value, float)})


def corr_fixef_table(ft) -> pd.DataFrame:
    c = ft.corr_fixef
    names = list(ft.fixef_names)
    t = pd.DataFrame(c, index=names, columns=names)
    mask = np.tril(np.ones_like(c, bool), -1)
    return t.where(mask).iloc[1:, :-1]


# --------------------------------------------------------------------------- diagnostics

def _optimizer_words(name: str) -> str:
    from ..optimizers import ROBUST, optimizer_label

    if name == ROBUST:
        return "the robust default"
    try:
        return optimizer_label(name)
    except ValueError:
        return name


def local_optimum(ft, reference) -> Diagnostic | None:
    """A diagnostic when a better optimum than ``ft``'s is known (from ``reference``,
    a fit of the same model and data by another optimizer): a local optimum, or (when
    the two are close, :func:`lmmviz.results.same_basin`) a run that stopped short.
    The message says what happened and why it matters, the advice what to do."""
    if reference is None or ft is None:
        return None
    gap = ft.criterion - reference.criterion
    if gap <= 0 or same_optimum(ft.criterion, reference.criterion):
        return None
    crit = "REML" if ft.reml else "−2 log-likelihood"
    this, other = _optimizer_words(ft.optimizer), _optimizer_words(reference.optimizer)
    if same_basin(ft.criterion, reference.criterion):
        here, there = plain_number(ft.criterion, 4), plain_number(reference.criterion, 4)
        return Diagnostic(
            "stopped_short", "warning", "Stopped short of the optimum",
            f"This optimizer ({this}) stopped at {crit} {here}, but {other} went on to {there}, "
            f"{plain_number(gap, 4)} lower, near the same point: the criterion is nearly flat there and the "
            "run stopped before it reached the minimum. Why it matters: usually little, but check the "
            f"estimates: the slope is {plain_number(ft.slope, 4, sign=True)} here, "
            f"{plain_number(reference.slope, 4, sign=True)} there.",
            "Tighten the tolerances or raise the maximum evaluations (sidebar: Optimizer settings), or use "
            "the robust default.",
        )
    mine, theirs = plain_number(ft.slope, sign=True), plain_number(reference.slope, sign=True)
    if ft.model == "within_between":
        change = ""
    elif np.sign(ft.slope) != np.sign(reference.slope):
        change = f", with the opposite slope of {ft.names['x']} ({theirs} instead of {mine})"
    else:
        change = f", with a slope of {ft.names['x']} of {theirs} instead of {mine}"
    unfinished = (ft.optsum is not None and not ft.optsum.converged) or any(
        "failed to converge" in w for w in ft.warnings)
    if unfinished:
        why = stop_reason(ft.optsum.returnvalue) if ft.optsum is not None and not ft.optsum.converged else \
            "lme4's convergence check failed"
        return Diagnostic(
            "stopped_early", "problem", "Stopped early",
            f"This optimizer ({this}) stopped at {crit} {plain_number(ft.criterion)} before it reached a "
            f"minimum ({why}), and {other} found a lower criterion, {plain_number(reference.criterion)}"
            f"{change}. Why it matters: the estimates shown for this fit are wherever the optimizer stopped, "
            f"{plain_number(gap)} worse than the best fit of the same model, not the model's estimates.",
            "Report the lower one: refit with the robust default, or raise the maximum evaluations "
            "(sidebar: Optimizer settings) and refit with this optimizer.",
        )
    return Diagnostic(
        "local_optimum", "problem", "Local optimum",
        f"This optimizer ({this}) stopped at {crit} {plain_number(ft.criterion)}, but {other} found a lower "
        f"criterion, {plain_number(reference.criterion)}{change}: the optimizer got stuck in a local optimum. "
        f"Why it matters: a lower criterion is a better fit of the same model to the same data, "
        f"{plain_number(gap)} better here, so the estimates shown for this fit are not the model's "
        "estimates, even though the optimizer reported success.",
        "Report the lower one: refit with the robust default. The Landscape tab shows why an optimizer can "
        "stop here; the Compare optimizers tab shows which ones do.",
    )


def diagnostic_markdown(d, models: str = "") -> str:
    """A diagnostic as Markdown: the title in bold (with the models it concerns), what
    happened, then *Why it matters:* and *What to do:* on lines of their own."""
    what, why, todo = diagnostic_parts(d)
    head = f"**{md(d.title)}**" + (f" ({md(models)})" if models else "")
    text = f"{head}. {md(what)}"
    if why:
        text += f"  \n*Why it matters:* {md(why)}"
    if todo:
        text += f"  \n*What to do:* {md(todo)}"
    return text


def merged_diagnostics(per_model: Mapping[str, list]) -> list[tuple[str, object]]:
    """(models text, Diagnostic) with identical findings of several models merged;
    problems first, then warnings, then information."""
    seen: dict[tuple, list[str]] = {}
    order: list[tuple] = []
    items: dict[tuple, object] = {}
    for model, diags in per_model.items():
        for d in diags:
            key = (d.code, d.message)
            if key not in seen:
                seen[key] = []
                order.append(key)
                items[key] = d
            seen[key].append(MODEL_LABELS.get(model, model))
    rank = {"problem": 0, "warning": 1, "info": 2}
    order.sort(key=lambda k: rank.get(items[k].severity, 3))
    return [(", ".join(seen[k]), items[k]) for k in order]


__all__ = ["md", "paradox_line", "slope_table", "comparison_table", "lrt_models",
           "residual_quantiles", "varcorr_table", "fixef_table", "corr_fixef_table", "local_optimum",
           "diagnostic_parts", "diagnostic_markdown",
           "merged_diagnostics", "within_summary", "crit_name"]


# --------------------------------------------------------------------------- the question, in lme4's words


def _lme4_shape(ft) -> str:
    """What a student should notice about a fit: singular, a correlation of ±1."""
    notes = []
    if ft.singular:
        notes.append("singular")
    if math.isfinite(ft.max_abs_corr) and ft.max_abs_corr > 0.99:
        notes.append("Corr ±1" if ft.model == "slope" else "")
    return ", ".join(n for n in notes if n)


def lme4_lines(runs: list, best) -> list[str]:
    """Markdown lines, one per lme4 optimizer: where it stops on these data, beside the
    lowest criterion found (``best``, the robust default's fit). ``runs`` holds
    ``(lme4 name, twin Fit or None, error text, lme4's own result or None)``: lme4's own
    result (stored for the seed example) is shown when there is one, with whether
    lmmviz's twin lands there too; otherwise the twin's result. A criterion above
    ``best`` is called a local optimum in words, with what lme4 itself said."""
    crit = "REML" if best.reml else "−2 logLik"
    lines = []
    for name, ft, err, said in runs:
        if said is None and ft is None:
            lines.append(f"`{name}` (lmmviz's twin): failed ({md(err or 'no reason given')})")
            continue
        c, slope = (said.criterion, said.slope) if said is not None else (ft.criterion, ft.slope)
        who = f"lme4 {said.lme4_version}" if said is not None else "lmmviz's twin"
        slope_txt = (f"slope **{signed(slope, 3)}**" if (ft is None or ft.model != "within_between")
                     else f"within **{signed(ft.beta[1], 3)}**")
        text = f"`{name}` ({who}) → {slope_txt} · {crit} {c:.2f}"
        if ft is not None and (said is None or abs(ft.criterion - c) <= 0.02):
            shape = _lme4_shape(ft)
        else:
            shape = "singular" if said is not None and said.singular else ""
        if c - best.criterion > 0 and not same_optimum(c, best.criterion):
            if said is not None:
                reported = f"reported “{md(said.message)}”"
            else:
                reported = "reported success" if ft.optsum is None or ft.optsum.converged else "reported a warning"
            text += (f" · :red[**local optimum**] ({shape + ', ' if shape else ''}{c - best.criterion:.2f} "
                     f"above the best), yet it {reported}")
        else:
            text += " · the best optimum found" + (f" ({shape})" if shape else "")
        if said is not None:
            if ft is None:
                text += f" · lmmviz's twin failed ({md(err or 'no reason given')})"
            elif abs(ft.criterion - c) <= 0.02:
                text += " · lmmviz's twin lands there too"
            else:
                text += (f" · :orange[lmmviz's twin of it stops at {ft.criterion:.2f} ({signed(ft.slope, 3)}) "
                         "instead: a known difference, listed in docs/engine.md]")
        lines.append(text)
    return lines
