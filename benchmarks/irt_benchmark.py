"""Wall-clock time of the graded response model (``analysis.irt.grm``) against R ltm's ``grm()``.

Each workload is timed as a whole process, start to exit, median of ``--runs`` runs, and inside
the process for the fit alone (both sides print their steps). Both sides compute the same
things: the fit by marginal ML with 21 Gauss-Hermite points, standard errors from the Hessian
and EAP scores with posterior SDs for every respondent (R: ``benchmarks/irt.R``, which runs
``grm(x, Hessian = TRUE)``, ``summary()`` and ``factor.scores(method = "EAP")``).

Workloads:

- bfi: the five neuroticism items of R's bfi (2,800 respondents, 6 categories, some missing),
  from tests/analysis/data/b_bfi.csv;
- synthetic: 20,000 respondents x 6 five-category items simulated from a graded response model
  (discriminations 0.8-2.4, about 2% missing answers);
- long: 5,000 x 20 five-category items from the same model.

Run with ``.venv/bin/python benchmarks/irt_benchmark.py [--runs N] [--skip-r] [--keep DIR]
[--only TEXT]``; R must find ltm (``R_LIBS`` if it is installed in a library of its own).
Not a test: it prints a table and the log-likelihoods of both sides, and exits non-zero when a
command fails.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
BFI = HERE.parent / "tests" / "analysis" / "data" / "b_bfi.csv"
SEED = 20261201


def simulate_grm(n: int, n_items: int, *, seed: int = SEED) -> pd.DataFrame:
    """Five-category answers from a logistic graded response model, NaN where missing."""
    rng = np.random.default_rng(seed)
    a = np.linspace(0.8, 2.4, n_items)
    b = np.sort(rng.normal(scale=1.1, size=(n_items, 4)), axis=1)
    theta = rng.standard_normal(n)
    above = 1 / (1 + np.exp(-a[None, :, None] * (theta[:, None, None] - b[None, :, :])))
    answers = 1.0 + (rng.random((n, n_items, 1)) < above).sum(axis=2)
    answers[rng.random(answers.shape) < 0.02] = np.nan
    return pd.DataFrame(answers, columns=[f"item{j + 1}" for j in range(n_items)])


def fit_in_process(path: str) -> None:
    """The Python side as its own process: read, fit, print steps and the log-likelihood."""
    start = time.perf_counter()
    from analysis.irt import grm

    imported = time.perf_counter()
    data = pd.read_csv(path)
    read = time.perf_counter()
    fit = grm(data)
    fitted = time.perf_counter()
    print(f"STEP imports {imported - start:.3f}")
    print(f"STEP read_csv {read - imported:.3f}")
    print(f"STEP grm {fitted - read:.3f}")
    print(f"RESULT loglik {fit.loglik:.4f}")
    print(f"RESULT a {' '.join(f'{v:.4f}' for v in fit.a)}")
    print(f"RESULT mean_eap {np.nanmean(fit.theta_eap):.4f}")


def timed(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return elapsed, done.stdout


def steps(output: str, names: tuple[str, ...]) -> float:
    found = dict(re.findall(r"STEP (\S+) ([\d.]+)", output))
    return sum(float(found.get(name, 0.0)) for name in names)


def result(output: str, key: str) -> str:
    match = re.search(rf"RESULT {key} (.+)", output)
    return match.group(1) if match else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-r", action="store_true")
    parser.add_argument("--keep", type=Path, help="write the data sets here and keep them")
    parser.add_argument("--only", help="run only the workloads whose name contains this")
    parser.add_argument("--fit", help=argparse.SUPPRESS)  # the worker process
    args = parser.parse_args()
    if args.fit:
        fit_in_process(args.fit)
        return
    folder = args.keep or Path(tempfile.mkdtemp(prefix="irt-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    workloads = {
        "bfi N1-N5, 2,800 x 5": pd.read_csv(BFI)[["N1", "N2", "N3", "N4", "N5"]],
        "synthetic 20,000 x 6": simulate_grm(20_000, 6),
        "synthetic 5,000 x 20": simulate_grm(5_000, 20),
    }
    if args.only:
        workloads = {name: frame for name, frame in workloads.items() if args.only in name}
    rows = []
    for name, frame in workloads.items():
        path = folder / (re.sub(r"\W+", "_", name).strip("_") + ".csv")
        frame.to_csv(path, index=False)
        ours, r_side = [], []
        for _ in range(args.runs):
            ours.append(timed([sys.executable, __file__, "--fit", str(path)]))
            if not args.skip_r:
                r_side.append(timed(["Rscript", "--vanilla", str(HERE / "irt.R"), str(path)]))
        row = {
            "workload": name,
            "ours_s": statistics.median(t for t, _ in ours),
            "ours_fit_s": statistics.median(steps(o, ("grm",)) for _, o in ours),
            "ours_loglik": result(ours[-1][1], "loglik"),
        }
        if r_side:
            fit_steps = ("grm", "standard_errors", "eap_scores")
            row |= {
                "r_s": statistics.median(t for t, _ in r_side),
                "r_fit_s": statistics.median(steps(o, fit_steps) for _, o in r_side),
                "r_loglik": result(r_side[-1][1], "loglik"),
            }
        rows.append(row)
        print(row, flush=True)
    print(f"\nload average at the end: {os.getloadavg()}")
    print(
        "| workload | ours (process) | R ltm (process) | ours (fit) | R (fit) | logLik ours / R |"
    )
    print("|---|---|---|---|---|---|")
    for row in rows:
        r_s, r_fit = row.get("r_s"), row.get("r_fit_s")
        print(
            f"| {row['workload']} | {row['ours_s']:.2f} s | "
            f"{'' if r_s is None else f'{r_s:.2f} s'} | {row['ours_fit_s']:.2f} s | "
            f"{'' if r_fit is None else f'{r_fit:.2f} s'} | "
            f"{row['ours_loglik']} / {row.get('r_loglik', '')} |"
        )


if __name__ == "__main__":
    main()
