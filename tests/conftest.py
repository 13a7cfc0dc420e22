"""Fixtures shared by the whole suite: an app per test on a database built by the migrations.

The suite runs on SQLite by default and on PostgreSQL when ``TEST_DATABASE_URL`` names one
(``.ci/run`` does both). The schema is built once per session by running the Alembic revisions
from empty to head; each test then starts from empty tables.
"""

from __future__ import annotations

import os
import re

import pytest
import sqlalchemy as sa

from survey import create_app
from survey.config import database_url
from survey.extensions import db

DEFAULT_POSTGRES_URL = "postgresql+psycopg://127.0.0.1:5432/test"


def postgres_url() -> str:
    return database_url(os.environ.get("TEST_DATABASE_URL") or DEFAULT_POSTGRES_URL)


def postgres_available(url: str) -> bool:
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 2})
        with engine.connect():
            pass
        engine.dispose()
    except Exception:  # any failure to connect means: no server for this run
        return False
    return True


def schema_url(url: str, schema: str) -> str:
    """A PostgreSQL URL whose connections use ``schema`` as search path."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


def reset_postgres_schema(url: str, schema: str) -> None:
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", schema):
        raise ValueError(f"unsafe schema name {schema!r}")
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    engine.dispose()


def app_settings(url: str) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": url,
        "HEALING_SURVEY_MIN_CELL": 5,
    }


@pytest.fixture(scope="session")
def database_url_for_tests(tmp_path_factory) -> str:
    """Build the schema once with the migrations; yields the URL every test app uses."""
    from flask_migrate import upgrade

    raw = os.environ.get("TEST_DATABASE_URL")
    if raw:
        base = database_url(raw)
        if not postgres_available(base):
            pytest.exit(f"TEST_DATABASE_URL={raw} does not answer", returncode=2)
        schema = f"hs_test_{os.getpid()}"
        reset_postgres_schema(base, schema)
        url = schema_url(base, schema)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'suite.sqlite'}"
    app = create_app(app_settings(url))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    yield url
    if raw:
        engine = sa.create_engine(database_url(raw))
        with engine.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        engine.dispose()


def clear_tables(app) -> None:
    """Empty every table, so the next test starts from the schema alone."""
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as connection:
            for table in reversed(db.metadata.sorted_tables):
                connection.execute(table.delete())
        db.engine.dispose()


@pytest.fixture
def app(database_url_for_tests):
    app = create_app(app_settings(database_url_for_tests))
    yield app
    clear_tables(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
