# The R side of benchmarks/analysis_benchmark.py: the workup that
# `healing-survey analyze DATA.csv --factors auto --iterations 20 --cfa` runs, with psych and
# lavaan. Usage: Rscript --vanilla workup.R DATA.csv KEYS.csv
# KEYS.csv has the columns scale, item, reversed (1 for a reverse-keyed item).
# Prints "STEP name seconds" per step and "RESULT ..." lines for a sanity check.
last <- proc.time()[["elapsed"]]
step <- function(name) {
  now <- proc.time()[["elapsed"]]
  cat(sprintf("STEP %s %.3f\n", name, now - last))
  last <<- now
}

args <- commandArgs(trailingOnly = TRUE)
suppressPackageStartupMessages({
  library(psych)
  library(GPArotation)
  library(lavaan)
})
step("libraries")

x <- read.csv(args[1])
keys <- read.csv(args[2])
scales <- unique(keys$scale)
step("read_csv")

item_stats <- describe(x)
frequencies <- response.frequencies(x)
step("item_statistics")

alphas <- sapply(scales, function(s) {
  items <- keys$item[keys$scale == s]
  reversed <- keys$item[keys$scale == s & keys$reversed == 1]
  a <- psych::alpha(x[, items], keys = if (length(reversed)) reversed else NULL)
  a$total$raw_alpha
})
step("alpha")

omega_total <- suppressWarnings(suppressMessages(sapply(scales, function(s) {
  items <- keys$item[keys$scale == s]
  psych::omega(x[, items], nfactors = 1, plot = FALSE)$omega.tot
})))
step("omega_per_scale")

omega_all <- psych::omega(x, nfactors = length(scales), plot = FALSE)
step("omega_hierarchical")

kmo <- KMO(x)
bartlett <- suppressWarnings(cortest.bartlett(x))
step("kmo_bartlett")

parallel <- fa.parallel(x, n.iter = 20, fa = "both", plot = FALSE)
step("fa_parallel")

efa <- fa(x, nfactors = length(scales))
step("fa")

model <- paste(
  sapply(scales, function(s) paste(s, "=~", paste(keys$item[keys$scale == s], collapse = " + "))),
  collapse = "\n"
)
fit <- cfa(model, data = x)
measures <- fitMeasures(fit, c("chisq", "df", "cfi", "rmsea", "srmr"))
step("cfa")

cat("RESULT alpha", paste(sprintf("%s %.3f", scales, alphas), collapse = ", "), "\n")
cat("RESULT omega_total", paste(sprintf("%s %.3f", scales, omega_total), collapse = ", "), "\n")
cat(sprintf("RESULT omega_hierarchical %.3f, KMO %.3f\n", omega_all$omega_h, kmo$MSA))
cat(sprintf("RESULT fa.parallel %d factors, %d components\n", parallel$nfact, parallel$ncomp))
cat(sprintf(
  "RESULT cfa chi2 %.1f (df %d), CFI %.4f, RMSEA %.4f, SRMR %.4f\n",
  measures[["chisq"]], as.integer(measures[["df"]]), measures[["cfi"]], measures[["rmsea"]],
  measures[["srmr"]]
))
