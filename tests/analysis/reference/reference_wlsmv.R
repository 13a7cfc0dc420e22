# Reference numbers for analysis/ordinal_cfa.py and analysis/invariance.py
# (tests/analysis/test_ordinal_cfa.py, tests/analysis/test_invariance.py).
#
# Run from the repository root:  Rscript tests/analysis/reference/reference_wlsmv.R
# It first writes the grouped public data sets the tests read (if absent):
#   tests/analysis/data/c_bfi_gender.csv   psych::bfi[, c(1:25, "gender")]
#   tests/analysis/data/c_hs_school.csv    lavaan::HolzingerSwineford1939[, c(paste0("x", 1:9), "school")]
# then prints lavaan's fit measures, standardized solutions and difference tests.
suppressPackageStartupMessages({
  library(lavaan)
  library(psych)
})
options(digits = 10, width = 200)
here <- "tests/analysis"
cat("lavaan", as.character(packageVersion("lavaan")), "\n")

bfi_path <- file.path(here, "data", "c_bfi_gender.csv")
if (!file.exists(bfi_path)) {
  write.csv(psych::bfi[, c(1:25, which(names(psych::bfi) == "gender"))], bfi_path, row.names = FALSE)
}
hs_path <- file.path(here, "data", "c_hs_school.csv")
if (!file.exists(hs_path)) {
  write.csv(HolzingerSwineford1939[, c(paste0("x", 1:9), "school")], hs_path, row.names = FALSE)
}
bfi <- read.csv(file.path(here, "data", "b_bfi.csv"))
bfig <- read.csv(bfi_path)
hs <- read.csv(hs_path)

measures <- c("chisq", "df", "pvalue", "rmsea.ci.lower", "rmsea.ci.upper", "chisq.scaled", "df.scaled", "pvalue.scaled",
              "chisq.scaling.factor", "chisq.shift.parameter", "baseline.chisq",
              "baseline.df", "baseline.chisq.scaled", "cfi", "tli", "rmsea", "cfi.scaled",
              "tli.scaled", "rmsea.scaled", "cfi.robust", "tli.robust", "rmsea.robust", "srmr")
show_fit <- function(label, fit) {
  cat("==", label, "==\n")
  cat("nobs:", lavInspect(fit, "nobs"), "\n")
  fm <- fitMeasures(fit, intersect(measures, names(fitMeasures(fit))))
  print(setNames(as.numeric(fm), names(fm)), digits = 10)
}
show_std <- function(fit, ops = c("=~", "|", "~~", "~*~", "~1")) {
  ss <- standardizedSolution(fit)
  pe <- parameterEstimates(fit)
  keep <- ss$op %in% ops
  print(cbind(ss[keep, c("lhs", "op", "rhs", if ("group" %in% names(ss)) "group", "est.std")],
              est = pe$est[keep]), row.names = FALSE)
}

m2 <- "A =~ A1 + A2 + A3 + A4 + A5
       C =~ C1 + C2 + C3 + C4 + C5"
m5 <- "A =~ A1 + A2 + A3 + A4 + A5
       C =~ C1 + C2 + C3 + C4 + C5
       E =~ E1 + E2 + E3 + E4 + E5
       N =~ N1 + N2 + N3 + N4 + N5
       O =~ O1 + O2 + O3 + O4 + O5"
hs_model <- "visual =~ x1 + x2 + x3
             textual =~ x4 + x5 + x6
             speed =~ x7 + x8 + x9"

fit2 <- cfa(m2, data = bfi, ordered = TRUE)
show_fit("cfa(m2, data = bfi, ordered = TRUE)", fit2)
show_std(fit2)
fit5 <- cfa(m5, data = bfi, ordered = TRUE)
show_fit("cfa(m5, data = bfi, ordered = TRUE)", fit5)
show_std(fit5, ops = "=~")

cat("== ML invariance: HolzingerSwineford1939 by school ==\n")
conf <- cfa(hs_model, data = hs, group = "school")
metric <- cfa(hs_model, data = hs, group = "school", group.equal = "loadings")
scalar <- cfa(hs_model, data = hs, group = "school", group.equal = c("loadings", "intercepts"))
show_fit("configural ML", conf)
show_fit("metric ML", metric)
show_fit("scalar ML", scalar)
print(as.data.frame(lavTestLRT(conf, metric, scalar)), digits = 10)
show_std(scalar, ops = c("=~", "~1"))

cat("== WLSMV invariance: bfi (A, C) by gender ==\n")
wconf <- cfa(m2, data = bfig, ordered = TRUE, group = "gender")
wmetric <- cfa(m2, data = bfig, ordered = TRUE, group = "gender", group.equal = "loadings")
wscalar <- cfa(m2, data = bfig, ordered = TRUE, group = "gender",
               group.equal = c("loadings", "thresholds"))
wscalar2 <- cfa(m2, data = bfig, ordered = TRUE, group = "gender",
                group.equal = c("loadings", "intercepts", "thresholds"))
show_fit("configural WLSMV", wconf)
show_fit("metric WLSMV", wmetric)
show_fit("scalar WLSMV (loadings, thresholds)", wscalar)
show_fit("scalar WLSMV (loadings, intercepts, thresholds)", wscalar2)
cat("-- free parameters of the scalar model (loadings, thresholds), groups 2: --\n")
pt <- parTable(wscalar)
print(pt[pt$group == 2 & pt$op %in% c("~*~", "~1") , c("lhs", "op", "rhs", "free", "est")])
pt2 <- parTable(wscalar2)
print(pt2[pt2$group == 2 & pt2$op %in% c("~*~", "~1") , c("lhs", "op", "rhs", "free", "est")])
print(as.data.frame(lavTestLRT(wconf, wmetric, wscalar)), digits = 10)
print(as.data.frame(lavTestLRT(wconf, wmetric, wscalar2)), digits = 10)
show_std(wmetric, ops = "=~")

cat("== mixed categories: A1 dichotomized (A1 > 3), C1 collapsed to 3..5 ==\n")
mixed <- bfig
mixed$A1 <- as.integer(mixed$A1 > 3)
mixed$C1 <- pmin(pmax(mixed$C1, 3), 5)
fit <- cfa(m2, data = mixed, ordered = TRUE)
fm <- fitMeasures(fit, c("chisq", "chisq.scaled", "cfi.scaled", "cfi.robust", "tli.robust",
                         "rmsea.robust", "srmr"))
print(setNames(as.numeric(fm), names(fm)), digits = 10)
me <- cfa(m2, data = mixed, ordered = TRUE, group = "gender", group.equal = "loadings")
sc <- cfa(m2, data = mixed, ordered = TRUE, group = "gender",
          group.equal = c("loadings", "thresholds"))
fm <- fitMeasures(sc, c("chisq", "df", "chisq.scaled", "cfi.scaled", "rmsea.scaled"))
print(setNames(as.numeric(fm), names(fm)), digits = 10)
print(as.data.frame(lavTestLRT(me, sc)), digits = 10)
