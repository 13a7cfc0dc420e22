# Reference numbers for the part-A analysis tests (item statistics, reliability, omega,
# polychoric, ICC, agreement). Reads tests/analysis/data/a_*.csv and prints every number the
# tests compare against. Run from this directory: Rscript reference_a.R
# Checked with R 4.2, psych 2.2.9, GPArotation, lme4 (Debian bookworm packages).
suppressPackageStartupMessages(library(psych))
options(digits = 10, width = 200)
show <- function(label, value) {
  cat("##", label, "\n")
  print(signif(value, 10))
}

bfi <- read.csv("../data/a_bfi.csv")
keys <- list(agree = c("-A1", "A2", "A3", "A4", "A5"),
             conscientious = c("C1", "C2", "C3", "-C4", "-C5"),
             extraversion = c("-E1", "-E2", "E3", "E4", "E5"),
             neuroticism = c("N1", "N2", "N3", "N4", "N5"),
             openness = c("O1", "-O2", "O3", "O4", "-O5"))
reverse <- c("A1", "C4", "C5", "E1", "E2", "O2", "O5")
keyed <- bfi
keyed[reverse] <- 7 - keyed[reverse]  # response range 1..6

# ---- item statistics (first five items) --------------------------------------------------
a5 <- bfi[, c("A1", "A2", "A3", "A4", "A5")]
show("item n", colSums(!is.na(a5)))
show("item mean", colMeans(a5, na.rm = TRUE))
show("item sd", apply(a5, 2, sd, na.rm = TRUE))
show("item table A1", table(factor(a5$A1, levels = 1:6)))
show("floor pct (value 1) per item", 100 * colMeans(a5 == 1, na.rm = TRUE))
show("ceiling pct (value 6) per item", 100 * colMeans(a5 == 6, na.rm = TRUE))

# ---- alpha per scale (A1, C4, C5, E1, E2, O2, O5 reversed as 7 - x) ----------------------
for (scale in names(keys)) {
  cols <- sub("-", "", keys[[scale]])
  a <- alpha(keyed[, cols], check.keys = FALSE, warnings = FALSE)
  cat("\n=== psych::alpha(keyed[, ", scale, "])\n")
  show("total raw_alpha std.alpha average_r", unlist(a$total[c("raw_alpha", "std.alpha", "average_r")]))
  show("feldt lower upper", unlist(c(a$feldt$lower.ci, a$feldt$upper.ci)))
  show("item.stats r.drop", a$item.stats$r.drop)
  show("item.stats mean", a$item.stats$mean)
  show("item.stats sd", a$item.stats$sd)
  show("alpha.drop raw_alpha", a$alpha.drop$raw_alpha)
  show("alpha.drop std.alpha", a$alpha.drop$std.alpha)
  om <- suppressWarnings(suppressMessages(omega(keyed[, cols], nfactors = 1, plot = FALSE)))
  show("omega(nfactors=1)$omega.tot", om$omega.tot)
  show("omega(nfactors=1)$omega_h", om$omega_h)
}
cat("\n=== psych::alpha(keyed[, agree], use='complete') ... listwise\n")
agree_complete <- na.omit(keyed[, c("A1", "A2", "A3", "A4", "A5")])
a <- alpha(agree_complete, check.keys = FALSE, warnings = FALSE)
show("listwise n, raw_alpha std.alpha", c(nrow(agree_complete), a$total$raw_alpha, a$total$std.alpha))
show("listwise feldt", unlist(c(a$feldt$lower.ci, a$feldt$upper.ci)))
show("alpha.ci(0.8, 100, 10, p.val=0.1)", unlist(alpha.ci(0.8, 100, 10, p.val = 0.1)[c("lower.ci", "upper.ci")]))

# ---- omega on the whole 25-item inventory ----------------------------------------------
for (nf in c(3, 5)) {
  om <- suppressWarnings(suppressMessages(omega(bfi, nfactors = nf, plot = FALSE)))
  cat("\n=== psych::omega(bfi, nfactors=", nf, ", plot=FALSE)\n")
  show("omega_h omega.tot ECV", c(om$omega_h, om$omega.tot, om$ECV))
  show("schmid$sl g", om$schmid$sl[, "g"])
  show("schmid$sl group", om$schmid$sl[, 2:(nf + 1)])
  show("schmid$sl h2", om$schmid$sl[, "h2"])
  write.csv(round(om$schmid$sl, 8), sprintf("../data/a_ref_omega_bfi_%d_sl.csv", nf))
}
om <- suppressWarnings(suppressMessages(omega(keyed, nfactors = 2, plot = FALSE)))
cat("\n=== psych::omega(keyed, nfactors=2, plot=FALSE)\n")
show("omega_h omega.tot ECV", c(om$omega_h, om$omega.tot, om$ECV))

# ---- polychoric -------------------------------------------------------------------------
pc <- polychoric(bfi)
cat("\n=== psych::polychoric(bfi)  (global thresholds, the default)\n")
show("rho rows A1, C1, O5 (all 25 columns)", pc$rho[c("A1", "C1", "O5"), ])
show("tau rows A1, N5", pc$tau[c("A1", "N5"), ])
write.csv(round(pc$rho, 8), "../data/a_ref_polychoric_bfi_rho.csv")
pl <- suppressWarnings(polychoric(bfi[, 1:5], global = FALSE))
cat("\n=== psych::polychoric(bfi[, 1:5], global=FALSE)  (per-pair thresholds, correct=.5)\n")
show("rho", pl$rho)
pl0 <- suppressWarnings(polychoric(bfi[, 1:5], global = FALSE, correct = 0))
show("rho correct=0", pl0$rho)
small <- bfi[1:120, c("A1", "A2", "A3", "A4", "A5", "N1")]
cat("\n=== psych::polychoric(bfi[1:120, c(A1..A5, N1)]) with zero cells\n")
show("global rho", suppressWarnings(polychoric(small))$rho)
show("global tau", suppressWarnings(polychoric(small))$tau)
# psych's global=FALSE path fails on `small` ("Something is wrong in polycor"), so the
# per-pair thresholds with the continuity correction are checked on complete rows 1..200.
local <- na.omit(bfi[1:200, c("A1", "A2", "A3", "A4", "A5")])
cat("\n=== psych::polychoric(na.omit(bfi[1:200, A1..A5]), global=FALSE): 10 corrected pairs\n")
show("global=FALSE rho", polychoric(local, global = FALSE)$rho)
show("global=FALSE correct=0 rho", suppressWarnings(polychoric(local, global = FALSE, correct = 0))$rho)
bad <- matrix(c(1, 0.9, 0.2, 0.9, 1, 0.8, 0.2, 0.8, 1), 3)
cat("\n=== psych::cor.smooth(matrix(c(1,.9,.2,.9,1,.8,.2,.8,1),3))\n")
show("smoothed", suppressWarnings(cor.smooth(bad)))
bad2 <- matrix(c(1, 0.9, -0.5, 0.9, 1, 0.5, -0.5, 0.5, 1), 3)
cat("\n=== psych::cor.smooth(matrix(c(1,.9,-.5,.9,1,.5,-.5,.5,1),3))\n")
show("smoothed", suppressWarnings(cor.smooth(bad2)))

# ---- ICC: Shrout & Fleiss (1979) ----------------------------------------------------------
sf <- read.csv("../data/a_shrout_fleiss.csv")
cat("\n=== psych::ICC(sf, lmer=FALSE)$results\n")
print(ICC(sf, lmer = FALSE)$results, digits = 10)
cat("\n=== psych::ICC(sf)$results  (lmer, the default)\n")
print(ICC(sf)$results, digits = 10)

# ---- clinician ICC(1) from a one-way ANOVA (unbalanced) ------------------------------------
cl <- read.csv("../data/a_clinicians.csv")
fit <- summary(aov(score ~ factor(clinician), data = cl))[[1]]
msb <- fit[1, "Mean Sq"]; msw <- fit[2, "Mean Sq"]
ng <- table(cl$clinician); N <- sum(ng); k <- length(ng)
n0 <- (N - sum(ng^2) / N) / (k - 1)
icc1 <- (msb - msw) / (msb + (n0 - 1) * msw)
cat("\n=== one-way aov(score ~ factor(clinician)): MSB, MSW, F, p, n0, ICC(1)\n")
show("msb msw F p n0 icc1", c(msb, msw, fit[1, "F value"], fit[1, "Pr(>F)"], n0, icc1))
show("Spearman-Brown at n = 10, 30", 10 * icc1 / (1 + 9 * icc1))

# ---- dyad agreement: ICC2 (absolute agreement, single rater) and Bland-Altman -------------
dy <- read.csv("../data/a_dyads.csv")
for (construct in c("valuing", "trust", "hope")) {
  pair <- na.omit(dy[, paste0(c("patient_", "clinician_"), construct)])
  d <- pair[, 1] - pair[, 2]
  icc <- ICC(pair, lmer = FALSE)$results["Single_random_raters", ]
  cat("\n=== dyads", construct, ": n, mean(patient), mean(clinician), mean diff, sd diff, limits (qnorm(.975)), ICC2, lower, upper\n")
  show("values", c(nrow(pair), mean(pair[, 1]), mean(pair[, 2]), mean(d), sd(d),
                   mean(d) - qnorm(0.975) * sd(d), mean(d) + qnorm(0.975) * sd(d),
                   icc$ICC, icc$`lower bound`, icc$`upper bound`))
}
