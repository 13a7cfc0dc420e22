"""Fixtures shared by the whole suite: an app per test on a database built by the migrations.

The suite runs on SQLite by default and on PostgreSQL when ``TEST_DATABASE_URL`` names one
(``.ci/run`` does both). The schema is built once per session by running the Alembic revisions
from empty to head; each test then starts from empty tables.

Every test whose fixtures reach the test database is marked ``database`` here, so the
PostgreSQL pass can run just those (``pytest -m "database or postgres"``): the others never
open a connection and would only repeat the SQLite pass.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from jinja2 import BytecodeCache

from survey import create_app
from survey.auth import accounts
from survey.config import database_url
from survey.extensions import db

DEFAULT_POSTGRES_URL = "postgresql+psycopg://127.0.0.1:5432/test"

# The app's own hasher (argon2id at the library's defaults, about 0.3 s a hash here). Tests hash
# and verify with a cheap one instead; test_auth checks this one with the ``production_hasher``
# fixture.
PRODUCTION_HASHER = accounts._hasher
# Same algorithm and code paths, the smallest cost argon2 allows: about 0.1 ms a hash.
TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


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


def pytest_collection_modifyitems(config, items):
    """Mark ``database`` every test that uses the test database (directly or via ``app``)."""
    for item in items:
        if "database_url_for_tests" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.database)


def pytest_terminal_summary(terminalreporter):
    """Count the tests run that reach a database: ``.ci/run`` checks that the PostgreSQL pass
    ran as many as the SQLite pass (none left out by mistake). Every test run has one setup
    report, which carries its markers (also under pytest-xdist); node ids are not counted
    because schemathesis runs several tests under one."""
    uses_database = postgres_only = 0
    for reports in terminalreporter.stats.values():
        for report in reports:
            if not isinstance(report, pytest.TestReport) or report.when != "setup":
                continue  # deselected items are listed here too
            if "database" in report.keywords:
                uses_database += 1
            elif "postgres" in report.keywords:
                postgres_only += 1
    terminalreporter.write_line(
        f"database tests run: {uses_database + postgres_only} ({uses_database} use the test "
        f"database, {postgres_only} more reach PostgreSQL themselves)"
    )


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes():
    """Argon2 at its cheapest for the whole session: sign-ins in tests cost 0.1 ms, not 0.3 s.

    Hashes made with it also verify cheaply (argon2 reads the cost from the hash), and the app
    does not rehash them on sign-in because its hasher is this one."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "_hasher", TEST_HASHER)
        accounts._dummy_hash.cache_clear()
        yield
    accounts._dummy_hash.cache_clear()


@pytest.fixture
def production_hasher(monkeypatch):
    """The app's real argon2 parameters, for the tests about them."""
    monkeypatch.setattr(accounts, "_hasher", PRODUCTION_HASHER)
    accounts._dummy_hash.cache_clear()
    yield PRODUCTION_HASHER
    accounts._dummy_hash.cache_clear()


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
        # The suite's data is thrown away: commits need not wait for the server's disk.
        url = schema_url(base, schema) + "%20-csynchronous_commit%3Doff"
        folder = None
    else:
        folder = memory_folder() or tmp_path_factory.mktemp("db")
        url = f"sqlite:///{folder / 'suite.sqlite'}"
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
    elif folder is not None and folder.parent == Path("/dev/shm"):
        shutil.rmtree(folder, ignore_errors=True)


def memory_folder() -> Path | None:
    """A fresh folder in RAM (Linux's /dev/shm), where SQLite's commits skip the disk's fsync;
    None where there is none."""
    if not os.access("/dev/shm", os.W_OK):
        return None
    return Path(tempfile.mkdtemp(prefix="healing-survey-tests-", dir="/dev/shm"))


class SharedTemplateCode(BytecodeCache):
    """Compiled templates kept in memory for the session: each test's new app would otherwise
    compile every page it renders again (Jinja keys the code by template name and source)."""

    def __init__(self):
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CODE = SharedTemplateCode()


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
    app.jinja_env.bytecode_cache = TEMPLATE_CODE
    yield app
    clear_tables(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
