# Reference numbers for tests/analysis/test_summaries.py (analysis/summaries.py).
# Run from this directory: Rscript summaries.R   (R 4.2, base stats only)
options(digits = 15)
x <- c(4, 3.5, 5, 4.5, 3, 2.5, 4, 5, 1.5, 4)
cat("mean", mean(x), "sd", sd(x), "median", median(x), "\n")
cat("t.test 95%", t.test(x)$conf.int, "\n")
cat("t.test 90%", t.test(x, conf.level = 0.90)$conf.int, "\n")
g <- c("a", "a", "a", "b", "b", "b", "b", "c", "c", "c")
for (level in c("a", "b", "c")) {
  y <- x[g == level]
  cat("group", level, "n", length(y), "mean", mean(y), "ci", t.test(y)$conf.int, "\n")
}
a <- c(4, 3.5, 5, 4.5, 3, NA)
b <- c(3.5, 3.5, 4, 4, 3.5, 4)
cat("paired", t.test(a, b, paired = TRUE)$conf.int, "mean", mean(a - b, na.rm = TRUE), "\n")
