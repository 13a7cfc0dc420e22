"""Configuration from the environment, with defaults that work on a fresh machine."""

import os
import secrets
from pathlib import Path

DEFAULT_MIN_CELL = 5


class ConfigError(ValueError):
    """A configuration value the app cannot run with."""


def _secret_key(instance_path: Path) -> str:
    """Generate the secret key once and keep it in the instance folder."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = secrets.token_hex(32)
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def _min_cell(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_MIN_CELL
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(
            f"HEALING_SURVEY_MIN_CELL={raw!r} is not a whole number; expected e.g. 5"
        ) from None
    if value < 1:
        raise ConfigError(f"HEALING_SURVEY_MIN_CELL={value} must be at least 1")
    return value


def _withdrawal_days(raw: str | None) -> int:
    """Days after submitting during which a patient may still withdraw (issue 12); no answer
    joins a release block before they have passed (survey.release)."""
    if raw is None:
        return 0
    if not raw.strip().isdigit():
        raise ConfigError(
            f"HEALING_SURVEY_WITHDRAWAL_DAYS={raw!r} is not a whole number of days; expected e.g. 0"
        )
    return int(raw)


def database_url(raw: str) -> str:
    """Accept the common ``postgres://`` and ``postgresql://`` spellings for psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw.removeprefix(prefix)
    return raw


def from_environment(instance_path: Path) -> dict:
    """The settings read from ``DATABASE_URL``, ``SECRET_KEY`` and ``HEALING_SURVEY_*``."""
    instance_path.mkdir(parents=True, exist_ok=True)
    env = os.environ
    default_db = f"sqlite:///{instance_path / 'healing-survey.sqlite'}"
    return {
        "SECRET_KEY": env.get("SECRET_KEY") or _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": database_url(env.get("DATABASE_URL") or default_db),
        "HEALING_SURVEY_MIN_CELL": _min_cell(env.get("HEALING_SURVEY_MIN_CELL")),
        "HEALING_SURVEY_INVITATION_DAYS": 30,
        "HEALING_SURVEY_WITHDRAWAL_DAYS": _withdrawal_days(
            env.get("HEALING_SURVEY_WITHDRAWAL_DAYS")
        ),
    }


# Limits that protect the respondent flow; every form post is far smaller than this.
MAX_CONTENT_LENGTH = 64 * 1024
BASE_SETTINGS = {
    "MAX_CONTENT_LENGTH": MAX_CONTENT_LENGTH,
    "MAX_FORM_MEMORY_SIZE": MAX_CONTENT_LENGTH,
    # A patient may pause for hours; the token stays valid for the browser session.
    "WTF_CSRF_TIME_LIMIT": None,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
}
