"""The Fit tab: the paradox in one line, the chart beside lme4-style summaries, the slope
table, model comparison, diagnostics in words, downloads."""

from __future__ import annotations

import math
from types import MappingProxyType

import numpy as np
import streamlit as st

from lmmviz import describe
from lmmviz.data import seed_lme4
from lmmviz.lme4opt import lme4_name
from lmmviz.charts import MODEL_LABELS, signed
from lmmviz.optimizers import optimizer_label
from lmmviz.report import FEW_GROUPS_WORDS, anova_text, slope_inference, summary_text

from . import compute
from .downloads import render_downloads
from .tables import (
    comparison_table, corr_fixef_table, crit_name, diagnostic_markdown, diagnostic_parts, fixef_table, lme4_lines,
    local_optimum, lrt_models, md, merged_diagnostics, paradox_line, residual_quantiles, slope_table, varcorr_table,
)

SUMMARY_VIEWS = ("lme4 text", "Tables")
CI_METHODS = MappingProxyType({"Wald": "wald", "Profile": "profile"})


def _on_pick() -> None:
    event = st.session_state.get("chart")
    picked = None
    try:
        sel = event["selection"]["pick"] if event is not None else None
        if sel:
            picked = sel[0].get("subject")
    except (KeyError, TypeError, IndexError, AttributeError):
        picked = None
    st.session_state["sel"] = str(picked) if picked is not None else ""


def render_fit_tab(page) -> None:
    state, data = page.state, page.data
    st.info(paradox_line(page.pooled, page.per_group, page.fits, data.x, data.y, page.unit),
            icon=":material/call_split:")
    _local_optimum_alert(page)
    left, right = st.columns([1.2, 1], gap="medium")
    with left:
        _metrics(page)
        spec = page.chart_spec(selected=state.sel)
        st.vega_lite_chart(spec=spec, key="chart", on_select=_on_pick, selection_mode=["pick"], width="stretch", theme=None,
                           alt=describe.fit_chart_alt(page.pooled, page.per_group, page.fits, data.x, data.y, page.unit))
        frames = page.frames(state.sel)
        hint = (f"Colours are {page.unit}s; click a point or a legend entry to highlight one, double-click to "
                "clear; drag to pan, scroll to zoom.")
        if frames.sampled:
            hint += (f" Drawn: {len(frames.subjects):,} of {frames.n_subjects:,} {page.unit}s and "
                     f"{len(frames.points):,} of {frames.n_points:,} points (all are fitted).")
        st.caption(md(hint))
    with right:
        _lme4_question(page)
        with st.container(key="summaries"):
            _summaries(page)
    st.markdown(f"## Slope of {md(data.x)} in every model")
    st.caption("Read the paradox off one column: the pooled slope mixes the between-"
               f"{page.unit} trend with the within-{page.unit} one; the mixed models estimate the latter.")
    table = slope_table(page.pooled, page.per_group, page.fits, state.models, page.unit)
    st.dataframe(table, hide_index=True, width="stretch", key="slope_table", column_config={
        "slope": st.column_config.NumberColumn("slope", format="%+.4f"),
        "SE": st.column_config.NumberColumn("SE", format="%.4f"),
    })
    _how_sure(page)
    _comparison(page)
    _diagnostics(page)
    render_downloads(page)


def _use_robust() -> None:
    st.session_state["opt"] = "robust"


def _local_optimum_alert(page) -> None:
    """The trap, where nobody can miss it: a fit that stopped where another optimizer did better."""
    found = [(m, local_optimum(ft, page.references.get(m))) for m, ft in page.fits.items()]
    found = [(m, d) for m, d in found if d is not None]
    if not found:
        return
    lines = []
    for m, d in found:
        what, why, _ = diagnostic_parts(d)
        lines.append(f"**{MODEL_LABELS[m]}:** {md(what)}" + (f" *Why it matters:* {md(why)}" if why else ""))
    advice = list(dict.fromkeys(d.advice for _, d in found if d.advice))
    lines += [f"*What to do:* {md(a)}" for a in advice]
    st.error("  \n".join(lines), icon=":material/report:")
    st.button("Refit with the robust default", key="use_robust", on_click=_use_robust, icon=":material/build:")


def _show_optimizer(name: str) -> None:
    st.session_state["opt"] = name


def _open_landscape() -> None:
    st.session_state["tab"] = "Landscape"


QUESTION_MODELS = ("slope", "uncorrelated", "intercept")


def _lme4_question(page) -> None:
    """The seed question in lme4's words: where lme4's bobyqa and Nelder_Mead stop on
    these data, beside the lowest criterion found, with the way to see why."""
    model = next((m for m in QUESTION_MODELS if m in page.fits), None)
    best = page.references.get(model) or (page.fits.get(model) if page.state.opt == "robust" else None)
    if model is None or best is None:
        return
    said = seed_lme4(model, page.state.reml) if page.loaded.key == "seed" else {}
    runs = []
    for name in compute.LME4_QUESTION:
        res = compute.lme4_fit(page.loaded, model, page.state.reml, name)
        short = lme4_name(name)
        runs.append((short, res.fit, res.error, said.get(short)))
    with st.container(border=True, key="lme4_question"):
        st.markdown(f"**In lme4:** lmer({md(best.formula)}{'' if best.reml else ', REML = FALSE'})")
        lines = lme4_lines(runs, best)
        lines.append(f"lmmviz's robust default → slope **{signed(best.slope, 3)}** · "
                     f"{'REML' if best.reml else '−2 logLik'} {best.criterion:.2f} · the lowest criterion found")
        st.markdown("\n".join(f"- {line}" for line in lines))
        cols = st.columns(2, gap="small")
        for col, (name, *_) in zip(cols, runs):
            col.button(f"Fit with {name}", key=f"q_{name}", on_click=_show_optimizer, args=(f"lme4:{name}",),
                       help=f"Fit this page with lmmviz's twin of lme4's {name}", width="stretch")
        cols = st.columns(2, gap="small")
        cols[0].button("Why? The landscape", key="q_landscape", on_click=_open_landscape, width="stretch",
                       help="The criterion over the random-effect SDs, with where each optimizer stopped")
        cols[1].button("Why? The tour", key="q_tour", on_click=_start_tour, width="stretch",
                       help="A guided tour of the seed question, from the step where bobyqa stops")


def _start_tour() -> None:
    from .explore import _go_step

    _go_step(3)


def _metrics(page) -> None:
    """The slopes in big numbers: pooled, within subjects, each mixed model (with its criterion)."""
    items = []
    shown = page.state.models
    if page.pooled is not None and "pooled" in shown:
        items.append(("Pooled OLS", signed(page.pooled.slope), f"ignores {page.unit}s"))
    if page.per_group is not None and "per_group" in shown:
        s = page.per_group["slope"].to_numpy(float)
        s = s[np.isfinite(s)]
        if len(s):
            items.append(("Own OLS, mean", signed(float(np.mean(s))), f"{len(s)} {page.unit}s' slopes"))
    for model, ft in page.fits.items():
        crit = f"{'REML' if ft.reml else '−2 logLik'} {ft.criterion:.1f}"
        if model == "within_between":
            items.append(("Within", signed(ft.beta[1]), f"within-between · {crit}"))
            items.append(("Between", signed(ft.beta[2]), f"within-between · {crit}"))
        else:
            found = local_optimum(ft, page.references.get(model))
            flag = "" if found is None else " · " + found.title.lower().replace(" of the optimum", "")
            items.append((SHORT_LABELS[model], signed(ft.slope), crit + flag))
    for model in page.errors:
        items.append((SHORT_LABELS[model], "—", "not fitted"))
    per_row = 4
    with st.container(key="metrics"):  # two to a row on a phone (CSS in app.STYLE)
        for start in range(0, len(items), per_row):
            row = items[start:start + per_row]
            cols = st.columns(per_row)
            for col, (label, value, caption) in zip(cols, row):
                with col:
                    st.metric(label, value)
                    st.caption(caption)


SHORT_LABELS = MappingProxyType({"intercept": "Random intercept", "slope": "Random slope", "uncorrelated": "Uncorrelated",
                "within_between": "Within-between"})


def _summaries(page) -> None:
    if not page.fits and not page.errors:
        st.caption("Tick a mixed model in the sidebar to see its lme4-style summary here.")
        return
    if "sumview" not in st.session_state:
        st.session_state["sumview"] = SUMMARY_VIEWS[0]
    st.segmented_control("Summaries as", SUMMARY_VIEWS, key="sumview", label_visibility="collapsed")
    view = st.session_state.get("sumview") or SUMMARY_VIEWS[0]
    for model in page.state.mixed_models:
        with st.container(border=True):
            if model in page.errors:
                st.markdown(f"**{MODEL_LABELS[model]}**")
                st.warning(md(page.errors[model]), icon=":material/block:")
                continue
            ft = page.fits[model]
            flags = []
            ref = page.references.get(model)
            found = local_optimum(ft, ref)
            if found is not None:
                flags.append(f":red[{found.title.lower()}]" if found.severity == "problem"
                             else f":orange[{found.title.lower()}]")
            if ft.singular:
                flags.append(":orange[singular]")
            opt = "robust default" if page.state.opt == "robust" else optimizer_label(page.state.opt)
            st.markdown(f"**{MODEL_LABELS[model]}** · {crit_name(ft.reml)} **{ft.criterion:.1f}** · {md(opt)}"
                        + "".join(" · " + f for f in flags))
            if view == SUMMARY_VIEWS[0]:
                st.code(summary_text(ft, page.loaded.name), language=None)
            else:
                _blocks(ft)


def _blocks(ft) -> None:
    num = {"format": "%.4g"}
    if ft.reml:
        st.caption(f"REML criterion at convergence: {ft.criterion:.1f}")
    else:
        st.caption(f"AIC {ft.aic:.1f} · BIC {ft.bic:.1f} · logLik {ft.loglik:.1f} · deviance "
                   f"{-2 * ft.loglik:.1f} · df.resid {ft.n_obs - ft.npar}")
    st.caption("Scaled residuals")
    st.dataframe(residual_quantiles(ft), hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(c, **num) for c in ("Min", "1Q", "Median", "3Q", "Max")})
    st.caption(f"Random effects (number of obs: {ft.n_obs}, groups: {ft.n_groups})")
    vc = varcorr_table(ft)
    st.dataframe(vc, hide_index=True, width="stretch", column_config={
        "Variance": st.column_config.NumberColumn("Variance", **num),
        "Std.Dev.": st.column_config.NumberColumn("Std.Dev.", **num),
        "Corr": st.column_config.NumberColumn("Corr", format="%.2f"),
    })
    st.caption("Fixed effects")
    st.dataframe(fixef_table(ft), hide_index=True, width="stretch", column_config={
        "Estimate": st.column_config.NumberColumn("Estimate", **num),
        "Std. Error": st.column_config.NumberColumn("Std. Error", **num),
        "t value": st.column_config.NumberColumn("t value", format="%.3f"),
        "df": st.column_config.NumberColumn("df", format="%.2f"),
        "Pr(>|t|)": st.column_config.NumberColumn("Pr(>|t|)", format="%.3g"),
    })
    if len(ft.beta) > 1:
        st.caption("Correlation of fixed effects")
        st.dataframe(corr_fixef_table(ft), width="stretch",
                     column_config={c: st.column_config.NumberColumn(c, format="%.3f") for c in ft.fixef_names})


def _how_sure(page) -> None:
    """Each mixed model's slope with its 95% interval (Wald, or lme4's profile on demand),
    Satterthwaite df and p-value, in one sentence."""
    if not page.fits:
        return
    st.markdown("## How sure is each slope?")
    if "ci_method" not in st.session_state:
        st.session_state["ci_method"] = "Wald"
    st.segmented_control("Interval", tuple(CI_METHODS), key="ci_method",
                         help="Wald: estimate ± 1.96 SE (fast). Profile: where the likelihood drops by the "
                              "95% cut-off, as lme4's confint(m, method = \"profile\") (a few seconds).")
    method = CI_METHODS.get(st.session_state.get("ci_method") or "Wald", "wald")
    lines = []
    for model, ft in page.fits.items():
        ci, err = compute.confint(page.loaded, ft, compute.fit_settings(page.state, model), method)
        what = slope_inference(ft, ci, page.unit) if ci is not None else f"no interval: {err}"
        lines.append(f"- **{MODEL_LABELS[model]}:** {md(what)}")
    st.markdown("\n".join(lines))
    st.caption("df and p as lmerTest (Satterthwaite's t-test); the summaries above show them for every "
               f"fixed effect. Few {page.unit}s mean few df: a wide interval and a larger p for the same slope.")


def _comparison(page) -> None:
    if not page.fits:
        return
    st.markdown("## Model comparison")
    table = comparison_table(page.fits)
    cfg = {c: st.column_config.NumberColumn(c, format="%.2f")
           for c in table.columns if c not in ("model", "npar", "singular")}
    st.dataframe(table, hide_index=True, width="stretch", column_config=cfg)
    nested = lrt_models(tuple(page.fits))
    if len(nested) >= 2:
        result, err = compute.anova(page.loaded, nested)
        if result is None:
            st.warning(md(f"Likelihood-ratio test not available: {err}"))
            return
        st.caption("Likelihood-ratio test of the nested random-effects models, each refitted by maximum "
                   "likelihood with the robust default, as lme4's anova() does:")
        st.code(anova_text(result), language=None)
        cut = [MODEL_LABELS[f.model].lower() for f in result.fits if f.timed_out_runs]
        if cut:  # these refits have no diagnostics panel of their own
            many = len(cut) > 1
            st.error(md(f"The ML refit{'s' if many else ''} of the {' and '.join(cut)} model{'s were' if many else ' was'} "
                        "stopped by the time limit: the result may be a local optimum, and so may the test. Fit "
                        "again when the server is less busy, or run the exported script."), icon=":material/error:")
        last = result.rows[-1]
        if math.isfinite(last.p):
            verdict = "prefers" if last.p < 0.05 else "does not clearly prefer"
            n_groups = next(iter(page.fits.values())).n_groups
            few = (f" With only {n_groups} {page.unit}s, read it as a rough guide." if n_groups < FEW_GROUPS_WORDS
                   else "")
            st.caption(md(f"χ² = {last.chisq:.2f} on {last.df} df, p = {last.p:.3g}: the test {verdict} the "
                          f"richer model ({MODEL_LABELS[last.model].lower()}). A variance cannot go below 0, so "
                          "this p-value, like lme4's, is conservative (if anything too large)." + few))
    else:
        st.caption("Tick two of random intercept, uncorrelated and random slope for a likelihood-ratio test.")


def _diagnostics(page) -> None:
    per_model = {}
    for model, ft in page.fits.items():
        diags = list(ft.diagnostics)
        lo = local_optimum(ft, page.references.get(model))
        if lo is not None:
            diags.insert(0, lo)
        per_model[model] = diags
    if not per_model and not page.errors:
        return
    st.markdown("## Diagnostics")
    infos = []
    for models, d in merged_diagnostics(per_model):
        text = diagnostic_markdown(d, models)
        if d.severity == "problem":
            st.error(text, icon=":material/error:")
        elif d.severity == "warning":
            st.warning(text, icon=":material/warning:")
        else:
            infos.append(f"{md(models)}: {md(d.message)}")
    for model, msg in page.errors.items():
        st.warning(f"**{md(MODEL_LABELS[model])} not fitted.** {md(msg)}", icon=":material/block:")
    if not any(d.severity in ("problem", "warning") for ds in per_model.values() for d in ds) and per_model:
        st.success("No warnings: every fit reached a clear minimum of its criterion, with no variance at 0 and no "
                   "correlation at ±1.", icon=":material/check_circle:")
    for line in infos:
        st.caption(line)
