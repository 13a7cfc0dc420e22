"""Sign-in and sign-out for staff. Patients never sign in: they answer through their links."""

from __future__ import annotations

import math
import re
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    has_request_context,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext, lazy_gettext, ngettext
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from survey.auth.access import SignedIn, actor_of, current_account, login_manager
from survey.auth.accounts import SignInThrottled, authenticate
from survey.auth.sessions import end_session, start_session
from survey.extensions import db
from survey.i18n import SESSION_KEY as LANGUAGE_KEY
from survey.models import record_audit

bp = Blueprint("auth", __name__)


class SessionOverHttps(SecureCookieSessionInterface):
    """The session cookie is marked Secure whenever the request came over HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


@bp.record_once
def set_up_sign_in(state) -> None:
    app = state.app
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    app.session_interface = SessionOverHttps()


class SignInForm(FlaskForm):
    email = EmailField(lazy_gettext("E-mail"), validators=[DataRequired(), Length(max=320)])
    password = PasswordField(lazy_gettext("Password"), validators=[DataRequired(), Length(max=200)])


# A path on this site, printable ASCII only: no control characters (a CR/LF would split the
# Location header), no backslash (browsers read it as a slash), no spaces.
_SAFE_PATH = re.compile(r"/(?![/\\])[!-~]*")
_MAX_NEXT = 2000


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: never another host, never a protocol-relative URL, never a
    control character; anything else is dropped (the caller goes to the dashboard).

    Examples
    --------
    >>> safe_next("/dashboard/clinics/3?wave=2"), safe_next("//evil.example"), safe_next("/\\r\\nx")
    ('/dashboard/clinics/3?wave=2', None, None)
    """
    if not target or len(target) > _MAX_NEXT or not _SAFE_PATH.fullmatch(target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return None
    return target


def throttled_message(retry_after: int) -> str:
    if retry_after < 120:
        return ngettext(
            "Too many failed sign-ins from here. Please wait %(num)d second and try again.",
            "Too many failed sign-ins from here. Please wait %(num)d seconds and try again.",
            retry_after,
        )
    minutes = math.ceil(retry_after / 60)
    return gettext(
        "Too many failed sign-ins from here. Please wait %(minutes)d minutes and try again.",
        minutes=minutes,
    )


def new_session() -> None:
    """Empty the session (no session fixation at sign-in, nothing left at sign-out) but keep the
    language the person chose: it belongs to the browser, not to the account."""
    language = session.get(LANGUAGE_KEY)
    session.clear()
    if language is not None:
        session[LANGUAGE_KEY] = language


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    form = SignInForm()
    next_page = safe_next(request.args.get("next"))
    if current_account() is not None and request.method == "GET":
        return redirect(next_page or url_for("dashboard.home"))
    message, status = None, 200
    if form.validate_on_submit():
        try:
            account = authenticate(
                form.email.data, form.password.data, address=request.remote_addr or "unknown"
            )
        except SignInThrottled as throttled:
            page = render_template(
                "auth/sign_in.html",
                form=form,
                message=throttled_message(throttled.retry_after),
                next=next_page,
            )
            return page, 429, {"Retry-After": str(throttled.retry_after)}
        if account is not None:
            if current_user.is_authenticated:  # signing in again replaces the old session
                end_session(current_user.session_token, "replaced")
            new_session()
            login_user(SignedIn(account, start_session(account)))
            db.session.commit()
            return redirect(next_page or url_for("dashboard.home"))
        message = gettext("That e-mail address and password do not match an account.")
        status = 401
    elif request.method == "POST":
        message, status = gettext("Please enter your e-mail address and your password."), 400
    page = render_template("auth/sign_in.html", form=form, message=message, next=next_page)
    return page, status


@bp.post("/sign-out")
def sign_out():
    account = current_account()
    if account is not None:
        end_session(current_user.session_token)
        record_audit(actor_of(account), "auth.sign_out", f"user:{account.id}")
        db.session.commit()
    logout_user()
    new_session()
    return redirect(url_for("auth.sign_in", signed_out=1))
