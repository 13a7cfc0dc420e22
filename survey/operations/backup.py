"""Consistent backups of a live database and restores into an empty one.

SQLite is copied with its online backup API (one read transaction, so writers carry on and the
copy holds exactly the transactions committed before it began). PostgreSQL is dumped with
``pg_dump --format=custom`` and restored with ``pg_restore --single-transaction``, so a failed
restore leaves nothing half-done. After a restore the schema revision is compared with the
Alembic head of this version.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from survey.extensions import MIGRATIONS_DIR
from survey.operations import OperationError

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"
PG_TOOLS_HELP = (
    "install the PostgreSQL client tools of the server's major version (Debian/Ubuntu: "
    "apt install postgresql-client) or run pg_dump --format=custom yourself (README, Operations)"
)


@dataclass(frozen=True)
class BackupSummary:
    """What ``backup_database`` wrote."""

    path: str
    kind: str
    size_bytes: int
    revision: str | None
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RestoreSummary:
    """What ``restore_database`` brought back and whether the schema is at this version's head."""

    source: str
    kind: str
    revision: str | None
    head: str
    at_head: bool
    replaced_data: bool
    seconds: float

    def to_dict(self) -> dict:
        return asdict(self)


def database_kind(url: str) -> str:
    """``"sqlite"`` or ``"postgresql"``; any other database is refused.

    Examples
    --------
    >>> database_kind("sqlite:////tmp/x.sqlite")
    'sqlite'
    >>> database_kind("postgresql+psycopg://db.example/survey")
    'postgresql'
    """
    backend = make_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise OperationError(f"backups support SQLite and PostgreSQL, not {backend!r} databases")
    return backend


def alembic_heads() -> tuple[str, ...]:
    from alembic.script import ScriptDirectory

    return tuple(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {script.revision for script in ScriptDirectory(str(MIGRATIONS_DIR)).walk_revisions()}


def _check_output_path(out: Path) -> None:
    if out.is_dir():
        raise OperationError(f"--out {out} is a directory; give a file name, e.g. {out}/survey.bak")
    if not out.parent.is_dir():
        raise OperationError(f"the output directory {out.parent} does not exist; create it first")
    if not os.access(out.parent, os.W_OK):
        raise OperationError(f"the output directory {out.parent} is not writable")


def _partial_path(out: Path) -> Path:
    return out.with_name(f".{out.name}.partial-{os.getpid()}")


def backup_database(url: str, out: Path) -> BackupSummary:
    """Write a consistent copy of the database at ``url`` to ``out`` (replaced atomically)."""
    kind = database_kind(url)
    _check_output_path(out)
    started = time.perf_counter()
    partial = _partial_path(out)
    try:
        if kind == "sqlite":
            revision = _backup_sqlite(_sqlite_path(url), partial)
        else:
            revision = _backup_postgres(url, partial)
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)
    return BackupSummary(
        path=str(out),
        kind=kind,
        size_bytes=out.stat().st_size,
        revision=revision,
        seconds=round(time.perf_counter() - started, 3),
    )


def restore_database(url: str, source: Path, *, force: bool = False) -> RestoreSummary:
    """Bring the backup ``source`` back into the database at ``url``.

    Refuses a database that holds any rows unless ``force``, a backup of the other database kind,
    and a backup from a newer version of healing-survey (an unknown schema revision).
    """
    kind = database_kind(url)
    backup_kind = _backup_kind(source)
    if backup_kind != kind:
        raise OperationError(
            f"{source} is a {_KIND_NAMES[backup_kind]} backup but DATABASE_URL names a "
            f"{_KIND_NAMES[kind]} database; restore it into a {_KIND_NAMES[backup_kind]} database"
        )
    started = time.perf_counter()
    if kind == "sqlite":
        replaced = _restore_sqlite(source, _sqlite_path(url), force=force)
    else:
        replaced = _restore_postgres(source, url, force=force)
    revision = schema_revision(url)
    head = ", ".join(alembic_heads())
    return RestoreSummary(
        source=str(source),
        kind=kind,
        revision=revision,
        head=head,
        at_head=revision == head,
        replaced_data=replaced,
        seconds=round(time.perf_counter() - started, 3),
    )


_KIND_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _backup_kind(source: Path) -> str:
    if not source.exists():
        raise OperationError(f"no backup file at {source}")
    if not source.is_file():
        raise OperationError(f"{source} is not a file")
    with source.open("rb") as handle:
        start = handle.read(len(SQLITE_MAGIC))
    if start == SQLITE_MAGIC:
        return "sqlite"
    if start.startswith(PG_CUSTOM_MAGIC):
        return "postgresql"
    raise OperationError(
        f"{source} is not a healing-survey backup (neither a SQLite file nor a pg_dump "
        "custom-format archive)"
    )


def _check_revision(revision: str | None, source: Path) -> None:
    if revision is None:
        raise OperationError(
            f"{source} has no schema revision (alembic_version): not a healing-survey backup"
        )
    if revision not in _known_revisions():
        raise OperationError(
            f"{source} is at schema revision {revision!r}, unknown to this version of "
            "healing-survey: restore it with the version that made it (or a newer one)"
        )


def schema_revision(url: str) -> str | None:
    """The Alembic revision the database at ``url`` is at, or None without ``alembic_version``."""
    engine = sa.create_engine(url, **_connect_args(url))
    try:
        with engine.connect() as connection:
            if not sa.inspect(connection).has_table("alembic_version"):
                return None
            return connection.scalar(sa.text("SELECT version_num FROM alembic_version"))
    except sa.exc.OperationalError as error:
        raise _unreachable(url, error) from None
    finally:
        engine.dispose()


def _connect_args(url: str) -> dict:
    if database_kind(url) == "postgresql":
        return {"connect_args": {"connect_timeout": 5}}
    return {}


def _unreachable(url: str, error: Exception) -> OperationError:
    parsed = make_url(url)
    where = parsed.render_as_string(hide_password=True)
    reason = str(getattr(error, "orig", error)).strip().splitlines()[0]
    return OperationError(f"cannot reach the database {where}: {reason}")


# --- SQLite -------------------------------------------------------------------------------


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise OperationError(f"{url} is not a SQLite database file, so it cannot be backed up")
    return Path(database)


def _sqlite_revision(connection: sqlite3.Connection) -> str | None:
    has_table = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    ).fetchone()
    if not has_table:
        return None
    row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if row is None else row[0]


def _quick_check(connection: sqlite3.Connection, what: str) -> None:
    result = connection.execute("PRAGMA quick_check").fetchone()[0]
    if result != "ok":
        raise OperationError(f"{what} failed SQLite's integrity check: {result}")


def _backup_sqlite(database: Path, partial: Path) -> str | None:
    if not database.is_file():
        raise OperationError(f"no SQLite database at {database}: nothing to back up")
    source = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(partial)
    try:
        revision = _sqlite_revision(source)
        if revision is None:
            raise OperationError(
                f"{database} has no schema revision: not a healing-survey database "
                "(run `healing-survey db upgrade` to create one)"
            )
        # pages=-1 copies everything in one step, inside one read transaction: a consistent copy
        # while the app goes on writing (WAL mode lets both run at once).
        source.backup(target, pages=-1)
        target.execute("PRAGMA journal_mode=DELETE")
        _quick_check(target, "the new backup")
    except sqlite3.Error as error:
        raise OperationError(f"backing up {database} failed: {error}") from None
    finally:
        source.close()
        target.close()
    return revision


def _sqlite_rows(connection: sqlite3.Connection) -> list[str]:
    """Names of the tables (other than alembic_version) that hold at least one row."""
    names = [
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name <> 'alembic_version'"
        )
    ]
    quoted = {name: '"' + name.replace('"', '""') + '"' for name in names}
    return [
        name
        for name in names
        if connection.execute(f"SELECT EXISTS (SELECT 1 FROM {quoted[name]})").fetchone()[0]
    ]


def _refuse_non_empty(where: str, tables: list[str]) -> None:
    shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
    raise OperationError(
        f"the database {where} is not empty (rows in {shown}); restore into an empty database, "
        "or pass --force to replace its contents with the backup"
    )


def _restore_sqlite(source: Path, database: Path, *, force: bool) -> bool:
    if not database.parent.is_dir():
        raise OperationError(f"the directory {database.parent} of DATABASE_URL does not exist")
    backup = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        _quick_check(backup, str(source))
        _check_revision(_sqlite_revision(backup), source)
        target = sqlite3.connect(database, timeout=30)
        try:
            filled = _sqlite_rows(target)
            if filled and not force:
                _refuse_non_empty(str(database), filled)
            backup.backup(target, pages=-1)
            _quick_check(target, f"the restored database {database}")
        finally:
            target.close()
    except sqlite3.DatabaseError as error:
        raise OperationError(f"restoring {source} into {database} failed: {error}") from None
    finally:
        backup.close()
    return bool(filled)


# --- PostgreSQL ---------------------------------------------------------------------------


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise OperationError(f"{name} is not on PATH: {PG_TOOLS_HELP}")
    return path


def _libpq(url: str) -> tuple[str, dict]:
    """A libpq connection URI without the password, and the environment that carries it."""
    parsed: URL = make_url(url)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _pg_schema(url: str) -> tuple[str | None, list[str]]:
    """The schema the URL's connections use, and its tables that hold rows."""
    engine = sa.create_engine(url, **_connect_args(url))
    try:
        with engine.connect() as connection:
            schema = connection.scalar(sa.text("SELECT current_schema()"))
            if schema is None:
                return None, []
            filled = []
            for name in sa.inspect(connection).get_table_names(schema=schema):
                if name == "alembic_version":
                    continue
                table = sa.table(name, schema=schema)
                if connection.scalar(sa.select(sa.exists().select_from(table))):
                    filled.append(name)
            return schema, filled
    except sa.exc.OperationalError as error:
        raise _unreachable(url, error) from None
    finally:
        engine.dispose()


def _run(command: list[str], env: dict, what: str) -> str:
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        reason = lines[0] if lines else f"exit status {result.returncode}"
        raise OperationError(f"{what} failed: {reason}")
    return result.stdout


def _backup_postgres(url: str, partial: Path) -> str | None:
    pg_dump = _pg_tool("pg_dump")
    schema, _ = _pg_schema(url)
    if schema is None:
        raise OperationError("the schema named in DATABASE_URL's search_path does not exist")
    revision = schema_revision(url)
    if revision is None:
        raise OperationError(
            "the database has no schema revision: not a healing-survey database "
            "(run `healing-survey db upgrade` to create one)"
        )
    conninfo, env = _libpq(url)
    _run(
        [pg_dump, "--format=custom", f"--schema={schema}", f"--file={partial}", conninfo],
        env,
        "pg_dump",
    )
    return revision


_TOC_TABLE = re.compile(r"^\d+; \d+ \d+ TABLE (\S+) alembic_version ", re.MULTILINE)
_COPY_DATA = re.compile(r"^COPY \S+ \(version_num\) FROM stdin;\n(.*?)\n\\\.", re.MULTILINE)


def _dump_schema_and_revision(pg_restore: str, source: Path) -> tuple[str, str | None]:
    env = dict(os.environ)
    toc = _run([pg_restore, "--list", str(source)], env, f"reading {source}")
    found = _TOC_TABLE.search(toc)
    if found is None:
        raise OperationError(
            f"{source} holds no alembic_version table: not a healing-survey backup"
        )
    data = _run(
        [pg_restore, "--data-only", "--table=alembic_version", "--file=-", str(source)],
        env,
        f"reading {source}",
    )
    copied = _COPY_DATA.search(data)
    revision = copied.group(1).strip() if copied else None
    return found.group(1), revision or None


def _restore_postgres(source: Path, url: str, *, force: bool) -> bool:
    pg_restore = _pg_tool("pg_restore")
    dump_schema, revision = _dump_schema_and_revision(pg_restore, source)
    _check_revision(revision, source)
    schema, filled = _pg_schema(url)
    if schema is not None and schema != dump_schema:
        raise OperationError(
            f"{source} holds schema {dump_schema!r} but DATABASE_URL uses schema {schema!r}; "
            "restore into a database whose search path names the same schema"
        )
    if filled and not force:
        _refuse_non_empty(make_url(url).render_as_string(hide_password=True), filled)
    conninfo, env = _libpq(url)
    _run(
        [
            pg_restore,
            "--clean",
            "--if-exists",
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={conninfo}",
            str(source),
        ],
        env,
        "pg_restore",
    )
    return bool(filled)
