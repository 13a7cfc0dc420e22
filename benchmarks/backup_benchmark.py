"""Time `backup` and `restore` on a demo database (SQLite, or PostgreSQL with --postgres URL).

    python benchmarks/backup_benchmark.py [--dyads 2000] [--postgres postgresql://127.0.0.1/test]

The PostgreSQL run uses a schema of its own (dropped afterwards). Prints one line per step.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

from survey import create_app
from survey.config import database_url
from survey.demo import create_demo
from survey.extensions import db
from survey.operations.backup import backup_database, restore_database


def _settings(url: str) -> dict:
    return {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "benchmark", "TESTING": True}


def _fill(url: str, dyads: int) -> int:
    app = create_app(_settings(url))
    with app.app_context():
        upgrade()
        create_demo(dyads=dyads, seed=1)
        responses = db.session.scalar(sa.text("SELECT count(*) FROM response"))
        db.engine.dispose()
    return responses


def _schema(base: str, name: str, *, drop_only: bool = False) -> str:
    engine = sa.create_engine(base)
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
        if not drop_only:
            connection.execute(sa.text(f"CREATE SCHEMA {name}"))
    engine.dispose()
    return f"{base}?options=-csearch_path%3D{name}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dyads", type=int, default=2000)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL URL to use instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        if args.postgres:
            base = database_url(args.postgres)
            schema = f"hs_bench_{os.getpid()}"
            url = target = _schema(base, schema)
        else:
            url = f"sqlite:///{folder / 'live.sqlite'}"
            target = f"sqlite:///{folder / 'restored.sqlite'}"
        responses = _fill(url, args.dyads)
        out = folder / "survey.backup"
        started = time.perf_counter()
        summary = backup_database(url, out)
        backup_s = time.perf_counter() - started
        if args.postgres:
            _schema(base, schema)
        started = time.perf_counter()
        restore_database(target, out)
        restore_s = time.perf_counter() - started
        print(
            f"{summary.kind}: {args.dyads} dyads, {responses} responses; backup "
            f"{summary.size_bytes / 2**20:.1f} MiB in {backup_s:.2f} s, restore {restore_s:.2f} s"
        )
        if args.postgres:
            _schema(base, schema, drop_only=True)


if __name__ == "__main__":
    main()
