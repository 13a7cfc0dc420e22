"""The Alembic revisions build the models' schema from empty, on SQLite and PostgreSQL."""

from __future__ import annotations

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
    reset_postgres_schema(base, "hs_migration_test")
    yield schema_url(base, "hs_migration_test")
    engine = sa.create_engine(base)
    with engine.begin() as connection:
        connection.execute(sa.text("DROP SCHEMA IF EXISTS hs_migration_test CASCADE"))
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
