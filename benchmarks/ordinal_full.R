# The R side of benchmarks/analysis_benchmark.py, like for like with what
# `healing-survey analyze DATA.csv --scales SPEC.yaml --ordinal --factors 6` computes: item
# statistics and response frequencies, alpha and omega total per scale (Pearson, as the
# command's reliability), then on the polychoric matrix KMO, Bartlett, omega hierarchical with
# one group factor per scale, and a minres/oblimin EFA. (benchmarks/ordinal.R times only the
# polychoric matrix and the EFA.)
# Usage: Rscript --vanilla ordinal_full.R DATA.csv KEYS.csv
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

poly <- polychoric(x)
step("polychoric")

kmo <- KMO(poly$rho)
bartlett <- cortest.bartlett(poly$rho, n = nrow(x))
step("kmo_bartlett")

omega_all <- psych::omega(poly$rho, nfactors = length(scales), n.obs = nrow(x), plot = FALSE)
step("omega_hierarchical")

efa <- fa(poly$rho, nfactors = 6, n.obs = nrow(x))
step("fa")

cat("RESULT alpha", paste(sprintf("%s %.3f", scales, alphas), collapse = ", "), "\n")
cat(sprintf("RESULT polychoric omega hierarchical %.3f, KMO %.3f, fa TLI %.4f\n",
            omega_all$omega_h, kmo$MSA, efa$TLI))
