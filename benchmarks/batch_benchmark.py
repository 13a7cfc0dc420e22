"""Wall time of an appointment list of 10,000 rows (every one with an e-mail address) previewed
and stored through the functions the upload page uses (``preview_appointments`` then
``store_appointments``: every row checked twice, 20,000 invitations, 10,000 encrypted contacts
and 10,000 queued messages in one transaction).

    python benchmarks/batch_benchmark.py [--rows N] [--database-url URL]

Without ``--database-url`` a fresh SQLite file in a temporary directory; a PostgreSQL URL gets
its own schema, dropped afterwards. Prints the seconds of the preview and of the store, and
checks the counts stored. Not a test.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from survey import create_app  # noqa: E402
from survey.config import database_url  # noqa: E402
from survey.extensions import db  # noqa: E402

CLINICIANS = 40


def appointment_list(rows: int) -> bytes:
    lines = ["reference,clinician,appointment_date,email,language"]
    for i in range(rows):
        lines.append(
            f"MRN-{i:06d},Clinician {i % CLINICIANS:02d},2026-12-{1 + i % 28:02d},"
            f"patient.{i}@example.org,en"
        )
    return ("\n".join(lines) + "\n").encode()


def schema_for(url: str) -> tuple[str, str | None]:
    if not url.startswith("postgresql"):
        return url, None
    import sqlalchemy as sa

    schema = "hs_batch_benchmark"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}", schema


def run(url: str, rows: int) -> None:
    from flask_migrate import upgrade

    from survey.delivery.models import InvitationContact, OutboxMessage
    from survey.invitations.batch import preview_appointments, store_appointments
    from survey.models import Clinic, Clinician, Invitation

    app = create_app(
        {
            "SECRET_KEY": "benchmark",
            "SQLALCHEMY_DATABASE_URI": url,
        }
    )
    with app.app_context():
        upgrade()
        clinic = Clinic(name="Benchmark Clinic")
        db.session.add(clinic)
        db.session.add_all(
            Clinician(clinic=clinic, name=f"Clinician {i:02d}") for i in range(CLINICIANS)
        )
        db.session.commit()
        content = appointment_list(rows)

        start = time.perf_counter()
        preview = preview_appointments(content, clinic)
        previewed = time.perf_counter() - start
        if preview.problems:
            raise SystemExit(f"unexpected problems: {preview.problems[:3]}")

        start = time.perf_counter()
        result = store_appointments(content, clinic, checksum=preview.checksum, expires_days=30)
        stored = time.perf_counter() - start

        def count(model):
            return db.session.scalar(select(func.count()).select_from(model))

        counts = (count(Invitation), count(InvitationContact), count(OutboxMessage))
        if counts != (2 * rows, rows, rows) or len(result.created) != rows:
            raise SystemExit(f"stored {counts}, expected {(2 * rows, rows, rows)}")
    backend = url.split(":", 1)[0]
    print(
        f"{backend}: {rows:,} rows ({len(content) / 1e6:.2f} MB): preview {previewed:.1f} s, "
        f"store {stored:.1f} s, together {previewed + stored:.1f} s; "
        f"{counts[0]:,} invitations, {counts[1]:,} contacts, {counts[2]:,} messages"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    if args.database_url:
        url, schema = schema_for(database_url(args.database_url))
        try:
            run(url, args.rows)
        finally:
            if schema:
                import sqlalchemy as sa

                engine = sa.create_engine(database_url(args.database_url))
                with engine.begin() as connection:
                    connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
                engine.dispose()
        return
    with tempfile.TemporaryDirectory() as directory:
        run(f"sqlite:///{Path(directory) / 'batch.sqlite'}", args.rows)


if __name__ == "__main__":
    main()
