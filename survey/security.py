"""Response headers that every page gets, and survey tokens kept out of access logs.

The pages load nothing from elsewhere and run no script (charts are SVG drawn on the server), so
the Content-Security-Policy allows only this site and no inline script at all. Survey tokens are
in ``/s/<token>`` URLs: no referrer leaves a page, respondent pages are never cached, and the
request lines the app logs (and the gunicorn access log, see ``survey.deploy``) mask the token.
"""

from __future__ import annotations

import logging
import re

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
# A survey link's token, in a path or in a whole request line.
_SURVEY_TOKEN = re.compile(r"(/s/)[^/?#\s\"]+")
MASK = "<token>"
MAX_DATABASE_INT = 2**31 - 1


def mask_survey_tokens(text: str) -> str:
    """``text`` with every ``/s/<token>`` replaced by ``/s/<token>`` literally.

    Examples
    --------
    >>> mask_survey_tokens('"GET /s/Zk3_x9Qa/2?x=1 HTTP/1.1" 200')
    '"GET /s/<token>/2?x=1 HTTP/1.1" 200'
    >>> mask_survey_tokens("/dashboard/clinics/1")
    '/dashboard/clinics/1'
    """
    return _SURVEY_TOKEN.sub(rf"\g<1>{MASK}", text)


def is_respondent_path(path: str) -> bool:
    return path == "/s" or path.startswith("/s/")


def add_security_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if is_respondent_path(request.path):
        # The review page shows the patient's answers: no browser or proxy may keep a copy.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


class SurveyTokenFilter(logging.Filter):
    """Masks survey tokens in a log record's message and arguments (Werkzeug's request log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_survey_tokens(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                mask_survey_tokens(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


class DatabaseIntegerConverter(IntegerConverter):
    """``<int:...>`` in a URL: at most the database's largest integer, so an id beyond it is a
    plain 404 instead of an overflow inside the database driver."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_DATABASE_INT)
        super().__init__(map, *args, **kwargs)


def register_security(app: Flask) -> None:
    """Call before the blueprints are registered: their URL rules use the converter."""
    app.url_map.converters["int"] = DatabaseIntegerConverter
    proxies = app.config.get("HEALING_SURVEY_TRUSTED_PROXIES", 0)
    if proxies:
        # The client's own address (sign-in throttling, the audit log) and scheme (Secure
        # cookies), as the trusted reverse proxies in front of the app report them.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    app.after_request(add_security_headers)
    werkzeug_log = logging.getLogger("werkzeug")
    if not any(isinstance(f, SurveyTokenFilter) for f in werkzeug_log.filters):
        werkzeug_log.addFilter(SurveyTokenFilter())
