"""lme4-style summary text and diagnostics in plain words."""

from __future__ import annotations

import math

import numpy as np

from .inference import Confint
from .optimizers import ROBUST
from .results import Anova, Diagnostic, Fit
from .rformat import abbreviate, format_r, print_matrix, print_named, zapsmall

DIGITS = 4  # print.summary.merMod: max(3, getOption("digits") - 3)
# A fit from per-group sums has everything but the rows' residuals (their quantiles need the rows).
NO_ROWS = "not available from per-group statistics (their quantiles need the rows)"


def summary_text(fit: Fit, data_name: str = "data", satterthwaite: bool = True) -> str:
    """``print(summary(m))`` of lmerTest 3.1 (with ``satterthwaite``: t-tests on
    Satterthwaite's df, as when lmerTest is loaded) or of lme4 1.1, line for line.

    The last block names the optimizer that ran (lmmviz's name for it), where
    lme4 prints its own optimizer name.
    """
    out: list[str] = []
    title = "Linear mixed model fit by " + ("REML" if fit.reml else "maximum likelihood ")
    if satterthwaite:
        out.append(f"{title}. t-tests use Satterthwaite's method ['lmerModLmerTest']")
    else:
        out.append(f"{title} ['lmerMod']")
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
    if fit.residuals is None:
        out.append(f"Scaled residuals: {NO_ROWS}")
    else:
        out.append("Scaled residuals: ")
        q = np.quantile(fit.residuals / fit.sigma, [0, 0.25, 0.5, 0.75, 1.0])
        out.extend(print_named(format_r(zapsmall(q, DIGITS + 1), DIGITS), ["Min", "1Q", "Median", "3Q", "Max"]))
    out.append("")
    out.append("Random effects:")
    out.extend(_varcorr_lines(fit))
    out.append(f"Number of obs: {fit.n_obs}, groups:  {fit.names['group']}, {fit.n_groups}")
    out.append("")
    out.append("Fixed effects:")
    out.extend(_coef_lines(fit, satterthwaite))
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


def _coef_lines(fit: Fit, satterthwaite: bool) -> list[str]:
    """R's ``printCoefmat``: estimate, SE (and lmerTest's df) rounded together, then t and
    lmerTest's p-value with significance stars."""
    est, se = np.asarray(fit.beta), np.asarray(fit.se)
    cols = [est, se, np.asarray(fit.df, float)] if satterthwaite else [est, se]
    coef_se = np.concatenate(cols)
    acs = np.abs(coef_se[np.isfinite(coef_se) & (coef_se != 0)])
    digmin = 1 + np.floor(np.log10([acs.min(), acs.max()])) if acs.size else np.zeros(2)
    dec = int(max(1, *(DIGITS - digmin)))
    formatted = format_r(np.round(coef_se, dec), DIGITS)
    p = len(est)
    tv = format_r(np.round(est / se, max(1, min(5, DIGITS - 1))), DIGITS)
    cells = [[formatted[k * p + i] for k in range(len(cols))] + [tv[i]] for i in range(p)]
    names = ["Estimate", "Std. Error", "df", "t value"] if satterthwaite else ["Estimate", "Std. Error", "t value"]
    if not satterthwaite:
        return print_matrix(cells, names, list(fit.fixef_names), right=True)
    pv = fit.p_value
    for row, text in zip(cells, format_pval(pv, max(1, min(5, DIGITS - 1)))):
        row.append(text)
    names.append("Pr(>|t|)")
    if not np.any(pv < 0.1):
        return print_matrix(cells, names, list(fit.fixef_names), right=True)
    stars = [_stars(v) or " " for v in pv]
    width = max(len(s) for s in stars)
    for row, star in zip(cells, stars):
        row.append(star.ljust(width))
    return print_matrix(cells, names + [""], list(fit.fixef_names), right=True) + [
        "---", "Signif. codes:  0 ‘***’ 0.001 ‘**’ 0.01 ‘*’ 0.05 ‘.’ 0.1 ‘ ’ 1"]


def format_pval(pv, digits: int, eps: float = float(np.finfo(float).eps)) -> list[str]:
    """R's ``format.pval``: p-values below eps as "<2e-16", the others formatted together
    (fixed notation where ≥ 1e-3, R's choice for the rest)."""
    pv = np.asarray(pv, float)
    out = ["NA"] * len(pv)
    small = [i for i, v in enumerate(pv) if v < eps]
    for part in ([i for i, v in enumerate(pv) if v >= eps and (v == 0 or math.floor(math.log10(v)) >= -3)],
                 [i for i, v in enumerate(pv) if eps <= v and v != 0 and math.floor(math.log10(v)) < -3]):
        for i, text in zip(part, format_r(pv[part], digits) if part else []):
            out[i] = text
    if small:
        d, sep = max(1, digits - 2), ""
        rest = [out[i] for i in range(len(pv)) if i not in small and math.isfinite(pv[i])]
        if rest:
            nc = max(len(r) for r in rest)
            if d > 1 and d + 6 > nc:
                d = max(1, nc - 7)
            sep = "" if d == 1 and nc <= 6 else " "
        elif d != 1:
            sep = " "
        for i in small:
            out[i] = f"<{sep}{format_r([eps], d)[0]}"
    return out


def confint_text(ci: Confint) -> str:
    """R's print of ``confint(m, parm = "beta_")``, headed by the method."""
    lo, up = (format_r(v, 7) for v in (ci.lower, ci.upper))
    tail = (1.0 - ci.level) / 2.0
    cols = [f"{format_r([100 * p], 3)[0].strip()} %" for p in (tail, 1.0 - tail)]
    lines = print_matrix([[a, b] for a, b in zip(lo, up)], cols, list(ci.names), right=True)
    return "\n".join([f"Confidence intervals ({ci.method}):"] + lines)


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


def plain_number(v: float, digits: int = 2, sign: bool = False) -> str:
    """A number for a sentence or a chart: ``digits`` decimals (none from 1000 up), one or two
    more when the value sits within 1% of a last digit from a rounding boundary: an optimizer's
    last bits, which differ between machines, must not decide the digit a student sees (the
    seed's random slope −8.21498 reads −8.215 everywhere, not −8.21 here and −8.22 there); a
    real minus sign, and a plus sign if ``sign``."""
    if not math.isfinite(v):
        return "n/a"
    d = digits if abs(v) < 1000 else 0
    top = d + 2
    while d < top and abs((abs(v) * 10 ** d) % 1 - 0.5) < 0.01:
        d += 1
    s = f"{abs(v):,.{d}f}"
    if float(s.replace(",", "")) == 0:
        return s
    return ("\u2212" if v < 0 else "+" if sign else "") + s


def slope_inference(fit: Fit, ci: Confint, unit: str = "group") -> str:
    """The slope with its interval, df and p-value in words a student reads (the within
    slope of the within-between model): "slope −8.215, 95% CI −11.40 to −5.02 (profile);
    with only 3 subjects, df = 2.0, p = 0.028: the interval lies below 0"."""
    j = 1
    lo, up = ci.lower[j], ci.upper[j]
    level = f"{100 * ci.level:g}%"
    few = f"with only {fit.n_groups} {unit}s, " if fit.n_groups < FEW_GROUPS_WORDS else ""
    p = float(fit.p_value[j])
    p_text = "p < 0.001" if p < 0.001 else f"p = {p:.2g}"
    where = ("lies below 0" if up < 0 else "lies above 0" if lo > 0 else "includes 0: the sign is not settled")
    return (f"slope {plain_number(fit.slope, 3)}, {level} CI {plain_number(lo)} to {plain_number(up)} "
            f"({ci.method}); {few}df = {fit.df[j]:.1f}, {p_text}: the interval {where}")


def stop_reason(returnvalue: str) -> str:
    """Why an optimizer stopped, in words: its budget, its clock, or its own message."""
    low = (returnvalue or "").lower()
    if "maxeval" in low or "evaluations" in low or "maxfev" in low or "maxfun" in low:
        return "it used up its maximum number of evaluations"
    if "time" in low:
        return "it ran out of time"
    return f"its message: {returnvalue}" if returnvalue else "it gave no reason"


def _num(v: float) -> str:
    return plain_number(v)


def _known_starts(runs) -> list[str]:
    """The starting points among ``runs`` a reader may know by name (lme4's, statsmodels',
    their own), in plain words; the robust default's other starts are not named."""
    names = []
    for r in runs:
        label = r.start_label.lower()
        name = ("your start" if "your start" in label else "statsmodels' start" if "statsmodels" in label
                else "lme4's own start" if "lme4" in label else None)
        if name and name not in names:
            names.append(name)
    return names


def _stopped_higher(v: float, best: float, runs) -> str:
    names = _known_starts(runs)
    text = f"{len(runs)} stopped at {_num(v)}, {_num(v - best)} higher"
    if names and len(runs) == 1:
        text += f" (the run from {names[0]})"
    elif names:
        text += f" (among them the runs from {' and '.join(names)})"
    return text


def _signed(v: float) -> str:
    return plain_number(v, sign=True)


def _re_name(var: str | None, x: str) -> str:
    return "random intercepts" if var in (None, "(Intercept)") else f"random slopes of {x}"


def _boundary_parts(fit: Fit) -> list[str]:
    """What sits on the boundary, in words: an SD estimated as 0, a correlation as ±1."""
    parts = []
    x = fit.names["x"]
    sds = [r for r in fit.varcorr if r.var2 is None and r.grp != "Residual"]
    for r in sds:
        if not (r.sdcor > 1e-4 * fit.sigma):
            parts.append(f"the SD of the {_re_name(r.var1, x)} is estimated as 0")
    for r in fit.varcorr:
        if r.var2 is not None and math.isfinite(r.sdcor) and abs(r.sdcor) > 0.99:
            parts.append(f"the correlation of random intercepts and slopes is estimated as {_signed(r.sdcor)}")
    return parts


def diagnostic_parts(d: Diagnostic) -> tuple[str, str, str]:
    """(what happened, why it matters, what to do) of a Diagnostic, for display on
    separate lines; the message holds the first two, split at "Why it matters: "."""
    what, _, why = d.message.partition(" Why it matters: ")
    return what, why, d.advice


def diagnose(fit: Fit) -> list[Diagnostic]:
    """Plain-words findings about a fit for a reader who knows regression but not
    lme4's internals: each says what happened and why it matters (``message``), and
    what to do (``advice``)."""
    found = (check(fit) for check in (_optima_disagree, _singular, _corr_one, _gradient, _flat, _failed_runs,
                                      _unfinished, _few_groups))
    return [d for d in found if d is not None] + [_work_done(fit)]


def _optima_disagree(fit: Fit) -> Diagnostic | None:
    """Runs of the robust default that stopped at different optima."""
    optima = fit.distinct_optima()
    if len(optima) < 2:
        return None
    crit_name = fit.criterion_name
    best, best_runs = optima[0]
    worse = "; ".join(_stopped_higher(v, best, rs) for v, rs in optima[1:])
    return Diagnostic(
        "optima_disagree", "warning", "More than one optimum: the lowest is reported",
        "lmmviz's robust default runs the optimizer from several starting points. "
        f"{len(best_runs)} of its runs reached the lowest {crit_name}, {_num(best)}: that fit is the one "
        f"reported here. Others stopped higher: {worse}. "
        + ("Each of those runs reported success: a single run, as in lme4, can stop at the worse point "
           "(a local optimum) without any warning, and its estimates differ."
           if all(r.converged for _, rs in optima[1:] for r in rs) else
           "A single run, as in lme4, can stop at such a worse point (a local optimum), and its estimates "
           "differ."),
        "Nothing to fix here: the lowest optimum is reported. To see which optimizers stop where, "
        "open the Compare optimizers tab (or run lmmviz compare); the Landscape tab shows the criterion's "
        "separate valleys.",
    )


def _singular(fit: Fit) -> Diagnostic | None:
    """An SD estimated as 0 or a correlation as ±1 (lme4's singular fit)."""
    if not fit.singular:
        return None
    g = fit.names["group"]
    parts = _boundary_parts(fit) or ["a variance parameter sits on its limit"]
    if fit.model in ("slope", "uncorrelated") and fit.optimizer == ROBUST:
        advice = ("Fit the simpler random-intercept model and compare the two (the likelihood-ratio test). "
                  "The robust default searched away from the boundary too and found nothing lower, so this "
                  "is what the data say, not an optimizer's slip.")
    elif fit.model in ("slope", "uncorrelated"):
        advice = ("Fit the simpler random-intercept model and compare; and check that no other "
                  "optimizer (Compare optimizers tab, or lmmviz compare) finds a lower criterion away "
                  "from the boundary. If one does, report that fit instead.")
    else:
        advice = (f"Say so when you report the fit: the {g} groups differ no more than the residual noise "
                  "would make them, and the fixed effects are those of an ordinary regression (OLS) on the "
                  "same predictors.")
    return Diagnostic(
        "singular", "warning", "Singular fit: a variance at its limit",
        f"In this fit {' and '.join(parts)}. An SD cannot go below 0 and a correlation not beyond ±1, so "
        "the estimate sits on the edge of what is possible (lme4 calls this a singular fit). "
        "Why it matters: the data do not support that part of the random effects; its estimate "
        "and the tests built on it are unreliable"
        + (", and an optimizer stopped at such an edge may have missed a better fit." if fit.optimizer != ROBUST
           else "."),
        advice,
    )


def _corr_one(fit: Fit) -> Diagnostic | None:
    """A correlation of random intercepts and slopes estimated as ±1."""
    corr = fit.max_abs_corr
    if not (math.isfinite(corr) and corr > 0.99):
        return None
    x, g = fit.names["x"], fit.names["group"]
    value = next((r.sdcor for r in fit.varcorr if r.var2 is not None), corr)
    return Diagnostic(
        "corr_one", "warning", "Correlation of ±1",
        f"The random intercepts and the random slopes of {x} are estimated as perfectly correlated "
        f"(correlation {_signed(value)}): each {g}'s slope is then fixed by its intercept, so the model has "
        "in effect one random effect, not two. Why it matters: a correlation of exactly ±1 is almost "
        f"never real; it means that these data cannot estimate it (too few groups, or too little spread of {x} "
        "within them)"
        + (", or that the optimizer stopped at a local optimum." if fit.optimizer != ROBUST else "."),
        "Do not report this correlation. "
        + ("Check whether the robust default or another optimizer (Compare optimizers tab, or lmmviz "
           "compare) finds a lower criterion; if not, fit " if fit.optimizer != ROBUST else "Fit ")
        + "the uncorrelated or the random-intercept model and compare them with the likelihood-ratio test.",
    )


def _gradient(fit: Fit) -> Diagnostic | None:
    """lme4's convergence check failed (or, on very large data, raised a false alarm)."""
    crit_name = fit.criterion_name
    grad_msgs = [w for w in fit.warnings if "converge" in w or "gradient" in w]
    grad = np.abs(np.asarray(fit.gradient if fit.gradient is not None else [], float))
    if grad_msgs and grad.size and grad.max() < 1e-8 * abs(fit.criterion) and fit.n_obs > 10_000:
        # lme4's tolerance is absolute; on a criterion in the millions it flags rounding noise
        return Diagnostic(
            "gradient", "info", "Convergence check: a false alarm at this size",
            f"lme4's convergence check complains ({'; '.join(grad_msgs)}), but its tolerance (0.002) is "
            f"a fixed number, while with {fit.n_obs:,} rows the {crit_name} is {abs(fit.criterion):,.0f}: "
            f"the remaining slope of the criterion, {grad.max():.2g}, is {grad.max() / abs(fit.criterion):.0e} "
            "of it, rounding noise rather than a sign of a missed minimum.",
            "Nothing to do; to be sure, compare optimizers and check that they agree.",
        )
    if not grad_msgs:
        return None
    return Diagnostic(
        "gradient", "warning", "Convergence check failed",
        "Where the optimizer stopped, the criterion still slopes; at a minimum it would be flat "
        f"(lme4's check: {'; '.join(grad_msgs)}). Why it matters: the optimizer may have stopped before "
        "the minimum, and the estimates may still change.",
        "Refit with the robust default or another optimizer (Compare optimizers tab, or lmmviz compare): "
        "if they reach the same criterion and slope, the warning was harmless; if one finds a lower "
        "criterion, report that.",
    )


def _flat(fit: Fit) -> Diagnostic | None:
    """lme4's check that the criterion curves in every direction at the optimum failed."""
    ident = [w for w in fit.warnings if "unidentifiable" in w or "singular:" in w]
    if not ident:
        return None
    x = fit.names["x"]
    return Diagnostic(
        "hessian", "warning", "The criterion is flat in some direction",
        "At the optimum the criterion hardly curves in some direction, so the data cannot pin down "
        "some combination of the variance parameters (lme4's check: " + "; ".join(
            w.replace("\n", "") for w in ident) + "). Why it matters: those estimates, and the standard "
        "errors that depend on them, are unreliable.",
        f"Rescale {x} or {fit.names['y']} (for example to other units, or centre {x}), or simplify the "
        "random effects to the random-intercept model.",
    )


def _failed_runs(fit: Fit) -> Diagnostic | None:
    """Optimizer runs that stopped with an error (the fit comes from the others)."""
    failed_runs = [r for r in fit.runs if r.error is not None]
    if not failed_runs:
        return None
    # the robust default fits on with the other runs; say that some broke, and why
    return Diagnostic(
        "run_failed", "problem",
        f"{len(failed_runs)} optimizer run{'s' if len(failed_runs) > 1 else ''} failed",
        "These runs stopped with an error and were left out: " + "; ".join(
            f"{r.optimizer} from {r.start_label}: {r.error}" for r in failed_runs) + ".",
        "The result comes from the other runs. An error here is not a property of your data: "
        "please report it.",
    )


def _unfinished(fit: Fit) -> Diagnostic | None:
    """Runs cut short by the time limit, or an optimizer that did not settle."""
    cut = fit.timed_out_runs
    if cut:
        return Diagnostic(
            "time_limit", "problem", "Stopped by the time limit",
            "The fit was stopped by the time limit: the result may be a local optimum. "
            + ("Its optimizer run was" if len(fit.runs) == 1
               else f"All {len(cut)} of its optimizer runs were" if len(cut) == len(fit.runs)
               else f"{len(cut)} of its {len(fit.runs)} optimizer runs {'was' if len(cut) == 1 else 'were'}")
            + f" cut short after {fit.evaluations} evaluations in {fit.seconds:.1f} s; normally the number of "
            "evaluations alone decides when the optimizer stops, and the time limit is only a safety for "
            "a busy machine or very large data.",
            "Fit again when the machine is less busy, or where the time limit can be raised "
            "(lmmviz fit --max-seconds, or max_seconds in Python); then check that the criterion is "
            "the same or lower.",
        )
    elif fit.optsum is not None and not fit.optsum.converged and fit.optimizer != "none":
        return Diagnostic(
            "not_converged", "problem", "Optimizer did not finish",
            f"The optimizer stopped before it settled on a minimum ({stop_reason(fit.optsum.returnvalue)}). "
            "Why it matters: "
            "the estimates shown are wherever it happened to stop, not a fit of the model.",
            "Raise the maximum number of evaluations (sidebar: Optimizer settings, “Maximum evaluations "
            "per run”; command line: --maxeval), or use the robust default.",
        )
    return None


def _few_groups(fit: Fit) -> Diagnostic | None:
    """Too few groups to estimate variances well."""
    if fit.n_groups >= FEW_GROUPS_WORDS:
        return None
    x, g = fit.names["x"], fit.names["group"]
    return Diagnostic(
        "few_groups", "warning", f"Only {fit.n_groups} groups",
        f"The data hold only {fit.n_groups} groups (values of {g}). Why it matters: each variance of a "
        f"random effect is estimated from the {fit.n_groups} groups, like an SD from {fit.n_groups} "
        "numbers, so it is very uncertain, and a correlation even more; the criterion can be flat or "
        "have several minima, where optimizers stop in different places.",
        _few_groups_advice(fit.model, g, fit.n_groups, x),
    )


def _work_done(fit: Fit) -> Diagnostic:
    """How many evaluations and seconds the fit took."""
    crit_name = fit.criterion_name
    return Diagnostic(
        "evaluations", "info", "Work done",
        f"The {crit_name} was computed {fit.evaluations} times in {fit.seconds:.3f} s"
        + (f", over {len(fit.runs)} optimizer runs from different starting points" if len(fit.runs) > 1 else "")
        + ("" if fit.optimizer != ROBUST else " (robust default)") + ".",
    )


FEW_GROUPS_WORDS = 5


def _few_groups_advice(model: str, g: str, n: int, x: str) -> str:
    """What to do with few groups depends on the model: a richer one has more to lose."""
    fixed = f"or treat the {g} values as fixed effects (a categorical predictor in an ordinary regression)"
    if model in ("slope", "uncorrelated"):
        return f"Prefer a model with one variance, the random-intercept or within-between model, {fixed}."
    if model == "within_between":
        return (f"This model already has a single variance. Read the between-group slope (of the averages of {x} "
                f"per {g} value) with care: it rests on {n} averages only.")
    return (f"Trust the slope of {x} more than the variance between groups: the slope comes mostly from "
            f"the changes within each group, the variance from {n} group levels only. Report the variance as "
            f"rough, {fixed}.")

