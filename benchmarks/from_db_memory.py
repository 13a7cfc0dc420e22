"""Wall time and peak memory of ``healing-survey analyze --from-db`` on a large database.

Builds a SQLite database with the app's schema (``healing-survey db upgrade``), bulk-inserts
``--responses`` submitted patient-form responses (one clinic, a few clinicians, dyads in two
waves, one submitted invitation per response, 38 answers per response from a six-factor latent
model, about 1% "not applicable" codes) with the stdlib ``sqlite3`` module, then runs

    healing-survey analyze --from-db --form patient --json out.json

as a child process and reports its wall time and peak resident memory, and checks that ``n``
in the JSON equals the number of responses.

Run with ``/work/venv/bin/python benchmarks/from_db_memory.py [--responses N] [--db PATH]
[--ordinal] [--first-wave]`` (the last two are passed on to ``analyze``).
``--db`` keeps (and reuses, when it already holds N responses) the database file. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CLINICIANS = 12
BATCH = 20_000
CODE_SHARE = 0.01
FACTOR_CORRELATION = 0.5
THRESHOLDS = np.array([-2.0, -1.3, -0.5, 0.4])  # patients rate their clinicians high
STAMP = "2026-11-01 09:00:00.000000"
SUBMITTED = "2026-11-01 09:07:00.000000"
EXPIRES = "2026-12-01 09:00:00.000000"


def healing_survey() -> str:
    found = Path(sys.executable).with_name("healing-survey")
    return str(found) if found.exists() else (shutil.which("healing-survey") or "healing-survey")


def patient_form():
    sys.path.insert(0, str(ROOT))
    from items import load_bank

    bank = load_bank()
    return bank.version, bank.form("patient").items


def upgrade(database: Path) -> None:
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{database}")
    done = subprocess.run(
        [healing_survey(), "db", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"healing-survey db upgrade failed:\n{done.stdout}\n{done.stderr}")


def simulate_answers(rng, n: int, construct_of: np.ndarray, loadings: np.ndarray) -> np.ndarray:
    """Integer answers 1..5 (0 where the answer is a "not applicable" code), n x items."""
    k = int(construct_of.max()) + 1
    phi = np.full((k, k), FACTOR_CORRELATION) + (1 - FACTOR_CORRELATION) * np.eye(k)
    factors = rng.standard_normal((n, k)) @ np.linalg.cholesky(phi).T
    latent = factors[:, construct_of] * loadings
    latent += rng.standard_normal(latent.shape) * np.sqrt(1 - loadings**2)
    answers = 1 + (latent[:, :, None] > THRESHOLDS).sum(axis=2)
    answers[rng.random(answers.shape) < CODE_SHARE] = 0
    return answers


def build(database: Path, n_responses: int, *, seed: int = 2008) -> None:
    """The schema by migration, then the rows by plain sqlite3 in batches."""
    upgrade(database)
    version, items = patient_form()
    item_ids = [item.id for item in items]
    constructs = list(dict.fromkeys(item.construct for item in items))
    construct_of = np.array([constructs.index(item.construct) for item in items])
    rng = np.random.default_rng(seed)
    loadings = rng.uniform(0.55, 0.8, size=len(items))

    con = sqlite3.connect(database)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-500000")
    con.execute(
        "INSERT INTO clinic (id, name, created_at) VALUES (1, 'Benchmark clinic', ?)", (STAMP,)
    )
    con.executemany(
        "INSERT INTO clinician (id, clinic_id, name, email, created_at) VALUES (?, 1, ?, NULL, ?)",
        [(c, f"Clinician {c}", STAMP) for c in range(1, CLINICIANS + 1)],
    )
    n_dyads = (n_responses + 1) // 2
    for start in range(0, n_dyads, BATCH * 5):
        ids = range(start + 1, min(start + BATCH * 5, n_dyads) + 1)
        con.executemany(
            "INSERT INTO dyad (id, clinician_id, reference, created_at) VALUES (?, ?, ?, ?)",
            [(d, 1 + d % CLINICIANS, f"P{d:08d}", STAMP) for d in ids],
        )
    item_column = np.array(item_ids, dtype=object)
    for start in range(0, n_responses, BATCH):
        stop = min(start + BATCH, n_responses)
        ids = list(range(start + 1, stop + 1))
        dyads = [(i + 1) // 2 for i in ids]
        con.executemany(
            "INSERT INTO wave (id, dyad_id, number, created_at) VALUES (?, ?, ?, ?)",
            [(i, d, 2 - i % 2, STAMP) for i, d in zip(ids, dyads, strict=True)],
        )
        con.executemany(
            "INSERT INTO invitation (id, form, clinician_id, wave_id, token_hash, state,"
            " created_at, expires_at, opened_at, submitted_at)"
            " VALUES (?, 'patient', ?, ?, ?, 'submitted', ?, ?, ?, ?)",
            [
                (i, 1 + d % CLINICIANS, i, f"{i:064x}", STAMP, EXPIRES, STAMP, SUBMITTED)
                for i, d in zip(ids, dyads, strict=True)
            ],
        )
        con.executemany(
            "INSERT INTO response (id, invitation_id, form, bank_version, language,"
            " user_agent_class, started_at, last_saved_at, submitted_at, duration_seconds,"
            " resume_section) VALUES (?, ?, 'patient', ?, 'en', 'phone', ?, ?, ?, 420, 0)",
            [(i, i, version, STAMP, SUBMITTED, SUBMITTED) for i in ids],
        )
        answers = simulate_answers(rng, stop - start, construct_of, loadings).ravel()
        response_ids = np.repeat(np.arange(start + 1, stop + 1), len(item_ids)).tolist()
        item_col = np.tile(item_column, stop - start).tolist()
        values = [None if v == 0 else v for v in answers.tolist()]
        codes = [("not_applicable" if v is None else None) for v in values]
        con.executemany(
            "INSERT INTO answer (response_id, item_id, bank_version, value, code)"
            f" VALUES (?, ?, '{version}', ?, ?)",
            zip(response_ids, item_col, values, codes, strict=True),
        )
        con.commit()
        if (stop // BATCH) % 10 == 0 or stop == n_responses:
            print(f"  {stop:,} responses inserted", flush=True)
    con.execute("ANALYZE")
    con.commit()
    con.close()


def build_in_child(database: Path, n_responses: int) -> None:
    """Build in a separate process, so that this one stays small.

    A child's ``ru_maxrss`` starts from the RSS of the process it was forked from (Linux keeps
    the high-water mark across fork and exec), so a parent swollen by the build (NumPy batches,
    SQLite page cache) would be reported as the analyze child's peak.
    """
    command = [sys.executable, __file__, "--build-only", "--responses", str(n_responses)]
    subprocess.run(command + ["--db", str(database)], check=True)


def count_responses(database: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            return con.execute("SELECT count(*) FROM response WHERE form = 'patient'").fetchone()[0]
        finally:
            con.close()
    except sqlite3.Error:
        return -1


def measure(
    database: Path, json_path: Path, log_path: Path, extra: list[str]
) -> tuple[float, int, int]:
    """Wall seconds, the analyze child's peak RSS (KiB) and its exit status."""
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{database}")
    command = [healing_survey(), "analyze", "--from-db", "--form", "patient", *extra]
    command += ["--json", str(json_path)]
    with log_path.open("w") as log:
        start = time.perf_counter()
        child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    return wall, usage.ru_maxrss, child.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=1_000_000)
    parser.add_argument("--db", type=Path, default=None, help="database file to keep and reuse")
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ordinal", action="store_true", help="analyze with --ordinal")
    parser.add_argument("--first-wave", action="store_true", help="analyze with --first-wave")
    args = parser.parse_args(argv)
    if args.build_only:
        build(args.db, args.responses)
        return 0

    folder = Path(tempfile.mkdtemp(prefix="healing-fromdb-"))
    database = args.db.resolve() if args.db else folder / "bench.sqlite"
    try:
        if count_responses(database) != args.responses:
            database.unlink(missing_ok=True)
            start = time.perf_counter()
            build_in_child(database, args.responses)
            size = database.stat().st_size / 2**20
            print(f"built {database} ({size:,.0f} MiB) in {time.perf_counter() - start:.1f} s")
        else:
            print(f"reusing {database} with {args.responses:,} responses")
        json_path, log_path = folder / "out.json", folder / "analyze.log"
        extra = ["--ordinal"] * args.ordinal + ["--first-wave"] * args.first_wave
        wall, peak_kib, code = measure(database, json_path, log_path, extra)
        children_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        own_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if code != 0:
            sys.stderr.write(log_path.read_text()[-3000:])
            raise SystemExit(f"healing-survey analyze --from-db exited {code}")
        report = json.loads(json_path.read_text(encoding="utf-8"))
        print(f"responses:          {args.responses:,} (analyze {' '.join(extra) or 'default'})")
        print(f"analyze wall time:  {wall:.1f} s")
        print(f"analyze peak RSS:   {peak_kib / 1024:,.0f} MiB ({peak_kib:,} KiB)")
        print(f"RUSAGE_CHILDREN:    {children_kib / 1024:,.0f} MiB (max over all children)")
        print(f"this script's RSS: {own_kib / 1024:,.0f} MiB (a child's peak cannot be below it)")
        print(f"JSON n:             {report['n']:,}")
        efa = report["efa"]
        parallel = efa["parallel"]["n_factors"] if efa["parallel"] else None
        print(f"EFA factors:        {efa['n_factors']} (parallel: {parallel})")
        print(f"correlations:       {efa['correlation']}")
        expected = args.responses if not args.first_wave else report["sample"]["dyads"]
        if report["n"] != expected:
            print(f"MISMATCH: JSON n {report['n']} != {expected}")
            return 1
        return 0
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
