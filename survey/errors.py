"""Friendly error pages: a respondent never sees a stack trace."""

from flask import Flask, render_template
from flask_babel import gettext, lazy_gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

MESSAGES = {
    400: lazy_gettext("Something in that request was not right, so nothing was changed."),
    403: lazy_gettext("You do not have access to this page."),
    404: lazy_gettext("We could not find this page. Please check the link you were given."),
    405: lazy_gettext("This page cannot be used that way."),
    410: lazy_gettext("This link is no longer active."),
    413: lazy_gettext("That was more than this page accepts, so nothing was saved."),
    429: lazy_gettext("Too many tries. Please wait a minute and try again."),
    500: lazy_gettext(
        "Something went wrong on our side. Nothing saved before was lost. Please try again later."
    ),
}


def register_errors(app: Flask) -> None:
    app.register_error_handler(CSRFError, csrf_error)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected_error)


def csrf_error(error: CSRFError):
    message = gettext(
        "This page was open too long or was opened in another browser, so nothing was saved. "
        "Please go back, reload the page and answer again."
    )
    return render_template("errors/error.html", status=400, message=message), 400


def http_error(error: HTTPException):
    status = error.code or 500
    message = MESSAGES.get(status, error.description)
    return render_template("errors/error.html", status=status, message=message), status


def unexpected_error(error: Exception):
    from flask import current_app

    current_app.logger.exception("unhandled error", exc_info=error)
    return render_template("errors/error.html", status=500, message=MESSAGES[500]), 500
