"""Wall-clock time of ``healing-survey analyze`` against the same workup in R (psych, lavaan).

Synthetic Likert data from a six-factor model (six scales of five items, 5-point, correlated
factors, loadings 0.5-0.8, a few reverse-keyed items, about 2% missing cells) are written to a
temporary folder as CSV with a scale specification; then each workload is timed as a whole
process, start to exit, median of ``--runs`` runs:

- workup: 100,000 x 30, ``--factors auto --iterations 20 --cfa``; in R ``benchmarks/workup.R``
  (item statistics, alpha, omega per scale and hierarchical, KMO, Bartlett, fa.parallel, fa,
  lavaan cfa);
- ordinal: 20,000 x 30 and 100,000 x 30, ``--ordinal --factors 6``, compared twice: with
  ``benchmarks/ordinal.R`` (polychoric and fa on it: the issue's definition of the ordinal
  workup) and with ``benchmarks/ordinal_full.R`` (every statistic the command computes: item
  statistics, alpha and omega total per scale, polychoric, KMO, Bartlett, omega hierarchical
  and fa on the polychoric matrix), which is the like-for-like comparison.

Before timing, the bytecode (``__pycache__``) of every package the command imports is brought
up to date, as ``pip install`` leaves it: in an environment with ``PYTHONDONTWRITEBYTECODE=1``
and missing or stale bytecode, Python compiles NumPy, pandas and SciPy from source on every
start, which tripled the workup (3.4 s of CPU against 1.1 s, measured December 2026). The
script prints how many files it had to compile.

Run with ``.venv/bin/python benchmarks/analysis_benchmark.py [--runs N] [--skip-r]
[--keep DIR]`` (the ``healing-survey`` beside that Python is timed). Not a test: it prints a
table and sanity facts, and exits non-zero when a command fails or writes no JSON.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import py_compile
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
# What ``healing-survey analyze`` imports (ours and the libraries), for the bytecode check.
IMPORTED_PACKAGES = (
    *("analysis", "items", "survey", "numpy", "pandas", "scipy", "click", "yaml"),
    *("threadpoolctl", "dateutil", "flask", "werkzeug", "jinja2"),
)
SCALES = ("valuing", "power", "abiding", "trust", "hope", "known")
ITEMS_PER_SCALE = 5
REVERSED = {("valuing", 3), ("power", 5), ("trust", 2), ("hope", 4)}
THRESHOLDS = np.array([-1.6, -0.7, 0.2, 1.1])
FACTOR_CORRELATION = 0.35
MISSING_SHARE = 0.02
SEED = 20081201


def healing_survey() -> str:
    found = Path(sys.executable).with_name("healing-survey")
    return str(found) if found.exists() else (shutil.which("healing-survey") or "healing-survey")


def compile_stale_bytecode(packages: tuple[str, ...] = IMPORTED_PACKAGES) -> int:
    """Write the bytecode of every source file of ``packages`` whose cached one is missing or
    does not match the source (timestamp and size, as the import system checks); the count."""
    compiled = 0
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is None or not spec.submodule_search_locations:
            continue
        for folder in spec.submodule_search_locations:
            for source in Path(folder).rglob("*.py"):
                if not _bytecode_is_current(source):
                    py_compile.compile(str(source), doraise=False, quiet=2)
                    compiled += 1
    return compiled


def _bytecode_is_current(source: Path) -> bool:
    cached = Path(importlib.util.cache_from_source(str(source)))
    try:
        header = cached.read_bytes()[:16]
    except OSError:
        return False
    stat = source.stat()
    return (
        header[:4] == importlib.util.MAGIC_NUMBER
        and int.from_bytes(header[4:8], "little") & 1 == 0  # timestamp-based, not hash-based
        and int.from_bytes(header[8:12], "little") == int(stat.st_mtime) & 0xFFFFFFFF
        and int.from_bytes(header[12:16], "little") == stat.st_size & 0xFFFFFFFF
    )


def item_ids() -> list[tuple[str, str, bool]]:
    """(scale, item, reverse_keyed) for the 30 items."""
    return [
        (scale, f"{scale[:3]}_{k}", (scale, k) in REVERSED)
        for scale in SCALES
        for k in range(1, ITEMS_PER_SCALE + 1)
    ]


def simulate_likert(n: int, *, seed: int = SEED) -> pd.DataFrame:
    """Five-point answers of ``n`` respondents from the six-factor model, NaN where missing."""
    rng = np.random.default_rng(seed)
    layout = item_ids()
    k = len(SCALES)
    phi = np.full((k, k), FACTOR_CORRELATION) + (1 - FACTOR_CORRELATION) * np.eye(k)
    factors = rng.standard_normal((n, k)) @ np.linalg.cholesky(phi).T
    loadings = rng.uniform(0.5, 0.8, size=len(layout))
    sign = np.array([-1.0 if rev else 1.0 for _, _, rev in layout])
    scale_of = np.array([SCALES.index(scale) for scale, _, _ in layout])
    latent = factors[:, scale_of] * (loadings * sign)
    latent += rng.standard_normal(latent.shape) * np.sqrt(1 - loadings**2)
    answers = 1.0 + (latent[:, :, None] > THRESHOLDS).sum(axis=2)
    answers[rng.random(answers.shape) < MISSING_SHARE] = np.nan
    return pd.DataFrame(answers, columns=[item for _, item, _ in layout])


def write_inputs(folder: Path, *, n_workup: int, n_ordinal: int) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "workup": folder / "data.csv",
        "ordinal": folder / "data20k.csv",
        "spec": folder / "spec.yaml",
        "keys": folder / "keys.csv",
    }
    for name, n, seed in (("workup", n_workup, SEED), ("ordinal", n_ordinal, SEED + 1)):
        simulate_likert(n, seed=seed).astype("Int8").to_csv(paths[name], index=False, na_rep="")
    layout = item_ids()
    lines = ["range: [1, 5]", "scales:"]
    for scale in SCALES:
        members = [f"-{item}" if rev else item for s, item, rev in layout if s == scale]
        lines.append(f"  {scale}: [{', '.join(members)}]")
    paths["spec"].write_text("\n".join(lines) + "\n", encoding="utf-8")
    keys = pd.DataFrame(layout, columns=["scale", "item", "reversed"])
    keys["reversed"] = keys["reversed"].astype(int)
    keys.to_csv(paths["keys"], index=False)
    return paths


@dataclass(frozen=True)
class Timing:
    """Median wall-clock and CPU (user + system) seconds of a command's runs."""

    wall: float
    cpu: float
    output: str


def time_command(command: list[str], *, runs: int, label: str) -> Timing:
    """Time ``runs`` runs of ``command`` as whole processes; keep the last run's output.

    Each run's times and the load average are printed too: on a shared two-core machine another
    process can slow a run down, and the spread shows it. CPU seconds suffer less from that.
    """
    walls, cpus = [], []
    output = ""
    for run in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        if done.returncode != 0:
            sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
            raise SystemExit(f"{label}: {' '.join(command)} exited {done.returncode}")
        output = done.stdout
        print(
            f"  {label} run {run + 1}/{runs}: {walls[-1]:.2f} s wall, {cpus[-1]:.2f} s CPU"
            f" (load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    return Timing(statistics.median(walls), statistics.median(cpus), output)


def r_steps(output: str) -> dict[str, float]:
    """The ``STEP name seconds`` lines the R scripts print."""
    steps = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "STEP":
            steps[parts[1]] = float(parts[2])
    return steps


def sanity_facts(label: str, json_path: Path) -> list[str]:
    if not json_path.exists() or json_path.stat().st_size == 0:
        raise SystemExit(f"{label}: no JSON output at {json_path}")
    report = json.loads(json_path.read_text(encoding="utf-8"))
    efa = report["efa"]
    facts = [
        f"{label}: n = {report['n']}, correlation = {efa['correlation']}, "
        f"EFA factors = {efa['n_factors']}, KMO = {efa['kmo']:.3f}",
        f"{label}: alpha = "
        + ", ".join(f"{name} {s['alpha']:.3f}" for name, s in report["scales"].items()),
    ]
    if efa.get("parallel"):
        parallel = efa["parallel"]
        facts.append(
            f"{label}: parallel analysis: {parallel['n_factors']} factors, "
            f"{parallel['n_components']} components"
        )
    if report.get("omega"):
        facts.append(f"{label}: omega hierarchical = {report['omega']['omega_hierarchical']:.3f}")
    if report.get("cfa"):
        cfa = report["cfa"]
        facts.append(
            f"{label}: CFA chi2 = {cfa['chi2']:.1f} (df {cfa['df']}), CFI = {cfa['cfi']:.4f}, "
            f"RMSEA = {cfa['rmsea']:.4f}, SRMR = {cfa['srmr']:.4f}"
        )
    return facts


def _cell(timing: Timing | None, field: str, width: int) -> str:
    return f"{getattr(timing, field):{width}.2f}" if timing else f"{'-':>{width}}"


def _ratio(python: Timing | None, r: Timing | None, field: str) -> str:
    if not (python and r):
        return f"{'-':>6}"
    return f"{getattr(r, field) / getattr(python, field):5.1f}x"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per workload (median)")
    parser.add_argument("--skip-r", action="store_true", help="time only healing-survey")
    parser.add_argument("--keep", type=Path, default=None, help="keep data and outputs here")
    parser.add_argument("--n-workup", type=int, default=100_000)
    parser.add_argument("--n-ordinal", type=int, default=20_000)
    args = parser.parse_args(argv)

    folder = args.keep or Path(tempfile.mkdtemp(prefix="healing-bench-"))
    try:
        return run(args, folder)
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


def run(args, folder: Path) -> int:
    compiled = compile_stale_bytecode()
    print(f"bytecode: {compiled} missing or stale files compiled before timing", flush=True)
    start = time.perf_counter()
    paths = write_inputs(folder, n_workup=args.n_workup, n_ordinal=args.n_ordinal)
    print(f"data written to {folder} in {time.perf_counter() - start:.1f} s", flush=True)
    cli = healing_survey()
    if Path(cli).is_file() and "survey.console" not in Path(cli).read_text(errors="replace"):
        print(
            f"warning: {cli} predates the survey.console entry point and imports Flask for "
            "analyze; run `pip install -e .` to time what users get",
            flush=True,
        )
    rscript = None if args.skip_r else shutil.which("Rscript")
    # Each workload: the command, then (row label, R script) for every R side it is compared to.
    workloads = {
        "workup": (
            [cli, "analyze", str(paths["workup"]), "--scales", str(paths["spec"])]
            + ["--factors", "auto", "--iterations", "20", "--cfa", "--seed", "1"],
            [(f"workup ({args.n_workup:,} x 30)", "workup.R")],
        ),
        "ordinal": (
            [cli, "analyze", str(paths["ordinal"]), "--scales", str(paths["spec"])]
            + ["--ordinal", "--factors", "6"],
            [
                (f"ordinal {args.n_ordinal:,}: R poly+fa only", "ordinal.R"),
                (f"ordinal {args.n_ordinal:,}: R same stats", "ordinal_full.R"),
            ],
        ),
        "ordinal-large": (
            [cli, "analyze", str(paths["workup"]), "--scales", str(paths["spec"])]
            + ["--ordinal", "--factors", "6"],
            [
                (f"ordinal {args.n_workup:,}: R poly+fa only", "ordinal.R"),
                (f"ordinal {args.n_workup:,}: R same stats", "ordinal_full.R"),
            ],
        ),
    }
    rows, facts = [], []
    for name, (command, comparisons) in workloads.items():
        json_path = folder / f"out-{name}.json"
        json_path.unlink(missing_ok=True)
        python = time_command(
            command + ["--json", str(json_path)], runs=args.runs, label=f"python {name}"
        )
        facts += sanity_facts(name, json_path)
        data_path = command[2]
        for label, r_script in comparisons:
            r = None
            if rscript:
                r = time_command(
                    [rscript, "--vanilla", str(HERE / r_script), data_path] + [str(paths["keys"])],
                    runs=args.runs,
                    label=f"R {r_script}",
                )
                steps = r_steps(r.output)
                facts.append(
                    f"{r_script}: R steps (s): "
                    + ", ".join(f"{k} {v:.2f}" for k, v in steps.items())
                )
                facts += [
                    f"{r_script}: R {line[7:]}"
                    for line in r.output.splitlines()
                    if line.startswith("RESULT ")
                ]
            rows.append((label, python, r))

    help_runs = max(args.runs, 10)
    rows.append(
        (
            "healing-survey --help",
            time_command([cli, "--help"], runs=help_runs, label="--help"),
            None,
        )
    )
    if rscript:
        startup = time_command(
            [rscript, "--vanilla", "-e", "suppressMessages({library(psych); library(lavaan)})"],
            runs=args.runs,
            label="R startup",
        )
        rows.append(("R start + library(psych, lavaan)", None, startup))

    print()
    print(
        f"{'workload':<34} {'Python s':>9} {'R s':>7} {'R/Py':>6}"
        f" {'Py CPU s':>9} {'R CPU s':>8} {'R/Py':>6}"
    )
    for label, python, r in rows:
        print(
            f"{label:<34} {_cell(python, 'wall', 9)} {_cell(r, 'wall', 7)}"
            f" {_ratio(python, r, 'wall')} {_cell(python, 'cpu', 9)} {_cell(r, 'cpu', 8)}"
            f" {_ratio(python, r, 'cpu')}"
        )
    print(f"(median of {args.runs} runs; --help median of {help_runs})")
    print()
    for fact in facts:
        print(fact)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
