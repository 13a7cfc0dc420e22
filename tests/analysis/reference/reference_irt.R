# Reference numbers for analysis/irt.py (tests/analysis/test_irt.py).
#
# Run from the repository root:  Rscript tests/analysis/reference/reference_irt.R
# Produced with R 4.2 and ltm 1.2-0 (from CRAN's GitHub mirror, github.com/cran/ltm, installed
# with R CMD INSTALL on Debian bookworm's r-cran-msm and r-cran-polycor).
# ltm's coef() rounds to 3 decimals, so the estimates come unrounded from ltm:::IRT.parm(fit),
# the standard errors from summary(fit) (grm(..., Hessian = TRUE)).
suppressPackageStartupMessages(library(ltm))
options(digits = 10, width = 200)
here <- "tests/analysis"
bfi <- read.csv(file.path(here, "data", "b_bfi.csv"))

report <- function(label, fit) {
  cat("==", label, "==\n")
  cat("logLik:", format(fit$log.Lik, digits = 12), " convergence:", fit$convergence,
      " max.sc:", fit$max.sc, "\n")
  parms <- ltm:::IRT.parm(fit)$parms
  for (item in names(parms)) cat(item, "parms:", format(parms[[item]], digits = 10), "\n")
  s <- summary(fit)$coefficients
  for (item in names(s)) cat(item, "se:", format(s[[item]][, "std.err"], digits = 10), "\n")
  invisible(parms)
}

# Neuroticism, 5 items as answered (missing answers kept: the likelihood runs over observed items)
neuro <- bfi[, paste0("N", 1:5)]
fit_n <- grm(neuro, Hessian = TRUE)
report("grm(bfi[, N1:N5], Hessian = TRUE)", fit_n)

# Agreeableness, A1 reverse-keyed (7 - A1) as in tests/analysis/data/bfi_scales.yaml
agree <- bfi[, paste0("A", 1:5)]
agree$A1 <- 7 - agree$A1
fit_a <- grm(agree, Hessian = TRUE)
report("grm(agree (A1 reversed), Hessian = TRUE)", fit_a)

# Standard errors of b_k, k >= 2: ltm's IRT.parm() applies the delta method with the covariance of
# alpha and the k-th *untransformed* threshold parameter (log(beta_k - beta_{k-1})) where it needs
# cov(beta_k, alpha), so its b_2.. standard errors are wrong (N1's b5: 3.94). The same inverse
# Hessian (ltm's, from optim) with the full Jacobian of (b_1..b_{K-1}, a) in the optimised
# parameters (beta_1, log diffs, alpha):
delta_se <- function(fit) {
  V <- MASS::ginv(fit$hessian)
  blocks <- lapply(fit$coefficients, function(x) {
    nx <- length(x); alpha <- x[nx]; beta <- x[-nx]; k <- nx - 1
    t <- c(beta[1], log(diff(beta)))
    dbeta <- matrix(0, k, k)
    dbeta[, 1] <- 1
    if (k > 1) for (i in 2:k) dbeta[i:k, i] <- exp(t[i])
    J <- matrix(0, nx, nx)
    J[1:k, 1:k] <- dbeta / alpha
    J[1:k, nx] <- -beta / alpha^2
    J[nx, nx] <- 1
    J
  })
  J <- as.matrix(Matrix::bdiag(blocks))
  se <- sqrt(diag(J %*% V %*% t(J)))
  split(se, rep(seq_along(blocks), sapply(blocks, nrow)))
}
cat("== delta-method se from ginv(fit_n$hessian), full Jacobian ==\n")
for (s in delta_se(fit_n)) cat(format(s, digits = 10), "\n")
cat("== delta-method se from ginv(fit_a$hessian), full Jacobian ==\n")
for (s in delta_se(fit_a)) cat(format(s, digits = 10), "\n")

# Unequal numbers of categories: N5 collapsed to 3 (1-2, 3-4, 5-6), N4 to 4 (1-2, 3, 4, 5-6)
mixed <- neuro
mixed$N5 <- (mixed$N5 + 1) %/% 2
mixed$N4 <- c(1, 1, 2, 3, 4, 4)[mixed$N4]
fit_m <- grm(mixed, Hessian = TRUE)
report("grm(N1:N5 with N5 in 3 and N4 in 4 categories, Hessian = TRUE)", fit_m)

# Item information at theta = -4, -2, 0, 1.5, 4 (plot.grm's values for type = "IIC")
cat("== plot(fit_n, type = 'IIC', z = c(-4, -2, 0, 1.5, 4), plot = FALSE) ==\n")
print(plot(fit_n, type = "IIC", z = c(-4, -2, 0, 1.5, 4), plot = FALSE), digits = 10)
cat("== plot(fit_n, type = 'IIC', items = 0, z = c(-4, -2, 0, 1.5, 4), plot = FALSE) ==\n")
print(plot(fit_n, type = "IIC", items = 0, z = c(-4, -2, 0, 1.5, 4), plot = FALSE), digits = 10)

# EAP scores of a few response patterns (posterior mean and SD over the fit's 21 nodes)
patterns <- rbind(c(1, 1, 1, 1, 1), c(6, 6, 6, 6, 6), c(3, 4, 2, 5, 3), c(2, NA, 4, NA, 6),
                  c(NA, NA, 5, NA, NA))
colnames(patterns) <- paste0("N", 1:5)
cat("== ltm::factor.scores(fit_n, resp.patterns = patterns, method = 'EAP') ==\n")
fs <- ltm::factor.scores(fit_n, resp.patterns = patterns, method = "EAP")$score.dat
print(fs[, c("z1", "se.z1")], digits = 10)

# Information of the test between -4 and 4 and over (-10, 10), as ltm reports it
cat("== information(fit_n, c(-4, 4)) ==\n")
info <- information(fit_n, c(-4, 4))
cat("InfoRange:", format(info$InfoRange, digits = 10), " InfoTotal:",
    format(info$InfoTotal, digits = 10), "\n")
cat("== information(fit_n, c(-4, 4), items = 1) ==\n")
cat("InfoRange:", format(information(fit_n, c(-4, 4), items = 1)$InfoRange, digits = 10), "\n")
