"""Wall-clock time of the WLSMV CFA and the WLSMV invariance tests against lavaan on the same data.

Synthetic complete 5-point answers from the six-factor model of ``analysis_benchmark.py`` (six
scales of five items; no missing cells, so lavaan's listwise deletion keeps every row) are
written as CSV; each workload runs as a whole process (start, read the CSV, fit, print, exit),
median of ``--runs`` runs:

- cfa: ``analysis.ordinal_cfa.wlsmv_cfa`` vs ``lavaan::cfa(model, data, ordered = TRUE)``
  followed by ``fitMeasures`` (20,000 x 30 by default);
- invariance: ``analysis.invariance.measurement_invariance(..., ordinal=True)`` across two
  groups vs lavaan's configural, metric (``group.equal = "loadings"``) and scalar
  (``c("loadings", "thresholds")``) fits, ``fitMeasures`` of each and ``lavTestLRT``.

Both sides print the scaled chi-square and the robust CFI so that the table can show they agree.
Run with ``.venv/bin/python benchmarks/wlsmv_benchmark.py [--rows N] [--runs N] [--skip-r]
[--only cfa|invariance]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import analysis_benchmark as base  # noqa: E402

PYTHON_CFA = """
import json, sys, pandas as pd
from analysis.ordinal_cfa import wlsmv_cfa
data = pd.read_csv(sys.argv[1])
model = json.loads(sys.argv[2])
fit = wlsmv_cfa(data, model)
print("chisq.scaled", fit.chi2_scaled, "cfi.robust", fit.robust["cfi"], "n", fit.n)
"""
PYTHON_INVARIANCE = """
import json, sys, pandas as pd
from analysis.invariance import measurement_invariance
data = pd.read_csv(sys.argv[1])
model = json.loads(sys.argv[2])
result = measurement_invariance(data, model, "site", ordinal=True)
print("scalar.chisq.scaled", result.models["scalar"]["chi2_scaled"],
      "diff", result.tests[1]["chi2_diff"])
"""
R_CFA = """
suppressPackageStartupMessages(library(lavaan))
args <- commandArgs(trailingOnly = TRUE)
data <- read.csv(args[1])
fit <- cfa(args[2], data = data, ordered = TRUE)
fm <- fitMeasures(fit, c("chisq.scaled", "cfi.robust"))
cat("chisq.scaled", fm[[1]], "cfi.robust", fm[[2]], "n", lavInspect(fit, "nobs"), "\\n")
"""
R_INVARIANCE = """
suppressPackageStartupMessages(library(lavaan))
args <- commandArgs(trailingOnly = TRUE)
data <- read.csv(args[1])
conf <- cfa(args[2], data = data, ordered = TRUE, group = "site")
metric <- cfa(args[2], data = data, ordered = TRUE, group = "site", group.equal = "loadings")
scalar <- cfa(args[2], data = data, ordered = TRUE, group = "site",
              group.equal = c("loadings", "thresholds"))
for (fit in list(conf, metric, scalar)) fm <- fitMeasures(fit)
lrt <- lavTestLRT(conf, metric, scalar)
cat("scalar.chisq.scaled", fitMeasures(scalar, "chisq.scaled")[[1]],
    "diff", lrt[["Chisq diff"]][3], "\\n")
"""


def write_data(folder: Path, rows: int) -> tuple[Path, dict[str, list[str]], str]:
    base.MISSING_SHARE = 0.0  # complete data: listwise deletion keeps every row on both sides
    frame = base.simulate_likert(rows, seed=base.SEED + 2).astype(int)
    frame["site"] = ["north", "south"] * (rows // 2) + ["north"] * (rows % 2)
    path = folder / "ordinal.csv"
    frame.to_csv(path, index=False)
    model: dict[str, list[str]] = {}
    for scale, item, _ in base.item_ids():
        model.setdefault(scale, []).append(item)
    syntax = "\n".join(f"{scale} =~ {' + '.join(items)}" for scale, items in model.items())
    return path, model, syntax


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-r", action="store_true")
    parser.add_argument(
        "--only",
        choices=("cfa", "invariance"),
        help="time one workload (lavaan's invariance fits take minutes)",
    )
    args = parser.parse_args(argv)
    import json

    with tempfile.TemporaryDirectory() as tmp:
        path, model, syntax = write_data(Path(tmp), args.rows)
        python = sys.executable
        workloads = [
            ("cfa", [python, "-c", PYTHON_CFA], R_CFA),
            ("invariance", [python, "-c", PYTHON_INVARIANCE], R_INVARIANCE),
        ]
        workloads = [w for w in workloads if args.only in (None, w[0])]
        print(f"{args.rows} rows x 30 items, 6 factors, 5 categories, complete")
        rows = []
        for label, command, r_script in workloads:
            ours = base.time_command(
                [*command, str(path), json.dumps(model)], runs=args.runs, label=f"{label} ours"
            )
            theirs = None
            if not args.skip_r:
                theirs = base.time_command(
                    ["Rscript", "-e", r_script, str(path), syntax],
                    runs=args.runs,
                    label=f"{label} lavaan",
                )
            rows.append((label, ours, theirs))
        print(f"\n{'workload':<12}{'ours (s)':>10}{'lavaan (s)':>12}{'ratio':>8}")
        for label, ours, theirs in rows:
            r_wall = f"{theirs.wall:.2f}" if theirs else "-"
            ratio = f"{theirs.wall / ours.wall:.1f}x" if theirs else "-"
            print(f"{label:<12}{ours.wall:>10.2f}{r_wall:>12}{ratio:>8}")
            print(f"  ours:   {ours.output.strip()}")
            if theirs:
                print(f"  lavaan: {theirs.output.strip()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
