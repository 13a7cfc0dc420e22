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


def _contact_key(raw: str | None, instance_path: Path) -> str:
    """The key that encrypts patients' e-mail addresses: from the environment, else generated
    once into the instance folder (never into the database)."""
    from cryptography.fernet import Fernet

    if raw:
        try:
            Fernet(raw)
        except ValueError:
            raise ConfigError(
                "HEALING_SURVEY_CONTACT_KEY is not a Fernet key (32 url-safe base64-encoded "
                "bytes); make one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            ) from None
        return raw
    key_file = instance_path / "contact_key"
    if key_file.exists():
        return key_file.read_text().strip()
    key = Fernet.generate_key().decode()
    key_file.write_text(key)
    key_file.chmod(0o600)
    return key


def _min_cell(raw: str | None) -> int:
    return _positive_int("HEALING_SURVEY_MIN_CELL", raw, DEFAULT_MIN_CELL)


def _positive_int(name: str, raw: str | None, default: int) -> int:
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(
            f"{name}={raw!r} is not a whole number; expected e.g. {default}"
        ) from None
    if value < 1:
        raise ConfigError(f"{name}={value} must be at least 1")
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
        "BASE_URL": _base_url(env.get("BASE_URL")),
        "HEALING_SURVEY_CONTACT_KEY": _contact_key(
            env.get("HEALING_SURVEY_CONTACT_KEY"), instance_path
        ),
        "SMTP_URL": _smtp_url(env.get("SMTP_URL")),
        **_session_limits(env),
        "HEALING_SURVEY_TRUSTED_PROXIES": _proxy_count(env.get("HEALING_SURVEY_TRUSTED_PROXIES")),
        # Optional: sign-in throttle counters in Redis instead of the database.
        "REDIS_URL": env.get("REDIS_URL") or None,
        "HEALING_SURVEY_WITHDRAWAL_DAYS": _withdrawal_days(
            env.get("HEALING_SURVEY_WITHDRAWAL_DAYS")
        ),
    }


DEFAULT_BASE_URL = "http://127.0.0.1:5000"


def _base_url(raw: str | None) -> str:
    """How links are written: scheme and host (and a path prefix), without a trailing slash."""
    from urllib.parse import urlsplit

    value = (raw or DEFAULT_BASE_URL).strip().rstrip("/")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(
            f"BASE_URL={raw!r}: expected an address such as https://survey.example.org"
        )
    return value


def _smtp_url(raw: str | None) -> str | None:
    """``SMTP_URL`` checked at start-up (unset: e-mail is off); the error never shows a password."""
    if not raw:
        return None
    from survey.delivery.smtp import SmtpConfigError, SmtpSettings

    try:
        SmtpSettings.from_url(raw)
    except SmtpConfigError as error:
        raise ConfigError(str(error)) from None
    return raw


def _proxy_count(raw: str | None) -> int:
    """How many reverse proxies in front of the app set X-Forwarded-For/-Proto (default 0)."""
    if raw is None or raw == "0":
        return 0
    return _positive_int("HEALING_SURVEY_TRUSTED_PROXIES", raw, 1)


def _session_limits(env) -> dict:
    """How long a staff session lasts unused, and at most (see survey.auth.sessions)."""
    return {
        name: _positive_int(name, env.get(name), SESSION_DEFAULTS[name])
        for name in SESSION_DEFAULTS
    }


SESSION_DEFAULTS = {
    "HEALING_SURVEY_SESSION_IDLE_MINUTES": 30,
    "HEALING_SURVEY_SESSION_MAX_HOURS": 12,
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
    **SESSION_DEFAULTS,
    "HEALING_SURVEY_TRUSTED_PROXIES": 0,
    "REDIS_URL": None,
}
