"""Wall time and peak memory of ``healing-survey export`` on 100,000 responses.

Builds a SQLite database with the app's schema and ``--responses`` submitted patient-form
responses (38 items each; the bulk insert is ``benchmarks/from_db_memory.py``'s ``build``), then
runs each export as a child process, the real command line:

    healing-survey export --format csv|csv-long|sav|dta --form patient --out FILE

and reports its wall time and peak resident memory (``ru_maxrss`` of the child, from
``os.wait4``), beside the same command for the codebook (no responses read: the floor of the
process), and the same CSV export of a database a fifth the size (memory should not grow with
the rows). It checks that every file holds every response: the CSV's data rows and the .sav and .dta
files' case counts equal the number of responses.

Run with ``/work/venv/bin/python benchmarks/export_benchmark.py [--responses N] [--db PATH]``.
Not a test.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from from_db_memory import build, count_responses, healing_survey  # noqa: E402


def ensure_database(database: Path, n: int) -> None:
    """Build in a child process: Linux keeps a process's peak RSS across fork and exec, so a
    parent grown by the bulk insert would raise every measured child's peak to its own."""
    if count_responses(database) == n:
        print(f"reusing {database} with {n:,} responses")
        return
    database.unlink(missing_ok=True)
    start = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--build", str(database), str(n)], check=True)
    print(f"built {database.name} with {n:,} responses in {time.perf_counter() - start:.1f} s")


def run_export(database: Path, fmt: str, out: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one export child process."""
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{database}", SECRET_KEY="benchmark")
    command = [healing_survey(), "export", "--format", fmt, "--form", "patient", "--out", str(out)]
    start = time.perf_counter()
    child = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    output = child.stdout.read().decode()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"export --format {fmt} failed:\n{output}")
    return wall, usage.ru_maxrss / 1024


def csv_rows(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def sav_rows(path: Path) -> int:
    import pyreadstat

    _, meta = pyreadstat.read_sav(str(path), metadataonly=True)
    return meta.number_rows


def dta_rows(path: Path) -> int:
    import pyreadstat

    _, meta = pyreadstat.read_dta(str(path), metadataonly=True)
    return meta.number_rows


ROW_COUNTERS = {"sav": sav_rows, "dta": dta_rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=100_000)
    parser.add_argument("--db", type=Path, default=None, help="database file to keep and reuse")
    parser.add_argument("--build", nargs=2, metavar=("PATH", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.build:
        build(Path(args.build[0]), int(args.build[1]))
        return 0
    n, small_n = args.responses, max(1, args.responses // 5)
    folder = Path(tempfile.mkdtemp(prefix="healing-export-"))
    database = args.db.resolve() if args.db else folder / "bench.sqlite"
    small = folder / "small.sqlite"
    try:
        ensure_database(database, n)
        ensure_database(small, small_n)
        runs = [
            ("codebook (floor)", database, "codebook", None),
            (f"csv, {small_n:,} responses", small, "csv", small_n),
            (f"csv, {n:,} responses", database, "csv", n),
            (f"csv-long, {n:,} responses", database, "csv-long", n * 38),
            (f"sav, {n:,} responses", database, "sav", n),
            (f"dta, {n:,} responses", database, "dta", n),
        ]
        failures = 0
        print(f"{'export':<32}{'seconds':>9}{'peak RSS MiB':>14}{'MiB file':>10}  rows")
        for label, db_path, fmt, expected in runs:
            out = folder / f"out-{fmt}-{db_path.stem}"
            wall, peak = run_export(db_path, fmt, out)
            size = out.stat().st_size / 2**20
            rows = "" if expected is None else ROW_COUNTERS.get(fmt, csv_rows)(out)
            whole = expected is None or rows == expected
            failures += not whole
            check = "" if expected is None else f"{rows:,} ({'whole' if whole else 'CUT'})"
            print(f"{label:<32}{wall:>9.1f}{peak:>14.0f}{size:>10.1f}  {check}")
        return 1 if failures else 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
