"""Invitations in the browser at ``/invitations/``: create one dyad wave, upload an appointment
list (preview, then store all or nothing), and list invitations with revoke, extend and reissue.

Admins act on every clinic, a manager on their own; clinicians and researchers get 403. No page
shows an e-mail address after it was entered: the list says "e-mail on file" at most.
"""

from __future__ import annotations

import base64
import secrets
from datetime import date, timedelta

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from sqlalchemy import delete, select

from survey.auth.access import actor_of, current_account, role_required
from survey.delivery.sealed import SealError, seal, unseal
from survey.extensions import db
from survey.i18n import translation_statuses
from survey.invitations import batch as batches
from survey.invitations.listing import FORMS, STATES, InvitationFilter, list_invitations
from survey.invitations.service import (
    DEFAULT_EXPIRES_DAYS,
    MAX_EXPIRES_DAYS,
    InvitationError,
    extend,
    invite_dyad,
    is_retired,
    languages,
    reissue,
    revoke,
)
from survey.models import Clinic, Clinician, InvitationUpload, Role, User, utcnow

bp = Blueprint("invitations", __name__, url_prefix="/invitations")
STAFF = (Role.ADMIN, Role.MANAGER)
UPLOAD_MAX_AGE_SECONDS = 3600
PER_PAGE = 50
# What the list shows for each state and form; links and filters keep the codes.
STATE_LABELS = {
    "created": lazy_gettext("created"),
    "sent": lazy_gettext("sent"),
    "opened": lazy_gettext("opened"),
    "started": lazy_gettext("started"),
    "submitted": lazy_gettext("submitted"),
    "expired": lazy_gettext("expired"),
    "revoked": lazy_gettext("revoked"),
    "bounced": lazy_gettext("bounced"),
    "opted out": lazy_gettext("opted out"),
}
FORM_LABELS = {
    "patient": lazy_gettext("patient"),
    "clinician-dyad": lazy_gettext("clinician about a patient"),
    "clinician-self": lazy_gettext("clinician's self-assessment"),
}


def _scope(account: User) -> int | None:
    """The clinic a manager is limited to; None for an admin (every clinic)."""
    return account.clinic_id if account.role == Role.MANAGER else None


def _clinics(account: User) -> list[Clinic]:
    query = select(Clinic).order_by(Clinic.name)
    if _scope(account) is not None:
        query = query.where(Clinic.id == _scope(account))
    return list(db.session.scalars(query))


def _clinicians(account: User) -> list[Clinician]:
    query = select(Clinician).join(Clinic).order_by(Clinic.name, Clinician.name)
    if _scope(account) is not None:
        query = query.where(Clinician.clinic_id == _scope(account))
    return [clinician for clinician in db.session.scalars(query) if not is_retired(clinician)]


def _int_arg(source, name: str, *, low: int = 1, high: int = 10**9) -> int | None:
    raw = (source.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvitationError(
            gettext(
                "%(name)s %(value)s: expected a whole number from %(low)d to %(high)d",
                name=name,
                value=repr(raw),
                low=low,
                high=high,
            )
        )
    return int(raw)


def _date_arg(name: str) -> date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvitationError(
            gettext(
                "%(name)s %(value)s: expected a date written YYYY-MM-DD", name=name, value=repr(raw)
            )
        ) from None


def _page_context(account: User, **extra) -> dict:
    return {
        "account": account,
        "smtp_configured": bool(current_app.config.get("SMTP_URL")),
        **extra,
    }


# -- the list and its actions ----------------------------------------------------------------


def _not_one_of(name: str, value: str, allowed: tuple[str, ...]) -> str:
    return gettext(
        "%(name)s %(value)s: expected one of %(allowed)s",
        name=name,
        value=repr(value),
        allowed=", ".join(allowed),
    )


def _filter_from_args(account: User) -> InvitationFilter:
    state = request.args.get("state") or None
    if state is not None and state not in STATES:
        raise InvitationError(_not_one_of("state", state, STATES))
    form = request.args.get("form") or None
    if form is not None and form not in FORMS:
        raise InvitationError(_not_one_of("form", form, FORMS))
    created_from, created_to = _date_arg("created_from"), _date_arg("created_to")
    if created_from and created_to and created_from > created_to:
        raise InvitationError(gettext("the created-from date is after the created-to date"))
    return InvitationFilter(
        clinic_id=_scope(account),
        clinician_id=_int_arg(request.args, "clinician"),
        state=state,
        form=form,
        created_from=created_from,
        created_to=created_to,
        reference=(request.args.get("reference") or "").strip() or None,
    )


@bp.get("/")
@role_required(*STAFF)
def index():
    account = current_account()
    try:
        wanted = _filter_from_args(account)
        page = _int_arg(request.args, "page") or 1
    except InvitationError as error:
        return render_template(
            "invitations/list.html", **_page_context(account, error=str(error), listing=None)
        ), 400
    listing = list_invitations(wanted, page=page, per_page=PER_PAGE)
    return render_template(
        "invitations/list.html",
        **_page_context(
            account,
            listing=listing,
            wanted=wanted,
            states=STATES,
            forms=FORMS,
            state_labels=STATE_LABELS,
            form_labels=FORM_LABELS,
            clinicians=_clinicians(account),
            args={key: value for key, value in request.args.items() if key != "page"},
            notice=request.args.get("notice"),
        ),
    )


def _action(do, invitation_id: int, **kwargs):
    account = current_account()
    try:
        outcome = do(invitation_id, clinic_id=_scope(account), actor=actor_of(account), **kwargs)
    except InvitationError as error:
        db.session.rollback()
        if str(error).startswith("no invitation"):
            abort(404)
        return None, str(error)
    return outcome, None


def _back(notice: str):
    return redirect(url_for(".index", notice=notice))


@bp.post("/<int:invitation_id>/revoke")
@role_required(*STAFF)
def revoke_one(invitation_id: int):
    _, error = _action(revoke, invitation_id)
    revoked = gettext(
        "Invitation %(number)d revoked; its link no longer opens.", number=invitation_id
    )
    return _back(error or revoked)


@bp.post("/<int:invitation_id>/extend")
@role_required(*STAFF)
def extend_one(invitation_id: int):
    try:
        days = _int_arg(request.form, "days", high=MAX_EXPIRES_DAYS)
    except InvitationError as error:
        return _back(str(error))
    if days is None:
        return _back(gettext("Give the number of days the link should stay valid."))
    extended, error = _action(extend, invitation_id, days=days)
    if error:
        return _back(error)
    until = extended.expires_at.date().isoformat()
    return _back(
        gettext("Invitation %(number)d is valid until %(date)s.", number=invitation_id, date=until)
    )


@bp.post("/<int:invitation_id>/reissue")
@role_required(*STAFF)
def reissue_one(invitation_id: int):
    account = current_account()
    reissued, error = _action(reissue, invitation_id)
    if error:
        return _back(error)
    response = render_template(
        "invitations/reissued.html", **_page_context(account, reissued=reissued)
    )
    return response, 200, {"Cache-Control": "no-store"}


# -- one dyad wave ---------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@role_required(*STAFF)
def new():
    account = current_account()
    clinicians = _clinicians(account)
    context = _page_context(
        account,
        clinicians=clinicians,
        languages=languages(),
        translation_statuses=translation_statuses(),
        default_days=current_app.config.get("HEALING_SURVEY_INVITATION_DAYS", DEFAULT_EXPIRES_DAYS),
        max_days=MAX_EXPIRES_DAYS,
    )
    if request.method == "GET":
        return render_template("invitations/new.html", **context, form={})
    form = request.form
    try:
        clinician_id = _int_arg(form, "clinician")
        if clinician_id is None or clinician_id not in {c.id for c in clinicians}:
            raise InvitationError(gettext("choose one of your clinic's clinicians"))
        links = invite_dyad(
            clinician_id,
            wave=_int_arg(form, "wave"),
            reference=form.get("reference"),
            expires_days=_int_arg(form, "expires_days", high=MAX_EXPIRES_DAYS)
            or context["default_days"],
            email=form.get("email") or None,
            language=form.get("language") or None,
            email_clinician=form.get("email_clinician") == "1",
            actor=actor_of(account),
        )
    except InvitationError as error:
        db.session.rollback()
        # Never echo the address back: the patient's e-mail is typed again if needed.
        kept = {key: form.get(key, "") for key in ("clinician", "reference", "wave", "language")}
        return render_template("invitations/new.html", **context, form=kept, error=str(error)), 400
    return (
        render_template(
            "invitations/created.html",
            **_page_context(account, links=links, emailed=bool(form.get("email"))),
        ),
        201,
        {"Cache-Control": "no-store"},
    )


# -- appointment lists -----------------------------------------------------------------------


def _batch_clinic(account: User, raw: str | None) -> Clinic:
    if _scope(account) is not None:
        return db.session.get(Clinic, _scope(account))
    if not raw or not raw.isdigit() or db.session.get(Clinic, int(raw)) is None:
        raise batches.BatchError(gettext("choose the clinic the appointment list belongs to"))
    return db.session.get(Clinic, int(raw))


def _sweep_uploads() -> None:
    cutoff = utcnow() - timedelta(seconds=UPLOAD_MAX_AGE_SECONDS)
    db.session.execute(delete(InvitationUpload).where(InvitationUpload.created_at < cutoff))


@bp.route("/batch", methods=["GET", "POST"])
@role_required(*STAFF)
def batch():
    account = current_account()
    context = _upload_page_context(account)
    if request.method == "GET":
        return render_template("invitations/batch.html", **context)
    upload = request.files.get("appointments")
    try:
        clinic = _batch_clinic(account, request.form.get("clinic"))
        if upload is None or not upload.filename:
            raise batches.BatchError(gettext("choose the appointment list (a CSV file) to upload"))
        content = upload.read(batches.MAX_BYTES + 1)
        preview = batches.preview_appointments(content, clinic)
    except batches.BatchError as error:
        return render_template("invitations/batch.html", **context, error=str(error)), 400
    upload_id = None
    if preview.ok:
        _sweep_uploads()
        upload_id = secrets.token_urlsafe(24)
        db.session.add(
            InvitationUpload(
                id=upload_id,
                user_id=account.id,
                clinic_id=clinic.id,
                checksum=preview.checksum,
                content_encrypted=seal(base64.b64encode(content).decode()),
            )
        )
    db.session.commit()
    return render_template(
        "invitations/preview.html",
        **_page_context(
            account,
            preview=preview,
            upload_id=upload_id,
            default_days=current_app.config.get("HEALING_SURVEY_INVITATION_DAYS", 30),
            max_days=MAX_EXPIRES_DAYS,
        ),
    ), (200 if preview.ok else 422)


@bp.post("/batch/confirm")
@role_required(*STAFF)
def batch_confirm():
    account = current_account()
    stored = db.session.get(InvitationUpload, request.form.get("upload", ""))
    if stored is None or stored.user_id != account.id:
        return _batch_failed(
            account, gettext("this preview is no longer kept: upload the list again")
        )
    clinic = db.session.get(Clinic, stored.clinic_id)
    try:
        content = unseal(stored.content_encrypted, max_age_seconds=UPLOAD_MAX_AGE_SECONDS)
        days = _int_arg(request.form, "expires_days", high=MAX_EXPIRES_DAYS) or 30
        result = batches.store_appointments(
            base64.b64decode(content),
            clinic,
            checksum=request.form.get("checksum", ""),
            expires_days=days,
            email_clinicians=request.form.get("email_clinicians") == "1",
            actor=actor_of(account),
        )
    except SealError:
        return _batch_failed(
            account, gettext("the preview is older than an hour: upload the list again")
        )
    except (batches.BatchError, InvitationError) as error:
        return _batch_failed(account, str(error))
    db.session.execute(delete(InvitationUpload).where(InvitationUpload.id == stored.id))
    db.session.commit()
    return (
        render_template("invitations/batch_done.html", **_page_context(account, result=result)),
        201,
        {"Cache-Control": "no-store"},
    )


def _batch_failed(account: User, message: str):
    db.session.rollback()
    return render_template(
        "invitations/batch.html",
        **_upload_page_context(
            account, error=gettext("Nothing was stored: %(reason)s", reason=message)
        ),
    ), 409


def _upload_page_context(account: User, **extra) -> dict:
    """What the page that takes an appointment list shows: the clinics, the columns, the
    languages."""
    return _page_context(
        account,
        clinics=_clinics(account),
        required=batches.REQUIRED_COLUMNS,
        optional=batches.OPTIONAL_COLUMNS,
        languages=languages(),
        translation_statuses=translation_statuses(),
        **extra,
    )
