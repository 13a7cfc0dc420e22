# The R side of benchmarks/irt_benchmark.py: R ltm 1.2-0's graded response model on every column
# of DATA.csv, with what `analysis.irt.grm` always computes: the fit (21 Gauss-Hermite points),
# standard errors (Hessian = TRUE) and EAP scores with posterior SDs for every respondent.
# Usage: Rscript --vanilla irt.R DATA.csv
# Prints "STEP name seconds" per step and "RESULT ..." lines for a sanity check.
last <- proc.time()[["elapsed"]]
step <- function(name) {
  now <- proc.time()[["elapsed"]]
  cat(sprintf("STEP %s %.3f\n", name, now - last))
  last <<- now
}

args <- commandArgs(trailingOnly = TRUE)
suppressPackageStartupMessages(library(ltm))
step("libraries")

x <- read.csv(args[1])
step("read_csv")

fit <- grm(x, Hessian = TRUE)
step("grm")

se <- summary(fit)$coefficients
step("standard_errors")

scores <- ltm::factor.scores(fit, resp.patterns = x, method = "EAP")$score.dat
step("eap_scores")

parms <- ltm:::IRT.parm(fit)$parms
cat(sprintf("RESULT loglik %.4f\n", fit$log.Lik))
cat(sprintf("RESULT a %s\n", paste(sprintf("%.4f", sapply(parms, function(p) p[length(p)])),
                                    collapse = " ")))
cat(sprintf("RESULT mean_eap %.4f\n", mean(scores$z1)))
