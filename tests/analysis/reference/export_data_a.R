# Writes the public and synthetic data sets used by the part-A analysis tests
# (tests/analysis/data/a_*.csv). Run once from this directory: Rscript export_data_a.R
# psychTools 2.x, psych 2.2.9 (Debian r-cran-psych, r-cran-psychtools).
data(bfi, package = "psychTools")
items <- bfi[, 1:25]
write.csv(items, "../data/a_bfi.csv", row.names = FALSE, na = "")

# Shrout & Fleiss (1979) Table 2: 6 targets rated by 4 judges (example in ?psych::ICC).
sf <- matrix(c(9, 2, 5, 8,
               6, 1, 3, 2,
               8, 4, 6, 8,
               7, 1, 2, 6,
               10, 5, 6, 9,
               6, 2, 4, 7), ncol = 4, byrow = TRUE)
colnames(sf) <- paste0("J", 1:4)
write.csv(sf, "../data/a_shrout_fleiss.csv", row.names = FALSE)

# Synthetic patients nested in clinicians (unbalanced) for the one-way ICC(1).
set.seed(20260125)
n_clinicians <- 30
sizes <- sample(2:20, n_clinicians, replace = TRUE)
clinician <- rep(sprintf("c%02d", seq_len(n_clinicians)), sizes)
effect <- rnorm(n_clinicians, sd = 0.35)[match(clinician, sprintf("c%02d", seq_len(n_clinicians)))]
score <- round(3.8 + effect + rnorm(length(clinician), sd = 0.8), 2)
write.csv(data.frame(clinician = clinician, score = score), "../data/a_clinicians.csv",
          row.names = FALSE)

# Synthetic dyads: patient and clinician scale means on three constructs, a few missing.
n_dyads <- 80
true <- matrix(rnorm(n_dyads * 3, mean = 3.8, sd = 0.6), ncol = 3)
patient <- round(true + matrix(rnorm(n_dyads * 3, sd = 0.4), ncol = 3), 2)
clinician_view <- round(true - 0.2 + matrix(rnorm(n_dyads * 3, sd = 0.5), ncol = 3), 2)
patient[sample(n_dyads * 3, 6)] <- NA
clinician_view[sample(n_dyads * 3, 6)] <- NA
constructs <- c("valuing", "trust", "hope")
dyads <- data.frame(dyad = sprintf("d%03d", seq_len(n_dyads)),
                    setNames(as.data.frame(patient), paste0("patient_", constructs)),
                    setNames(as.data.frame(clinician_view), paste0("clinician_", constructs)))
write.csv(dyads, "../data/a_dyads.csv", row.names = FALSE, na = "")
