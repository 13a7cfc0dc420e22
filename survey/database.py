"""Engine set-up per backend (SQLite gets WAL, foreign keys and a busy timeout), and what the
CLI and the web app say when the database cannot be used."""

import contextlib

from flask import Flask
from sqlalchemy import event

from survey.extensions import db


def register_database(app: Flask) -> None:
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("sqlite"):
        # Wait for a writer instead of failing at once; pre-ping is pointless for a file.
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
        options.pop("pool_pre_ping", None)
        options["connect_args"] = {"timeout": 30, **options.get("connect_args", {})}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    register_database_errors(app)
    if uri.startswith("sqlite"):
        with app.app_context():
            event.listen(db.engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


# A database that cannot be used ---------------------------------------------------------------
# Unreachable, of an unknown kind, or without the schema: the command line and the web app say so
# in one line with what to do, never with a traceback (which can hold SQL parameters, such as a
# password hash) and never with a password.

UPGRADE = "run `healing-survey db upgrade`"
KNOWN_KINDS = ("sqlite", "postgresql")


def shown_url(raw: str | None) -> str:
    """The database URL as it may be printed: no password, no driver name.

    Examples
    --------
    >>> shown_url("postgresql+psycopg://ada:s3cret@db.example:5432/survey")
    'postgresql://ada@db.example:5432/survey (password hidden)'
    >>> shown_url("sqlite:////srv/hs.sqlite")
    'sqlite:////srv/hs.sqlite'
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not raw:
        return "the default SQLite file"
    try:
        url = make_url(raw)
    except ArgumentError:
        return raw.split("://", 1)[0] + "://..." if "://" in raw else "(not a URL)"
    hidden = " (password hidden)" if url.password else ""
    plain = url.set(drivername=url.get_backend_name()).render_as_string(hide_password=True)
    return plain.replace(":***@", "@", 1) + hidden


def _kind(raw: str | None) -> str | None:
    if not raw:
        return "sqlite"
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    return scheme.split("+", 1)[0] or None


def database_problem(error: BaseException, raw_url: str | None) -> str | None:
    """One line saying what is wrong with the database and what to do, or None when ``error``
    is not a database problem."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError, ProgrammingError

    where = shown_url(raw_url)
    if isinstance(error, NoSuchModuleError | ArgumentError) or (
        isinstance(error, ModuleNotFoundError) and _kind(raw_url) not in KNOWN_KINDS
    ):
        return (
            f"DATABASE_URL {where} is not a database healing-survey can use; expected"
            " sqlite:////path/to/file.sqlite or postgresql://user@host:5432/name"
        )
    if isinstance(error, ModuleNotFoundError) and (error.name or "").startswith("psycopg"):
        return "the PostgreSQL driver is not installed: pip install 'healing-survey[postgres]'"
    if not isinstance(error, OperationalError | ProgrammingError):
        return None
    text = str(getattr(error, "orig", error) or "").strip()
    lower = text.lower()
    if "no such table" in lower or ("relation" in lower and "does not exist" in lower):
        return f"the database at {where} has no tables: {UPGRADE}"
    if "no such column" in lower or ("column" in lower and "does not exist" in lower):
        return f"the database at {where} has an older schema than this version: {UPGRADE}"
    if "unable to open database file" in lower:
        return (
            f"cannot open the SQLite file {where}: does its folder exist, and may this user"
            " write there?"
        )
    if "file is not a database" in lower:
        return f"{where} is not a SQLite database file: point DATABASE_URL at the right file"
    if "password authentication failed" in lower or "no password supplied" in lower:
        return f"the database at {where} refused the user name or password in DATABASE_URL"
    if "database" in lower and "does not exist" in lower:
        return f"the database named in {where} does not exist: create it (createdb), then {UPGRADE}"
    unreachable = (
        "connection refused",
        "could not connect",
        "connection failed",
        "timeout expired",
        "could not translate host name",
        "name or service not known",
        "server closed the connection",
        "no route to host",
    )
    if any(sign in lower for sign in unreachable):
        return f"cannot reach the database at {where}: is the server running?"
    if "database is locked" in lower:
        return f"the database at {where} is busy (locked by another process): try again"
    first_line = text.splitlines()[0] if text else type(error).__name__
    return f"the database at {where} cannot be used: {first_line}"


def register_database_errors(app: Flask) -> None:
    """Answer 503 with a plain page when the database cannot be used, and log one line."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    def unusable_database(error: OperationalError | ProgrammingError):
        from flask import render_template
        from flask_babel import gettext

        if isinstance(error, ProgrammingError) and not schema_missing(error):
            from survey.errors import unexpected_error

            return unexpected_error(error)
        # The session of a broken connection may not even roll back.
        with contextlib.suppress(Exception):
            db.session.rollback()
        problem = database_problem(error, app.config.get("SQLALCHEMY_DATABASE_URI"))
        app.logger.error("database unusable: %s", problem)
        message = gettext(
            "This service is not set up yet, or its database cannot be reached right now. "
            "Nothing was saved. Please try again later; staff: the server's log says what to do."
        )
        return render_template("errors/error.html", status=503, message=message), 503

    app.register_error_handler(OperationalError, unusable_database)
    app.register_error_handler(ProgrammingError, unusable_database)


def schema_missing(error: BaseException) -> bool:
    """True when the error says a table or column of the schema is not there."""
    lower = str(getattr(error, "orig", error) or "").lower()
    return "no such" in lower or "does not exist" in lower
