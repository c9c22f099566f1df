"""lme4-style summary text and diagnostics in plain words."""

from __future__ import annotations

import math

import numpy as np

from .optimizers import ROBUST
from .results import Anova, Diagnostic, Fit
from .rformat import abbreviate, format_r, print_matrix, print_named, zapsmall

DIGITS = 4  # print.summary.merMod: max(3, getOption("digits") - 3)


def summary_text(fit: Fit, data_name: str = "data") -> str:
    """``print(summary(m))`` of lme4 1.1, line for line.

    The last block names the optimizer that ran (lmmviz's name for it), where
    lme4 prints its own optimizer name.
    """
    out: list[str] = []
    if fit.reml:
        out.append("Linear mixed model fit by REML ['lmerMod']")
    else:
        out.append("Linear mixed model fit by maximum likelihood  ['lmerMod']")
    out.append(f"Formula: {fit.formula}")
    out.append(f"   Data: {data_name}")
    out.append("")
    if fit.reml:
        out.append(f"REML criterion at convergence: {_r_default(round(fit.criterion, 1))}")
    else:
        vals = [round(v, 1) for v in (fit.aic, fit.bic, fit.loglik, -2 * fit.loglik)]
        cells = format_r(vals, 7) + [str(fit.n_obs - fit.npar)]
        out.extend(print_named(cells, ["AIC", "BIC", "logLik", "deviance", "df.resid"]))
    out.append("")
    out.append("Scaled residuals: ")
    q = np.quantile(fit.residuals / fit.sigma, [0, 0.25, 0.5, 0.75, 1.0])
    out.extend(print_named(format_r(zapsmall(q, DIGITS + 1), DIGITS), ["Min", "1Q", "Median", "3Q", "Max"]))
    out.append("")
    out.append("Random effects:")
    out.extend(_varcorr_lines(fit))
    out.append(f"Number of obs: {fit.n_obs}, groups:  {fit.names['group']}, {fit.n_groups}")
    out.append("")
    out.append("Fixed effects:")
    out.extend(_coef_lines(fit))
    p = len(fit.beta)
    if p > 1:
        out.append("")
        out.append("Correlation of Fixed Effects:")
        corr = fit.corr_fixef
        flat = format_r(np.round(corr[np.tril_indices(p, -1)], 3), 7, nsmall=3)
        cells = [["" for _ in range(p - 1)] for _ in range(p - 1)]
        k = 0
        for j in range(p - 1):  # R fills column by column
            for i in range(j + 1, p):
                cells[i - 1][j] = flat[k]
                k += 1
        rn = [abbreviate(n, 11) for n in fit.fixef_names]
        cn = [abbreviate(n, 6) for n in fit.fixef_names]
        # format() pads the whole matrix, diagonal included, to one width
        width = max(len(s) for s in format_r(np.round(corr.ravel(), 3), 7, nsmall=3))
        cells = [[c.rjust(width) if c else c for c in row] for row in cells]
        out.extend(print_matrix(cells, cn[:-1], rn[1:]))
    if fit.warnings:
        code = 0 if fit.optsum is None or fit.optsum.converged else 1
        out.append(f"optimizer ({fit.optimizer}) convergence code: {code} ({'OK' if code == 0 else fit.optsum.returnvalue})")
        out.extend(fit.warnings)
        out.append("")
    return "\n".join(out)


def _r_default(v: float) -> str:
    s = format_r([v], 7)[0].strip()
    return s


def _varcorr_lines(fit: Fit) -> list[str]:
    rows = [r for r in fit.varcorr if r.var2 is None]
    sds = [r.sdcor for r in rows]
    variances = format_r([s * s for s in sds], DIGITS)
    stds = format_r(sds, DIGITS)
    groups, names = [], []
    last = None
    for r in rows:
        groups.append(r.grp if r.grp != last else "")
        last = r.grp
        names.append(r.var1 or "")
    has_corr = any(r.var2 is not None for r in fit.varcorr)
    colnames = ["Groups", "Name", "Variance", "Std.Dev."]
    cells = [[g, n, v, s] for g, n, v, s in zip(groups, names, variances, stds)]
    if has_corr:
        corr = next(r.sdcor for r in fit.varcorr if r.var2 is not None)
        dig = max(2, DIGITS - 2)
        entries = format_r([1.0, round(corr, dig) if math.isfinite(corr) else corr], 7, nsmall=dig)
        colnames.append("Corr")
        for k, row in enumerate(cells):
            row.append(entries[1] if k == 1 else "")
    return print_matrix(cells, colnames, [""] * len(cells))


def _coef_lines(fit: Fit) -> list[str]:
    est, se = np.asarray(fit.beta), np.asarray(fit.se)
    coef_se = np.concatenate([est, se])
    acs = np.abs(coef_se[np.isfinite(coef_se) & (coef_se != 0)])
    digmin = 1 + np.floor(np.log10([acs.min(), acs.max()])) if acs.size else np.zeros(2)
    dec = int(max(1, *(DIGITS - digmin)))
    formatted = format_r(np.round(coef_se, dec), DIGITS)
    p = len(est)
    tv = format_r(np.round(est / se, max(1, min(5, DIGITS - 1))), DIGITS)
    cells = [[formatted[i], formatted[p + i], tv[i]] for i in range(p)]
    return print_matrix(cells, ["Estimate", "Std. Error", "t value"], list(fit.fixef_names), right=True)


# --------------------------------------------------------------------------- anova


def anova_text(result: Anova) -> str:
    """lme4's ``anova`` table for nested models refitted by ML."""
    rows = result.rows
    lines = ["Models:"] + [f"{r.model}: {r.formula}" for r in rows]
    cols = ["npar", "AIC", "BIC", "logLik", "deviance", "Chisq", "Df", "Pr(>Chisq)"]
    aic = format_r([r.aic for r in rows], 5)
    bic = format_r([r.bic for r in rows], 5)
    ll = format_r([r.loglik for r in rows], 5)
    dev = format_r([r.deviance for r in rows], 5)
    chis = [r.chisq for r in rows[1:]]
    chi = [""] + format_r(chis, 5) if chis else [""]
    p = [""] + [f"{r.p:.4g}" if math.isfinite(r.p) else "" for r in rows[1:]]
    stars = [""] + [_stars(r.p) for r in rows[1:]]
    cells = [[str(r.npar), aic[i], bic[i], ll[i], dev[i], chi[i], "" if r.df is None else str(r.df), p[i], stars[i]]
             for i, r in enumerate(rows)]
    lines += print_matrix(cells, cols + [""], [r.model for r in rows], right=True)
    lines += ["---", "Signif. codes:  0 '***' 0.001 '**' 0.01 '*' 0.05 '.' 0.1 ' ' 1"]
    return "\n".join(lines)


def _stars(p: float) -> str:
    if not math.isfinite(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else "." if p < 0.1 else " "


# --------------------------------------------------------------------------- diagnostics


def _num(v: float) -> str:
    return f"{v:.2f}" if abs(v) < 1000 else f"{v:,.0f}"


def diagnose(fit: Fit) -> list[Diagnostic]:
    """Plain-words findings about a fit, each with what to do about it."""
    out: list[Diagnostic] = []
    x, g = fit.names["x"], fit.names["group"]
    crit_name = fit.criterion_name
    optima = fit.distinct_optima()
    if len(optima) > 1:
        best, worst = optima[0][0], optima[-1][0]
        parts = "; ".join(
            f"{_num(v)} ({len(rs)} run{'s' if len(rs) > 1 else ''}: {', '.join(r.start_label for r in rs)})"
            for v, rs in optima
        )
        out.append(Diagnostic(
            "optima_disagree", "warning", "Runs stopped at different optima",
            f"Optimizer runs from different starts stopped at {len(optima)} different points: {parts}. "
            f"The best ({_num(best)}) is reported; a single run could have stopped at {_num(worst)}, "
            f"{_num(worst - best)} worse, and reported success.",
            "This is why lmmviz tries several starts. Compare optimizers to see who stops where.",
        ))
    if fit.singular:
        zero = [n for n, t, d in zip(fit.theta_names, fit.theta, range(len(fit.theta)))
                if d in _diag_positions(fit) and t < 1e-4]
        out.append(Diagnostic(
            "singular", "warning", "Singular fit",
            "The fit sits on the boundary: some random-effect variance is estimated as zero, or a "
            f"correlation as ±1 ({', '.join(zero)} ≈ 0). The data cannot tell these variance "
            "components apart, which often happens with few groups or a too-rich model.",
            "Simplify the random effects (for example use the random-intercept model), or check "
            "whether another optimizer finds a better, non-singular optimum.",
        ))
    corr = fit.max_abs_corr
    if math.isfinite(corr) and corr > 0.99:
        out.append(Diagnostic(
            "corr_one", "warning", "Correlation of ±1",
            f"The random intercepts and random slopes are perfectly correlated (|Corr| = {corr:.2f}): "
            f"each {g}'s line is forced onto one straight trade-off between intercept and slope, so the "
            "model really has one random effect, not two.",
            "Treat the random-slope variance as not estimable from these data; report the simpler "
            "model, or the better optimum if another optimizer finds one.",
        ))
    grad_msgs = [w for w in fit.warnings if "converge" in w or "gradient" in w]
    grad = np.abs(np.asarray(fit.gradient if fit.gradient is not None else [], float))
    if grad_msgs and grad.size and grad.max() < 1e-8 * abs(fit.criterion) and fit.n_obs > 10_000:
        # lme4's tolerance is absolute; on a criterion in the millions it flags rounding noise
        out.append(Diagnostic(
            "gradient", "info", "Gradient check: negligible at this size",
            f"lme4's check says: {'; '.join(grad_msgs)}. Its tolerance (0.002) is absolute, while with "
            f"{fit.n_obs:,} rows the {crit_name} is {abs(fit.criterion):,.0f}: a gradient of "
            f"{grad.max():.2g} is {grad.max() / abs(fit.criterion):.0e} of it, no sign of a missed minimum.",
            "Nothing to do; to be sure, compare optimizers and check that they agree.",
        ))
    elif grad_msgs:
        out.append(Diagnostic(
            "gradient", "warning", "Convergence check failed",
            "At the reported point the criterion is not flat, as it should be at a minimum: "
            + "; ".join(grad_msgs) + ".",
            "Try another optimizer or a tighter tolerance, and compare the criteria.",
        ))
    ident = [w for w in fit.warnings if "unidentifiable" in w or "singular:" in w]
    if ident:
        out.append(Diagnostic(
            "hessian", "warning", "Hessian check failed",
            "The curvature of the criterion at the optimum is degenerate: " + "; ".join(
                w.replace("\n", "") for w in ident) + ".",
            "Rescale x or y (for example to other units), or simplify the model.",
        ))
    failed_runs = [r for r in fit.runs if r.error is not None]
    if failed_runs:  # the robust default fits on with the other runs; say that some broke, and why
        out.append(Diagnostic(
            "run_failed", "problem",
            f"{len(failed_runs)} optimizer run{'s' if len(failed_runs) > 1 else ''} failed",
            "These runs stopped with an error and were left out: " + "; ".join(
                f"{r.optimizer} from {r.start_label}: {r.error}" for r in failed_runs) + ".",
            "The result comes from the other runs. An error here is not a property of your data: "
            "please report it.",
        ))
    if fit.optsum is not None and not fit.optsum.converged and fit.optimizer != "none":
        out.append(Diagnostic(
            "not_converged", "problem", "Optimizer did not finish",
            f"The optimizer stopped without claiming convergence: {fit.optsum.returnvalue}.",
            "Raise the maximum number of evaluations, or try another optimizer.",
        ))
    if fit.n_groups < FEW_GROUPS_WORDS:
        out.append(Diagnostic(
            "few_groups", "warning", f"Only {fit.n_groups} groups",
            f"Random-effect variances are estimated from {fit.n_groups} {g} values only. With so few "
            "groups a variance, and even more a correlation, is barely estimable: the criterion is "
            "flat or has several minima.",
            _few_groups_advice(fit.model, g),
        ))
    out.append(Diagnostic(
        "evaluations", "info", "Work done",
        f"{fit.evaluations} evaluations of the {crit_name} in {fit.seconds:.3f} s"
        + (f" over {len(fit.runs)} optimizer runs" if len(fit.runs) > 1 else "")
        + ("" if fit.optimizer != ROBUST else " (robust default)") + ".",
    ))
    return out


FEW_GROUPS_WORDS = 5


def _few_groups_advice(model: str, g: str) -> str:
    """What to do with few groups depends on the model: a richer one has more to lose."""
    if model in ("slope", "uncorrelated"):
        return ("Prefer a model with one variance, the random-intercept or within-between model, "
                f"or treat the {g} values as fixed effects.")
    if model == "within_between":
        return (f"This model already has a single variance. Read the between-{g} slope with care: it rests "
                f"on {g} averages only.")
    return (f"The slope comes mostly from the changes within each {g}; the variance between {g} values is "
            "rough. Report it as such, or treat the groups as fixed effects.")


def _diag_positions(fit: Fit) -> set[int]:
    from .models import get_model

    return set(get_model(fit.model).diagonal())
