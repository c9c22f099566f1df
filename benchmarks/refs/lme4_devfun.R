# lme4's own profiled deviance (devFunOnly) at given θ values: checks that an optimum lmmviz
# reports (sometimes below every lme4 optimizer's answer) is a real point of lme4's objective.
# Usage: Rscript benchmarks/refs/lme4_devfun.R REQUEST.json ANSWER.json
# REQUEST: a list of {csv, y, x, group, model, REML, theta}; ANSWER adds lme4_criterion.
suppressMessages({library(lme4); library(jsonlite)})
a <- commandArgs(TRUE)
req <- fromJSON(a[1], simplifyVector=FALSE)
cache <- list()
out <- lapply(req, function(r) {
  key <- paste(r$csv, r$group)
  if (is.null(cache[[key]])) {
    cc <- "character"; names(cc) <- r$group
    df <- read.csv(r$csv, colClasses=cc)
    df[[r$group]] <- factor(df[[r$group]])
    df$x_mean <- ave(df[[r$x]], df[[r$group]]); df$x_within <- df[[r$x]] - df$x_mean
    cache[[key]] <<- df
  }
  df <- cache[[key]]
  y <- r$y; x <- r$x; g <- r$group
  form <- switch(r$model,
    intercept = sprintf("%s ~ %s + (1 | %s)", y, x, g),
    slope = sprintf("%s ~ %s + (1 + %s | %s)", y, x, x, g),
    uncorrelated = sprintf("%s ~ %s + (1 | %s) + (0 + %s | %s)", y, x, g, x, g),
    within_between = sprintf("%s ~ x_within + x_mean + (1 | %s)", y, g))
  f <- lmer(as.formula(form), data=df, REML=r$REML, devFunOnly=TRUE)
  r$lme4_criterion <- f(unlist(r$theta))
  r
})
writeLines(toJSON(list(lme4_version=as.character(packageVersion("lme4")), R_version=R.version.string,
                       evaluations=out), auto_unbox=TRUE, digits=NA, pretty=TRUE), a[2])
