# The R side of benchmarks/analysis_benchmark.py: the ordinal workup that
# `healing-survey analyze DATA.csv --ordinal --factors 6` runs: polychoric correlations and a
# minres/oblimin EFA of them. Usage: Rscript --vanilla ordinal.R DATA.csv [KEYS.csv]
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
step("read_csv")

poly <- polychoric(x)
step("polychoric")

efa <- fa(poly$rho, nfactors = 6, n.obs = nrow(x))
step("fa")

cat(sprintf("RESULT polychoric mean |r| %.4f, fa TLI %.4f\n",
            mean(abs(poly$rho[upper.tri(poly$rho)])), efa$TLI))
