# lme4 reference fits for the simulated data sets of the correctness table.
# Usage (from the repository root): Rscript benchmarks/refs/make_sim_refs.R benchmarks/refs NAME...
# Each NAME.csv (made by `lmmviz simulate`, columns subject_id, dosage, pain) must be in the
# folder; NAME.lme4.json is written beside it. The fits are those of tests/fixtures/make_refs.R
# (its functions are sourced, its own data sets are not refitted): the 7 optimizers of
# lme4's allFit for intercept, slope, uncorrelated and within_between, under REML and ML.
# Per-group modes, conditional SDs and summary text are dropped to keep the files small.
# Needs Debian packages r-base-core r-cran-lme4 r-cran-jsonlite r-cran-optimx r-cran-dfoptim.
exprs <- parse("tests/fixtures/make_refs.R")
for (e in exprs) {
  if (is.call(e) && identical(e[[1]], as.name("<-")) && identical(e[[2]], as.name("args"))) break
  eval(e, globalenv())
}
a <- commandArgs(TRUE)
dir <- a[1]
keep <- c("optimizer", "model", "formula", "REML", "criterion", "logLik", "theta", "fixef", "se",
          "sigma", "singular", "conv_messages", "optinfo_message", "conv_code", "feval")
for (name in a[-1]) {
  df <- read.csv(file.path(dir, paste0(name, ".csv")), colClasses=c(subject_id="character"))
  r <- fitall(df, "pain", "dosage", "subject_id", name)
  r$fits <- lapply(r$fits, function(f) f[intersect(keep, names(f))])
  r$anova <- NULL
  writeLines(toJSON(r, auto_unbox=TRUE, digits=NA, pretty=TRUE, null="null", na="null"),
             file.path(dir, paste0(name, ".lme4.json")))
  cat(name, "done\n")
}
