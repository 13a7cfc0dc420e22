"""The waiting-room tablet at ``/kiosk/``: a signed-in manager or admin unlocks it for the
clinic's appointments of today; patients tap their reference and answer; after the thank-you
page the tablet returns to the list.

Unlocking signs the staff member out on the tablet: the browser then holds only the kiosk mark
(clinic and end of the day) in its signed session cookie, never a staff session. Respondent
pages are sent with ``Cache-Control: no-store`` and a submitted form reopens on the
"already sent" page, so Back or the history never shows the previous patient's answers.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from flask import (
    Blueprint,
    abort,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import logout_user
from sqlalchemy import select

from survey.auth.access import actor_of, current_account
from survey.delivery.cards import kept_token
from survey.extensions import db
from survey.i18n import CHOICE_PARAMETER, forget_choice
from survey.models import (
    OPEN_STATES,
    Clinic,
    Clinician,
    Dyad,
    Invitation,
    Role,
    Wave,
    record_audit,
    utcnow,
)

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")
SESSION_KEY = "kiosk"
UNLOCKERS = (Role.ADMIN, Role.MANAGER)
NO_STORE = {"Cache-Control": "no-store"}


def unlocked_clinic() -> int | None:
    """The clinic this browser is a tablet for, or None if it is not (or no longer) unlocked."""
    mark = session.get(SESSION_KEY)
    if not isinstance(mark, dict):
        return None
    try:
        until = datetime.fromisoformat(mark["until"])
        clinic_id = int(mark["clinic"])
    except (KeyError, TypeError, ValueError):
        return None
    if utcnow() >= until:
        session.pop(SESSION_KEY, None)
        return None
    return clinic_id


def _end_of_today() -> datetime:
    return datetime.combine(date.today() + timedelta(days=1), time.min).astimezone(UTC)


def todays_invitations(clinic_id: int) -> list[tuple[Invitation, str]]:
    """Open patient invitations whose appointment is today, with a label (the reference)."""
    now = utcnow()
    rows = db.session.execute(
        select(Invitation, Dyad.reference, Wave.number)
        .join(Wave, Wave.id == Invitation.wave_id)
        .join(Dyad, Dyad.id == Wave.dyad_id)
        .join(Clinician, Clinician.id == Invitation.clinician_id)
        .where(
            Clinician.clinic_id == clinic_id,
            Invitation.form == "patient",
            Invitation.state.in_(OPEN_STATES),
            Invitation.expires_at > now,
            Invitation.opted_out_at.is_(None),
            Wave.appointment_on == date.today(),
        )
        .order_by(Dyad.reference, Invitation.id)
    )
    return [
        (invitation, reference or f"invitation {invitation.id}")
        for invitation, reference, _ in rows
    ]


@bp.get("/")
def start():
    clinic_id = unlocked_clinic()
    if clinic_id is not None:
        if CHOICE_PARAMETER not in request.args:
            # The tablet passes from patient to patient: the last one's language choice ends
            # here, and the next one starts in the tablet's (browser's) language.
            forget_choice()
        clinic = db.session.get(Clinic, clinic_id)
        return (
            render_template(
                "delivery/kiosk.html", clinic=clinic, entries=todays_invitations(clinic_id)
            ),
            200,
            NO_STORE,
        )
    account = current_account()
    clinics = []
    if account is not None and account.role in UNLOCKERS:
        query = select(Clinic).order_by(Clinic.name)
        if account.role == Role.MANAGER:
            query = query.where(Clinic.id == account.clinic_id)
        clinics = list(db.session.scalars(query))
    return (
        render_template("delivery/kiosk_locked.html", account=account, clinics=clinics),
        200,
        NO_STORE,
    )


@bp.post("/unlock")
def unlock():
    account = current_account()
    if account is None:
        return redirect(url_for("auth.sign_in", next=url_for(".start")))
    if account.role not in UNLOCKERS:
        abort(403)
    raw = request.form.get("clinic") or str(account.clinic_id or "")
    clinic = db.session.get(Clinic, int(raw)) if raw.isdigit() else None
    if clinic is None or (account.role == Role.MANAGER and clinic.id != account.clinic_id):
        abort(403)
    until = _end_of_today()
    record_audit(actor_of(account), "kiosk.unlock", f"clinic:{clinic.id}", until=until.isoformat())
    db.session.commit()
    logout_user()  # the tablet keeps no staff session, only the kiosk mark
    session[SESSION_KEY] = {"clinic": clinic.id, "until": until.isoformat()}
    return redirect(url_for(".start"))


@bp.post("/lock")
def lock():
    session.pop(SESSION_KEY, None)
    return redirect(url_for(".start"))


@bp.post("/begin/<int:invitation_id>")
def begin(invitation_id: int):
    clinic_id = unlocked_clinic()
    if clinic_id is None:
        return redirect(url_for(".start"))
    if invitation_id not in {inv.id for inv, _ in todays_invitations(clinic_id)}:
        abort(404)
    invitation = db.session.get(Invitation, invitation_id)
    token = kept_token(invitation)
    db.session.commit()
    return redirect(url_for("respond.welcome", token=token))


@bp.app_context_processor
def kiosk_context() -> dict:
    """Lets the thank-you page send the tablet back to its start page."""
    if request.blueprint != "respond" or unlocked_clinic() is None:
        return {}
    return {"kiosk_return_url": url_for("kiosk.start")}


@bp.after_app_request
def respondent_pages_are_not_stored(response):
    """No answer page is kept by the browser: Back re-asks the server, which knows the form
    was submitted."""
    if request.blueprint in ("respond", "kiosk") or request.endpoint == "cards.enter_code":
        response.headers["Cache-Control"] = "no-store"
    return response
