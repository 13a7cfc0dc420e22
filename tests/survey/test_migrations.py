"""The Alembic revisions build the models' schema from empty, on SQLite and PostgreSQL."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from survey import create_app
from survey.extensions import db
from tests.conftest import (
    app_settings,
    postgres_available,
    postgres_url,
    reset_postgres_schema,
    schema_url,
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.sqlite'}"
        return
    base = postgres_url()
    if not postgres_available(base):
        pytest.skip(f"no PostgreSQL server answers at {base}")
    # One schema per process: CI runs its two passes at once, both with this test.
    schema = f"hs_migration_test_{os.getpid()}"
    reset_postgres_schema(base, schema)
    yield schema_url(base, schema)
    engine = sa.create_engine(base)
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    engine.dispose()


def test_migrations_run_from_empty_to_head_and_back(empty_database):
    app = create_app(app_settings(empty_database))
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []
            tables = set(sa.inspect(connection).get_table_names())
        assert {
            "clinic",
            "clinician",
            "dyad",
            "wave",
            "invitation",
            "response",
            "answer",
            "audit_event",
            "alembic_version",
        } <= tables
        downgrade(revision="base")
        with db.engine.connect() as connection:
            assert set(sa.inspect(connection).get_table_names()) <= {"alembic_version"}
        db.engine.dispose()


def test_0010_gives_released_blocks_the_language_their_members_share(empty_database):
    """Blocks released before the language split: one language if every member's patient has
    it (the answer's, else the invitation's), none when they differ."""
    app = create_app(app_settings(empty_database))
    now = "2026-11-01 10:00:00+00:00"
    with app.app_context():
        upgrade(revision="0007")
        with db.engine.begin() as connection:
            run = connection.execute
            run(
                sa.text("INSERT INTO clinic (id, name, created_at) VALUES (1, 'C', :t)"), {"t": now}
            )
            run(
                sa.text(
                    "INSERT INTO clinician (id, clinic_id, name, created_at) VALUES (1, 1, 'N', :t)"
                ),
                {"t": now},
            )
            run(
                sa.text("INSERT INTO dyad (id, clinician_id, created_at) VALUES (1, 1, :t)"),
                {"t": now},
            )
            for block, kind in ((1, "patient"), (2, "patient"), (3, "clinician")):
                run(
                    sa.text(
                        "INSERT INTO release_block (id, clinic_id, clinician_id, wave_number, kind,"
                        " released_at, period_month, dyad_waves, patient_responses,"
                        " clinician_responses, complete_pairs)"
                        " VALUES (:id, 1, 1, 1, :kind, :t, '2026-11', 2, 2, 0, 0)"
                    ),
                    {"id": block, "kind": kind, "t": now},
                )
            # wave: (block, the patient invitation's language, the patient's answer's language)
            members = [(1, None, "es"), (1, "en", "es"), (2, None, "en"), (2, None, "es")]
            members += [(3, "es", None), (3, "es", None)]
            for wave, (block, invited_in, answered_in) in enumerate(members, start=1):
                run(
                    sa.text(
                        "INSERT INTO wave (id, dyad_id, number, created_at, release_block_id)"
                        " VALUES (:w, 1, :w, :t, :b)"
                    ),
                    {"w": wave, "t": now, "b": block},
                )
                run(
                    sa.text(
                        "INSERT INTO invitation (id, form, clinician_id, wave_id, token_hash,"
                        " state, created_at, expires_at, language)"
                        " VALUES (:w, 'patient', 1, :w, :h, :s, :t, :t, :lang)"
                    ),
                    {
                        "w": wave,
                        "h": f"hash{wave}",
                        "s": "submitted" if answered_in else "pending",
                        "t": now,
                        "lang": invited_in,
                    },
                )
                if answered_in:
                    run(
                        sa.text(
                            "INSERT INTO response (id, invitation_id, form, bank_version,"
                            " language, user_agent_class, started_at, last_saved_at,"
                            " submitted_at, resume_section)"
                            " VALUES (:w, :w, 'patient', '2026.12.1', :lang, 'phone', :t, :t,"
                            " :t, 0)"
                        ),
                        {"w": wave, "lang": answered_in, "t": now},
                    )
        upgrade()
        with db.engine.connect() as connection:
            languages = dict(
                connection.execute(sa.text("SELECT id, language FROM release_block")).all()
            )
            terms = connection.execute(sa.text("SELECT clinician_term FROM clinic")).scalars()
            assert list(terms) == ["clinician"]
        assert languages == {1: "es", 2: None, 3: "es"}
        with db.engine.begin() as connection:
            for table in ("response", "invitation", "wave", "release_block", "dyad", "clinician"):
                connection.execute(sa.text(f"DELETE FROM {table}"))
            connection.execute(sa.text("DELETE FROM clinic"))
        downgrade(revision="base")
        db.engine.dispose()
