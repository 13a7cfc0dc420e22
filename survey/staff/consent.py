"""The staff page for a clinic's information and consent texts (per form, in English and
Spanish, every change a new version) and its withdrawal period. Admins see every clinic,
managers their own; every change is written to the audit log."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext, lazy_gettext
from sqlalchemy import select

from survey.auth.access import actor_of, current_account, deny, role_required
from survey.consent import texts as consent
from survey.consent import withdrawal
from survey.extensions import db
from survey.models import Clinic, Role, User

bp = Blueprint("consent_admin", __name__)
MANAGERS = (Role.ADMIN, Role.MANAGER)
# Lazy: rendered in the language of the page that shows them.
FORM_NAMES = {
    "patient": lazy_gettext("Patient form"),
    "clinician-dyad": lazy_gettext("Clinician form about a patient"),
    "clinician-self": lazy_gettext("Clinician self-assessment"),
}


@bp.after_request
def no_caching(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _clinic_or_deny(account: User, clinic_id: int) -> Clinic:
    clinic = db.get_or_404(Clinic, clinic_id)
    if account.role == Role.MANAGER and clinic.id != account.clinic_id:
        deny(account, f"clinic {clinic_id} is not this manager's clinic")
    return clinic


def _form_or_404(form: str | None) -> str:
    form = form or consent.FORMS[0]
    if form not in consent.FORMS:
        abort(404)
    return form


@bp.get("/admin/consent")
@role_required(*MANAGERS)
def index():
    account = current_account()
    if account.role == Role.MANAGER:
        return redirect(url_for(".clinic", clinic_id=account.clinic_id))
    clinics = list(db.session.scalars(select(Clinic).order_by(Clinic.name)))
    return render_template("staff/consent_clinics.html", clinics=clinics)


def _page(clinic: Clinic, form: str, *, message=None, submitted=None, status=200):
    text = consent.current_text(clinic.id, form)
    if submitted is not None:
        shown, asked, words = submitted
    else:
        shown = text.show_information if text is not None else True
        asked = text.ask_consent if text is not None else False
        words = consent.editable_texts(text)
    page = render_template(
        "staff/consent.html",
        clinic=clinic,
        form=form,
        form_names=FORM_NAMES,
        current=text,
        show_information=shown,
        ask_consent=asked,
        words=words,
        languages=consent.LANGUAGE_NAMES,
        versions=consent.versions(clinic.id, form),
        withdrawals=withdrawal.withdrawals(clinic.id),
        max_days=withdrawal.MAX_WITHDRAWAL_DAYS,
        message=message,
    )
    return page, status


@bp.get("/admin/clinics/<int:clinic_id>/consent")
@role_required(*MANAGERS)
def clinic(clinic_id: int):
    clinic = _clinic_or_deny(current_account(), clinic_id)
    return _page(clinic, _form_or_404(request.args.get("form")))


def _posted_texts() -> dict[str, dict[str, str]]:
    return {
        language: {part: request.form.get(f"{language}-{part}", "") for part in consent.PARTS}
        for language in consent.LANGUAGES
    }


@bp.post("/admin/clinics/<int:clinic_id>/consent/<form>")
@role_required(*MANAGERS)
def save(clinic_id: int, form: str):
    account = current_account()
    clinic = _clinic_or_deny(account, clinic_id)
    form = _form_or_404(form)
    shown = request.form.get("show_information") == "on"
    asked = request.form.get("ask_consent") == "on"
    words = _posted_texts()
    try:
        text = consent.save_text(
            clinic.id,
            form,
            show_information=shown,
            ask_consent=asked,
            texts=words,
            actor=actor_of(account),
        )
    except consent.ConsentError as error:
        return _page(clinic, form, message=str(error), submitted=(shown, asked, words), status=400)
    flash(
        gettext(
            "Saved as version %(version)s of the text of the %(form)s. "
            "Responses already started keep the version they were shown.",
            version=text.version,
            form=str(FORM_NAMES[form]).lower(),
        )
    )
    return redirect(url_for(".clinic", clinic_id=clinic.id, form=form))


@bp.post("/admin/clinics/<int:clinic_id>/withdrawal")
@role_required(*MANAGERS)
def withdrawal_period(clinic_id: int):
    account = current_account()
    clinic = _clinic_or_deny(account, clinic_id)
    form = _form_or_404(request.form.get("form"))
    try:
        days = withdrawal.set_withdrawal_days(
            clinic.id, request.form.get("withdrawal_days", ""), actor=actor_of(account)
        )
    except withdrawal.WithdrawalError as error:
        return _page(clinic, form, message=str(error), status=400)
    flash(
        gettext(
            "Patients of %(clinic)s can now withdraw their answers for %(days)s days after "
            "sending them (0: not at all). Answers sent before keep the period they were given.",
            clinic=clinic.name,
            days=days,
        )
    )
    return redirect(url_for(".clinic", clinic_id=clinic.id, form=form))
