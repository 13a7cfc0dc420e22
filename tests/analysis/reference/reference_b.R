# Reference numbers for analysis/factors.py and analysis/cfa.py (tests/analysis/test_factors.py,
# tests/analysis/test_cfa.py).
#
# Run from the repository root:  Rscript tests/analysis/reference/reference_b.R
# Produced with R psych 2.2.9, GPArotation 2022.10-2, lavaan 0.6-14 (Debian bookworm packages).
# fa.parallel draws its simulations in parallel (mclapply), so its simulated eigenvalues change
# from run to run despite set.seed; the observed eigenvalues and nfact/ncomp do not.
# It reads the checked-in CSVs (exported from psychTools::bfi[, 1:25] and
# lavaan::HolzingerSwineford1939[, paste0("x", 1:9)]), prints the scalar reference values quoted
# in the tests and writes the matrix-valued references to tests/analysis/reference/b_*.csv.
suppressPackageStartupMessages({
  library(psych)
  library(GPArotation)
  library(lavaan)
})
options(digits = 10, width = 200)
here <- "tests/analysis"
out <- function(x, name) write.csv(x, file.path(here, "reference", name))

bfi <- read.csv(file.path(here, "data", "b_bfi.csv"))
hs <- read.csv(file.path(here, "data", "b_holzinger_swineford.csv"))
r_bfi <- cor(bfi, use = "pairwise")

cat("== KMO(bfi) ==\n")
k <- KMO(bfi)
print(k$MSA)
print(round(k$MSAi, 6))
out(data.frame(MSAi = k$MSAi), "b_kmo_bfi.csv")

cat("== cortest.bartlett(bfi) (raw data: n = nrow) ==\n")
print(cortest.bartlett(bfi))
cat("== cortest.bartlett(cor(bfi, use = 'pairwise'), n = 500) ==\n")
print(cortest.bartlett(r_bfi, n = 500))

cat("== fa.parallel(bfi, fa = 'both', n.iter = 20) ==\n")
set.seed(20261125)
pa <- fa.parallel(bfi, fa = "both", n.iter = 20, plot = FALSE)
print(c(nfact = pa$nfact, ncomp = pa$ncomp))
out(data.frame(pc.values = pa$pc.values, fa.values = pa$fa.values, pc.sim = pa$pc.sim,
               fa.sim = pa$fa.sim), "b_parallel_bfi.csv")
cat("== eigenvalues of cor() of 2800 x 25 normal data, 400 replicates (what fa.parallel simulates) ==\n")
set.seed(1)
ev <- t(replicate(400, eigen(cor(matrix(rnorm(2800 * 25), 2800, 25)), only.values = TRUE)$values))
print(colMeans(ev)[1:3])
print(apply(ev, 2, sd)[1:3])
cat("== fa.parallel(hs, fa = 'both', n.iter = 20) ==\n")
pa_hs <- fa.parallel(hs, fa = "both", n.iter = 20, plot = FALSE)
print(c(nfact = pa_hs$nfact, ncomp = pa_hs$ncomp))
print(pa_hs$fa.values)

for (fm in c("minres", "ml", "pa")) {
  for (rot in c("oblimin", "promax", "varimax", "none")) {
    f <- fa(bfi, nfactors = 5, fm = fm, rotate = rot)
    cat("== fa(bfi, 5, fm =", fm, ", rotate =", rot, ") ==\n")
    print(f$Vaccounted)
    L <- unclass(f$loadings)
    phi <- if (is.null(f$Phi)) diag(5) else f$Phi
    out(cbind(L, h2 = f$communality, u2 = f$uniquenesses),
        sprintf("b_fa_bfi_%s_%s.csv", fm, rot))
    out(phi, sprintf("b_fa_bfi_%s_%s_phi.csv", fm, rot))
    out(f$Vaccounted, sprintf("b_fa_bfi_%s_%s_var.csv", fm, rot))
  }
}

cat("== fa(hs, 3, fm = 'minres', rotate = 'oblimin') ==\n")
f_hs <- fa(hs, nfactors = 3, fm = "minres", rotate = "oblimin")
print(f_hs$loadings, cutoff = 0)
print(f_hs$Phi)
out(unclass(f_hs$loadings), "b_fa_hs_minres_oblimin.csv")

cat("== GPArotation::oblimin(unrotated minres loadings, gam = 0.5) ==\n")
unrotated <- unclass(fa(bfi, nfactors = 5, fm = "minres", rotate = "none")$loadings)
ob <- GPArotation::oblimin(unrotated, gam = 0.5)
print(ob$Phi)
out(unrotated, "b_unrotated_bfi_minres.csv")
out(unclass(ob$loadings), "b_oblimin_gam05_bfi.csv")
out(ob$Phi, "b_oblimin_gam05_bfi_phi.csv")

cat("== lavaan::cfa(HolzingerSwineford1939 3-factor model) ==\n")
hs_model <- "visual =~ x1 + x2 + x3
             textual =~ x4 + x5 + x6
             speed =~ x7 + x8 + x9"
fit <- cfa(hs_model, data = hs)
print(unclass(fitMeasures(fit)))
print(as.data.frame(standardizedSolution(fit))[, 1:4])
print(as.data.frame(parameterEstimates(fit))[, 1:4])
mi <- as.data.frame(modindices(fit, sort. = TRUE))[, c("lhs", "op", "rhs", "mi", "epc")]
print(head(mi, 10))
out(head(mi, 20), "b_cfa_hs_modindices.csv")
cat("== same model, std.lv = TRUE ==\n")
fit_lv <- cfa(hs_model, data = hs, std.lv = TRUE)
print(as.data.frame(parameterEstimates(fit_lv))[1:9, 1:4])
print(unclass(fitMeasures(fit_lv, c("chisq", "df", "cfi", "rmsea"))))

cat("== the same with the cross-loading visual =~ x9 ==\n")
fit_x9 <- cfa(paste(hs_model, "\nvisual =~ x9"), data = hs)
print(unclass(fitMeasures(fit_x9, c("npar", "chisq", "df", "cfi", "rmsea", "srmr"))))
std_x9 <- as.data.frame(standardizedSolution(fit_x9))
print(std_x9[std_x9$rhs == "x9", c("lhs", "op", "rhs", "est.std")])

cat("== lavaan::cfa(bfi five factors, listwise deletion) ==\n")
bfi_model <- "agreeable =~ A1 + A2 + A3 + A4 + A5
              conscientious =~ C1 + C2 + C3 + C4 + C5
              extraverted =~ E1 + E2 + E3 + E4 + E5
              neurotic =~ N1 + N2 + N3 + N4 + N5
              open =~ O1 + O2 + O3 + O4 + O5"
fit_bfi <- cfa(bfi_model, data = bfi)
print(unclass(fitMeasures(fit_bfi, c("npar", "ntotal", "chisq", "df", "pvalue", "cfi", "tli", "rmsea",
                             "rmsea.ci.lower", "rmsea.ci.upper", "srmr", "aic", "bic", "logl",
                             "baseline.chisq", "baseline.df"))))
std_bfi <- standardizedSolution(fit_bfi)
print(as.data.frame(std_bfi)[std_bfi$op == "=~", c("lhs", "rhs", "est.std")])
print(unclass(lavInspect(fit_bfi, "cor.lv")))
