"""Sign-in and sign-out for staff. Patients never sign in: they answer through their links."""

from __future__ import annotations

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
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from survey.auth.access import SignedIn, actor_of, current_account, login_manager
from survey.auth.accounts import SignInThrottled, authenticate
from survey.extensions import db
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
    email = EmailField("E-mail", validators=[DataRequired(), Length(max=320)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: never another host, never a protocol-relative URL."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


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
            message, status = str(throttled), 429
        else:
            if account is not None:
                session.clear()  # a new session id at sign-in: no session fixation
                login_user(SignedIn(account))
                return redirect(next_page or url_for("dashboard.home"))
            message, status = "That e-mail address and password do not match an account.", 401
    elif request.method == "POST":
        message, status = "Please enter your e-mail address and your password.", 400
    page = render_template("auth/sign_in.html", form=form, message=message, next=next_page)
    return page, status


@bp.post("/sign-out")
def sign_out():
    account = current_account()
    if account is not None:
        record_audit(actor_of(account), "auth.sign_out", f"user:{account.id}")
        db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("auth.sign_in", signed_out=1))
