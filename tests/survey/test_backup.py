"""Backups taken while respondents submit restore every confirmed response whole, on SQLite and
PostgreSQL; restore refuses what it must refuse with one clear line."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from items import load_bank
from survey import create_app
from survey.extensions import db
from survey.invitations import find_invitation, invite_dyad
from survey.models import Answer, Clinic, Clinician, Response
from survey.operations import OperationError
from survey.operations.backup import backup_database, restore_database, schema_revision
from survey.respond import flow
from tests.conftest import app_settings, postgres_available, postgres_url, schema_url

SUBMITTERS = 3
INVITATIONS = 60


def _schema_database(name: str) -> str:
    """An empty PostgreSQL schema ``name`` (dropped and made again)."""
    base = postgres_url()
    if not postgres_available(base):
        pytest.skip(f"no PostgreSQL server answers at {base}")
    engine = sa.create_engine(base)
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
        connection.execute(sa.text(f"CREATE SCHEMA {name}"))
    engine.dispose()
    return schema_url(base, name)


def _drop_schema(name: str) -> None:
    engine = sa.create_engine(postgres_url())
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {name} CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def live_database(request, tmp_path):
    """A migrated database of each kind, and how to make the same place empty again."""
    from flask_migrate import upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'live.sqlite'}"
        target = f"sqlite:///{tmp_path / 'restored.sqlite'}"
        empty_again = None
    else:
        schema = f"hs_backup_{os.getpid()}"
        url = target = _schema_database(schema)

        def empty_again():
            _schema_database(schema)

    app = create_app(app_settings(url))
    with app.app_context():
        upgrade()
        db.session.remove()
        db.engine.dispose()
    yield app, url, target, empty_again
    if request.param == "postgresql":
        _drop_schema(schema)


def _invitation_tokens(app) -> list[str]:
    with app.app_context():
        clinic = Clinic(name="Backup Clinic")
        clinician = Clinician(clinic=clinic, name="Dr. Backup")
        db.session.add_all([clinic, clinician])
        db.session.commit()
        links = [invite_dyad(clinician.id) for _ in range(INVITATIONS)]
        db.session.remove()
        db.engine.dispose()
    return [link.patient_url.rsplit("/", 1)[1] for link in links]


def _submit_all(app, tokens: list[str], confirmed: list[int], lock: threading.Lock, errors):
    answers = {item.id: 3 for item in load_bank().form("patient").items}
    try:
        with app.app_context():
            for token in tokens:
                invitation = find_invitation(token)
                response = flow.submit(invitation, user_agent=None, language="en", answers=answers)
                with lock:  # the commit has returned: this response is confirmed
                    confirmed.append(response.id)
                db.session.remove()
    except Exception as error:  # reported by the test, not lost in the thread
        errors.append(error)


def test_backup_while_respondents_submit_restores_every_confirmed_response_whole(
    live_database, tmp_path
):
    app, url, target, empty_again = live_database
    tokens = _invitation_tokens(app)
    confirmed: list[int] = []
    lock = threading.Lock()
    errors: list[Exception] = []
    threads = [
        threading.Thread(
            target=_submit_all, args=(app, tokens[i::SUBMITTERS], confirmed, lock, errors)
        )
        for i in range(SUBMITTERS)
    ]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while len(confirmed) < INVITATIONS // 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    with lock:
        before = set(confirmed)
    out = tmp_path / "survey.backup"
    summary = backup_database(url, out)
    for thread in threads:
        thread.join(timeout=120)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    assert errors == []
    assert len(confirmed) == INVITATIONS
    # The backup began while submissions were still coming in (a quarter in, threads running).
    assert len(before) < INVITATIONS
    assert summary.revision == schema_revision(url)

    if empty_again is not None:
        empty_again()
    restored = restore_database(target, out)
    assert restored.at_head and not restored.replaced_data

    n_items = len(load_bank().form("patient").items)
    restored_app = create_app(app_settings(target))
    with restored_app.app_context():
        answers_per_response = dict(
            db.session.execute(
                sa.select(Response.id, sa.func.count(Answer.id))
                .outerjoin(Answer, Answer.response_id == Response.id)
                .group_by(Response.id)
            ).all()
        )
        unsubmitted = db.session.scalar(
            sa.select(sa.func.count()).where(Response.submitted_at.is_(None))
        )
        db.session.remove()
        db.engine.dispose()
    assert before <= set(answers_per_response)
    # Whole: every stored response has all its answers; none is half-stored.
    assert set(answers_per_response.values()) == {n_items}
    assert unsubmitted == 0
    assert "(head)" in _db_current(target, tmp_path)
    verified = restored_app.test_cli_runner().invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    with restored_app.app_context():
        db.session.remove()
        db.engine.dispose()


def _db_current(url: str, instance: Path) -> str:
    """What ``healing-survey db current`` prints for the database at ``url``."""
    script = Path(sys.executable).with_name("healing-survey")
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="test", FLASK_INSTANCE_PATH=str(instance))
    done = subprocess.run(
        [str(script), "db", "current"], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def _migrated_sqlite(path) -> str:
    from flask_migrate import upgrade

    url = f"sqlite:///{path}"
    app = create_app(app_settings(url))
    with app.app_context():
        upgrade()
        db.session.add(Clinic(name="Kept"))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return url


def test_restore_refuses_a_database_with_data_unless_forced(tmp_path):
    url = _migrated_sqlite(tmp_path / "a.sqlite")
    out = tmp_path / "a.backup"
    backup_database(url, out)
    with pytest.raises(OperationError, match=r"is not empty \(rows in .*clinic.*--force"):
        restore_database(url, out)
    summary = restore_database(url, out, force=True)
    assert summary.replaced_data and summary.at_head


def test_backup_and_restore_name_what_is_wrong(tmp_path, app):
    url = _migrated_sqlite(tmp_path / "a.sqlite")
    with pytest.raises(OperationError, match="output directory .*missing.* does not exist"):
        backup_database(url, tmp_path / "missing" / "x.backup")
    with pytest.raises(OperationError, match="no SQLite database at"):
        backup_database(f"sqlite:///{tmp_path / 'none.sqlite'}", tmp_path / "x.backup")
    with pytest.raises(OperationError, match="no backup file at"):
        restore_database(url, tmp_path / "nothing.backup")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(OperationError, match="not a healing-survey backup"):
        restore_database(url, tmp_path / "notes.txt")
    (tmp_path / "fake.dump").write_bytes(b"PGDMP\x01\x0f")
    with pytest.raises(OperationError, match="PostgreSQL backup but DATABASE_URL names a SQLite"):
        restore_database(url, tmp_path / "fake.dump")
    plain = tmp_path / "plain.sqlite"
    sqlite3.connect(plain).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(OperationError, match="not a healing-survey database"):
        backup_database(f"sqlite:///{plain}", tmp_path / "x.backup")


def test_restore_refuses_a_backup_from_a_newer_version(tmp_path):
    url = _migrated_sqlite(tmp_path / "a.sqlite")
    out = tmp_path / "a.backup"
    backup_database(url, out)
    connection = sqlite3.connect(out)
    connection.execute("UPDATE alembic_version SET version_num = 'f00dfeedbeef'")
    connection.commit()
    connection.close()
    empty = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    with pytest.raises(OperationError, match="'f00dfeedbeef', unknown to this version"):
        restore_database(empty, out)
    assert not (tmp_path / "empty.sqlite").exists() or schema_revision(empty) is None


def test_cli_errors_are_one_line_without_traceback(tmp_path, monkeypatch):
    url = _migrated_sqlite(tmp_path / "a.sqlite")
    app = create_app(app_settings(url))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["backup", "--out", str(tmp_path / "no" / "b.backup")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: the output directory {tmp_path / 'no'} does not exist; create it first"
    ]
    result = runner.invoke(args=["backup", "--out", str(tmp_path / "b.backup")])
    assert result.exit_code == 0 and "backed up the sqlite database" in result.output
    result = runner.invoke(args=["restore", str(tmp_path / "b.backup")])
    assert result.exit_code == 1 and "--force" in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.mark.postgres
def test_postgres_backup_without_pg_dump_says_what_to_do(tmp_path, monkeypatch):
    url = _schema_database(f"hs_nodump_{os.getpid()}")
    try:
        monkeypatch.setattr(shutil, "which", lambda name: None)
        with pytest.raises(OperationError, match="pg_dump is not on PATH: install"):
            backup_database(url, tmp_path / "x.dump")
    finally:
        _drop_schema(f"hs_nodump_{os.getpid()}")


def test_unreachable_postgres_is_named(tmp_path):
    url = "postgresql+psycopg://127.0.0.1:1/nothing"
    with pytest.raises(OperationError, match=r"cannot reach the database .*127\.0\.0\.1:1"):
        backup_database(url, tmp_path / "x.dump")
