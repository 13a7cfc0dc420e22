"""The staff pages: administration (clinics, clinicians, accounts) for admins and managers,
one's own password for everyone signed in, and the set-up and reset links for colleagues.

Every form posts with the CSRF token (CSRFProtect guards every POST of the app); every change
goes through a service that writes the audit log.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext
from flask_login import logout_user
from sqlalchemy import select

from items import load_bank
from survey import clinics as directory
from survey.auth.access import actor_of, current_account, deny, role_required
from survey.delivery.smtp import DeliveryError
from survey.extensions import db
from survey.i18n import current_language
from survey.invitations.service import absolute_url
from survey.models import Clinic, Clinician, Role, User
from survey.staff import accounts as staff
from survey.staff.mail import MailOff, mail_is_on, send_staff_mail

bp = Blueprint("staff", __name__)
MANAGERS = (Role.ADMIN, Role.MANAGER)
ANY_STAFF = tuple(Role)


@bp.after_request
def no_caching(response: Response) -> Response:
    # Set-up links and account lists must not stay in a shared or browser cache.
    response.headers["Cache-Control"] = "no-store"
    # Set-up and reset links carry their token in the address: never pass it on.
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _int(name: str) -> int | None:
    raw = (request.form.get(name) or "").strip()
    return int(raw) if raw.isdigit() and int(raw) > 0 else None


def _visible_clinics(account: User, *, include_retired: bool = True) -> list[Clinic]:
    query = select(Clinic).order_by(Clinic.name)
    if account.role == Role.MANAGER:
        query = query.where(Clinic.id == account.clinic_id)
    if not include_retired:
        query = query.where(Clinic.retired_at.is_(None))
    return list(db.session.scalars(query))


def _clinician_or_deny(account: User, clinician_id: int) -> Clinician:
    clinician = db.get_or_404(Clinician, clinician_id)
    if account.role == Role.MANAGER and clinician.clinic_id != account.clinic_id:
        deny(account, f"clinician {clinician_id} works at another clinic")
    return clinician


def _target_or_deny(account: User, user_id: int) -> User:
    target = db.get_or_404(User, user_id)
    if not staff.may_manage(account, target):
        deny(account, f"account {user_id} is not this account's to manage")
    return target


@bp.get("/admin/")
@role_required(*MANAGERS)
def index():
    return render_template("staff/index.html", account=current_account())


# Clinics (admins only) ---------------------------------------------------------------------


def _unknown_action(action: str | None) -> str:
    return gettext("unknown action %(action)s", action=repr(action))


def _page_languages_first() -> list[str]:
    """The item bank's languages, the page's own first when the bank has it: staff read the
    clinician terms in their language, then the others."""
    languages = list(load_bank().languages)
    page = current_language()
    return [page, *(lang for lang in languages if lang != page)] if page in languages else languages


def _terms_for_page() -> dict[str, str]:
    """The clinician terms worded in the page's language (the bank's own if it has no such
    translation)."""
    return directory.clinician_terms(_page_languages_first()[0])


def _clinics_page(message: str | None = None, status: int = 200, name: str = ""):
    rows = db.session.scalars(select(Clinic).order_by(Clinic.retired_at.is_not(None), Clinic.name))
    page = render_template(
        "staff/clinics.html",
        clinics=list(rows),
        message=message,
        name=name,
        terms=_terms_for_page(),
    )
    return page, status


@bp.get("/admin/clinics")
@role_required(Role.ADMIN)
def clinics():
    return _clinics_page()


@bp.post("/admin/clinics")
@role_required(Role.ADMIN)
def clinic_add():
    name = request.form.get("name", "")
    try:
        record = directory.add_clinic(name, actor=actor_of(current_account()))
    except directory.ClinicError as error:
        return _clinics_page(str(error), 400, name)
    flash(gettext("Clinic %(name)s added.", name=record["name"]))
    return redirect(url_for(".clinics"))


@bp.post("/admin/clinics/<int:clinic_id>")
@role_required(Role.ADMIN)
def clinic_change(clinic_id: int):
    clinic = db.get_or_404(Clinic, clinic_id)
    actor = actor_of(current_account())
    action = request.form.get("action")
    try:
        if action == "rename":
            new_name = request.form.get("name", "")
            record = directory.rename_clinic_by_id(clinic.id, new_name, actor=actor)
            flash(gettext("The clinic is now called %(name)s.", name=record["name"]))
        elif action in ("retire", "reinstate"):
            directory.retire_clinic_by_id(clinic.id, retire=action == "retire", actor=actor)
            if action == "retire":
                flash(gettext("Clinic %(name)s is retired.", name=clinic.name))
            else:
                flash(gettext("Clinic %(name)s is back in use.", name=clinic.name))
        else:
            return _clinics_page(_unknown_action(action), 400)
    except directory.ClinicError as error:
        return _clinics_page(str(error), 400)
    return redirect(url_for(".clinics"))


# How a clinic's forms name the clinician (admins: every clinic; managers: their own) ---------


def _clinic_or_deny(account: User, clinic_id: int) -> Clinic:
    clinic = db.get_or_404(Clinic, clinic_id)
    if account.role == Role.MANAGER and clinic.id != account.clinic_id:
        deny(account, f"clinic {clinic_id} is not this manager's clinic")
    return clinic


def _term_page(clinic: Clinic, message: str | None = None, status: int = 200):
    bank = load_bank()
    previews = [
        {
            "term": term,
            "words": {lang: directory.clinician_terms(lang)[term] for lang in bank.languages},
            "example": {
                lang: load_bank(language=lang, clinician_term=term).form("patient").items[0].text
                for lang in bank.languages
            },
        }
        for term in directory.clinician_terms()
    ]
    page = render_template(
        "staff/clinician_term.html",
        clinic=clinic,
        previews=previews,
        languages=_page_languages_first(),
        message=message,
    )
    return page, status


@bp.get("/admin/clinics/<int:clinic_id>/clinician-term")
@role_required(*MANAGERS)
def clinician_term(clinic_id: int):
    return _term_page(_clinic_or_deny(current_account(), clinic_id))


@bp.post("/admin/clinics/<int:clinic_id>/clinician-term")
@role_required(*MANAGERS)
def clinician_term_change(clinic_id: int):
    account = current_account()
    clinic = _clinic_or_deny(account, clinic_id)
    try:
        directory.set_clinician_term(
            clinic.id, request.form.get("term", ""), actor=actor_of(account)
        )
    except directory.ClinicError as error:
        return _term_page(clinic, str(error), 400)
    words = _terms_for_page()[clinic.clinician_term]
    flash(
        gettext("The forms of %(clinic)s now say “your %(term)s”.", clinic=clinic.name, term=words)
    )
    if account.role == Role.ADMIN and request.form.get("back") == "clinics":
        return redirect(url_for(".clinics"))
    return redirect(url_for(".clinician_term", clinic_id=clinic.id))


# Clinicians (admins: every clinic; managers: their own) -------------------------------------


def _clinicians_page(message: str | None = None, status: int = 200, form: dict | None = None):
    account = current_account()
    query = select(Clinician).join(Clinic).order_by(Clinic.name, Clinician.name)
    if account.role == Role.MANAGER:
        query = query.where(Clinician.clinic_id == account.clinic_id)
    page = render_template(
        "staff/clinicians.html",
        account=account,
        clinicians=list(db.session.scalars(query)),
        clinics=_visible_clinics(account, include_retired=False),
        message=message,
        form=form or {},
    )
    return page, status


@bp.get("/admin/clinicians")
@role_required(*MANAGERS)
def clinicians():
    return _clinicians_page()


@bp.post("/admin/clinicians")
@role_required(*MANAGERS)
def clinician_add():
    account = current_account()
    clinic_id = account.clinic_id if account.role == Role.MANAGER else _int("clinic_id")
    clinic = db.session.get(Clinic, clinic_id) if clinic_id else None
    if clinic is None:
        message = gettext("choose the clinic the clinician works at")
        return _clinicians_page(message, 400, request.form)
    try:
        record = directory.add_clinician(
            clinic.name,
            request.form.get("name", ""),
            email=request.form.get("email"),
            actor=actor_of(account),
        )
    except directory.ClinicError as error:
        return _clinicians_page(str(error), 400, request.form)
    flash(
        gettext(
            "%(name)s added to %(clinic)s (clinician %(number)s).",
            name=record["name"],
            clinic=record["clinic"],
            number=record["id"],
        )
    )
    return redirect(url_for(".clinicians"))


@bp.post("/admin/clinicians/<int:clinician_id>")
@role_required(*MANAGERS)
def clinician_change(clinician_id: int):
    account = current_account()
    clinician = _clinician_or_deny(account, clinician_id)
    actor = actor_of(account)
    action = request.form.get("action")
    try:
        if action == "rename":
            record = directory.rename_clinician(
                clinician.id, request.form.get("name", ""), actor=actor
            )
            flash(
                gettext(
                    "Clinician %(number)s is now called %(name)s.",
                    number=record["id"],
                    name=record["name"],
                )
            )
        elif action in ("retire", "reinstate"):
            directory.retire_clinician(clinician.id, retire=action == "retire", actor=actor)
            if action == "retire":
                flash(gettext("%(name)s is retired.", name=clinician.name))
            else:
                flash(gettext("%(name)s is back in use.", name=clinician.name))
        else:
            return _clinicians_page(_unknown_action(action), 400)
    except directory.ClinicError as error:
        return _clinicians_page(str(error), 400)
    return redirect(url_for(".clinicians"))


# Staff accounts ----------------------------------------------------------------------------


def _choices(account: User) -> dict:
    clinics = _visible_clinics(account, include_retired=False)
    query = (
        select(Clinician)
        .join(Clinic)
        .where(Clinician.retired_at.is_(None), Clinic.retired_at.is_(None))
        .order_by(Clinic.name, Clinician.name)
    )
    if account.role == Role.MANAGER:
        query = query.where(Clinician.clinic_id == account.clinic_id)
    return {
        "roles": [(role, staff.ROLE_NAMES[role]) for role in staff.roles_for(account)],
        "clinics": clinics,
        "clinicians": list(db.session.scalars(query)),
    }


def _accounts_page(message: str | None = None, status: int = 200, form: dict | None = None):
    account = current_account()
    rows = [
        {
            "account": row,
            "pending": staff.set_up_pending(row),
            "manage": staff.may_manage(account, row),
        }
        for row in staff.manageable_accounts(account)
    ]
    page = render_template(
        "staff/accounts.html",
        account=account,
        rows=rows,
        message=message,
        form=form or {},
        mail_on=mail_is_on(),
        role_names=staff.ROLE_NAMES,
        **_choices(account),
    )
    return page, status


@bp.get("/admin/accounts")
@role_required(*MANAGERS)
def accounts():
    return _accounts_page()


@bp.post("/admin/accounts")
@role_required(*MANAGERS)
def account_invite():
    account = current_account()
    try:
        link = staff.invite_colleague(
            account,
            request.form.get("email", ""),
            request.form.get("role", ""),
            clinic_id=_int("clinic_id"),
            clinician_id=_int("clinician_id"),
        )
    except staff.NotAllowed as refused:
        deny(account, str(refused))
    except staff.StaffError as error:
        return _accounts_page(str(error), 400, request.form)
    return _deliver_set_up_link(link)


def _deliver_set_up_link(link: staff.IssuedLink):
    """E-mail the link; where that cannot happen, show it once to whoever made it."""
    url = absolute_url(link.path)
    inviter = current_account()
    body = render_template(
        "staff/mail/set_up.txt", url=url, inviter=inviter, expires_at=link.expires_at
    )
    problem = None
    try:
        send_staff_mail(link.email, gettext("Your healing-survey account"), body)
    except MailOff:
        problem = "off"
    except DeliveryError as error:
        problem = str(error)
    if problem is None:
        flash(
            gettext(
                "A set-up link was e-mailed to %(email)s; it works once, until %(time)s UTC.",
                email=link.email,
                time=link.expires_at,
            )
        )
        return redirect(url_for(".accounts"))
    return render_template("staff/link_made.html", link=link, url=url, problem=problem)


@bp.get("/admin/accounts/<int:user_id>")
@role_required(*MANAGERS)
def account(user_id: int):
    return _account_page(_target_or_deny(current_account(), user_id))


def _account_page(target: User, message: str | None = None, status: int = 200):
    account = current_account()
    page = render_template(
        "staff/account.html",
        account=account,
        target=target,
        pending=staff.set_up_pending(target),
        message=message,
        role_names=staff.ROLE_NAMES,
        **_choices(account),
    )
    return page, status


@bp.post("/admin/accounts/<int:user_id>")
@role_required(*MANAGERS)
def account_change(user_id: int):
    account = current_account()
    target = _target_or_deny(account, user_id)
    action = request.form.get("action")
    try:
        if action == "placement":
            staff.change_placement(
                account,
                target,
                request.form.get("role", ""),
                clinic_id=_int("clinic_id"),
                clinician_id=_int("clinician_id"),
            )
            role = staff.ROLE_NAMES[target.role]
            flash(gettext("%(email)s is now a %(role)s.", email=target.email, role=role))
        elif action in ("deactivate", "reactivate"):
            staff.set_active(account, target, active=action == "reactivate")
            if action == "reactivate":
                flash(gettext("%(email)s can sign in again.", email=target.email))
            else:
                flash(gettext("%(email)s can no longer sign in.", email=target.email))
        elif action == "set-up-link":
            return _deliver_set_up_link(staff.new_set_up_link(account, target))
        else:
            return _account_page(target, _unknown_action(action), 400)
    except staff.NotAllowed as refused:
        deny(account, str(refused))
    except staff.StaffError as error:
        return _account_page(target, str(error), 400)
    return redirect(url_for(".account", user_id=target.id))


# One's own password, and a forgotten one ---------------------------------------------------


@bp.route("/account/password", methods=["GET", "POST"])
@role_required(*ANY_STAFF)
def password():
    account = current_account()
    if request.method == "GET":
        return render_template("staff/password.html", message=None)
    try:
        staff.change_own_password(
            account,
            request.form.get("current", ""),
            request.form.get("new", ""),
            request.form.get("again", ""),
        )
    except staff.StaffError as error:
        return render_template("staff/password.html", message=str(error)), 400
    # The password change ended every session, this one too: sign in with the new password.
    logout_user()
    return redirect(url_for("auth.sign_in", changed=1))


@bp.route("/account/forgot", methods=["GET", "POST"])
def forgot():
    if request.method == "GET":
        return render_template("staff/forgot.html", sent=False, mail_on=mail_is_on())
    if not mail_is_on():
        return render_template("staff/forgot.html", sent=False, mail_on=False), 503
    email = request.form.get("email", "")
    link = staff.request_password_reset(email, address=request.remote_addr or "unknown")
    if link is not None:
        body = render_template(
            "staff/mail/reset.txt", url=absolute_url(link.path), expires_at=link.expires_at
        )
        # In the background: the page answers as fast whether or not the address has an account.
        subject = gettext("Reset your healing-survey password")
        send_staff_mail(link.email, subject, body, background=True)
    return render_template("staff/forgot.html", sent=True, mail_on=True)


def _link_page(token: str, purpose: str):
    template = "staff/set_up.html" if purpose == staff.SET_UP else "staff/reset.html"
    link = staff.link_for(token, purpose)
    if link is None:
        message = staff.dead_link_message(purpose)
        return render_template("staff/link_dead.html", message=message, purpose=purpose), 410
    if request.method == "GET":
        return render_template(template, email=link.user.email, message=None)
    try:
        staff.use_link(token, purpose, request.form.get("new", ""), request.form.get("again", ""))
    except staff.StaffError as error:
        return render_template(template, email=link.user.email, message=str(error)), 400
    logout_user()
    return redirect(url_for("auth.sign_in", password_set=1))


@bp.route("/account/set-up/<token>", methods=["GET", "POST"])
def set_up(token: str):
    return _link_page(token, staff.SET_UP)


@bp.route("/account/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    return _link_page(token, staff.RESET)


@bp.app_context_processor
def staff_navigation() -> dict:
    from survey.staff.navigation import navigation

    return {"navigation": navigation}
