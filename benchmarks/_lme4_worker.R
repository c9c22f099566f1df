# One lme4 measurement in its own process (the R counterpart of benchmarks/_worker.py).
# Usage: Rscript benchmarks/_lme4_worker.R CSV MODEL REML(TRUE|FALSE) [Y X GROUP]
# Prints one JSON line: read_seconds (read.csv), fit_seconds (lmer with its defaults,
# i.e. lmerControl() = nloptwrap / NLOPT_LN_BOBYQA), criterion (REMLcrit or deviance),
# theta, beta, lme4's convergence messages. Peak memory is measured by the parent (wait4).
t_start <- proc.time()[["elapsed"]]
suppressMessages({library(lme4); library(jsonlite)})
args <- commandArgs(TRUE)
csv <- args[1]; model <- args[2]; reml <- as.logical(args[3])
y <- if (length(args) >= 6) args[4] else "pain"
x <- if (length(args) >= 6) args[5] else "dosage"
g <- if (length(args) >= 6) args[6] else "subject_id"
t_imp <- proc.time()[["elapsed"]]
cc <- c("character"); names(cc) <- g
df <- read.csv(csv, colClasses=cc)
df[[g]] <- factor(df[[g]])
t_read <- proc.time()[["elapsed"]]
form <- switch(model,
  intercept = sprintf("%s ~ %s + (1 | %s)", y, x, g),
  slope = sprintf("%s ~ %s + (1 + %s | %s)", y, x, x, g),
  uncorrelated = sprintf("%s ~ %s + (1 | %s) + (0 + %s | %s)", y, x, g, x, g))
out <- tryCatch({
  m <- suppressMessages(withCallingHandlers(lmer(as.formula(form), data=df, REML=reml),
                                            warning=function(w) invokeRestart("muffleWarning")))
  t_fit <- proc.time()[["elapsed"]]
  list(status="ok", criterion=if (reml) REMLcrit(m) else deviance(m),
       theta=unname(getME(m, "theta")), beta=unname(fixef(m)),
       messages=as.list(as.character(unlist(m@optinfo$conv$lme4$messages))),
       converged=length(m@optinfo$conv$lme4$messages) == 0,
       evaluations=m@optinfo$feval, fit_seconds=t_fit - t_read)
}, error=function(e) list(status="error", error=conditionMessage(e)))
out$system <- "lme4"
out$import_seconds <- t_imp - t_start
out$read_seconds <- t_read - t_imp
out$n_rows <- nrow(df)
out$n_groups <- nlevels(df[[g]])
out$lme4_version <- as.character(packageVersion("lme4"))
cat(toJSON(out, auto_unbox=TRUE, digits=NA, null="null", na="null"), "\n")
