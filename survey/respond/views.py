"""Routes of the respondent flow at ``/s/<token>``; no account, no JavaScript needed."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext

from items import load_bank
from survey.consent import texts as consent
from survey.consent import withdrawal
from survey.delivery.kiosk import unlocked_clinic
from survey.i18n import current_language, prefer_invitation_language, respondent_languages
from survey.invitations import find_invitation
from survey.models import Invitation, InvitationState
from survey.respond import flow
from survey.respond.forms import (
    CLEAR_FIELD,
    NAV_FIELD,
    answer_value,
    repeated_fields,
    section_form_class,
    single_answer,
    unknown_fields,
)

bp = Blueprint("respond", __name__, url_prefix="/s")


def _invitation(token: str) -> Invitation:
    invitation = find_invitation(token)
    if invitation is None:
        abort(404)
    prefer_invitation_language(flow.language_of(invitation))
    return invitation


def _language() -> str:
    """The language this page's form is shown and answered in: the page's own language when the
    item bank has the form in it (it always does for a language the switch offers)."""
    language = current_language()
    return language if language in respondent_languages() else load_bank().language


def _form(invitation: Invitation):
    return flow.form_of(invitation, _language())


def _closed_page(invitation: Invitation):
    """The page for a link that takes no more answers, or None when it is open."""
    if invitation.state == InvitationState.SUBMITTED:
        return _already_submitted(invitation)
    try:
        flow.check_open(invitation)
    except flow.InvitationClosed as closed:
        return render_template("respond/closed.html", message=str(closed)), 410
    return None


def _already_submitted(invitation: Invitation | str):
    if isinstance(invitation, str):
        invitation = _invitation(invitation)
    return render_template(
        "respond/already_submitted.html",
        token=request.view_args["token"],
        form=_form(invitation),
        withdrawal=_withdrawal_status(invitation),
    )


def _withdrawal_status(invitation: Invitation) -> withdrawal.WithdrawalStatus:
    """Whether this browser may withdraw the link's answers: never on a clinic's tablet, where
    the next patient could go back to the previous one's thank-you page."""
    found = withdrawal.status(invitation)
    if found.possible and unlocked_clinic() is not None:
        return withdrawal.WithdrawalStatus(False, found.until, "kiosk")
    return found


def _section_index(invitation: Invitation, page: int) -> int:
    if not 1 <= page <= len(_form(invitation).sections):
        abort(404)
    return page - 1


@bp.get("/<token>")
def welcome(token: str):
    invitation = _invitation(token)
    closed = _closed_page(invitation)
    if closed is not None:
        return closed
    flow.mark_opened(invitation)
    return _welcome_page(token, invitation)


def _welcome_page(token: str, invitation: Invitation, message: str | None = None):
    response = invitation.response
    resume_page = response.resume_section + 1 if response is not None else None
    language = _language()
    return render_template(
        "respond/welcome.html",
        token=token,
        form=_form(invitation),
        resume_page=resume_page,
        about=flow.patient_reference(invitation),
        clinician=flow.clinician_name(invitation),
        information=consent.shown_text(flow.current_consent_text(invitation), language),
        consent_needed=flow.consent_needed(invitation),
        withdrawal_days=_withdrawal_days(invitation),
        languages=consent.LANGUAGE_NAMES,
        language=language,
        message=message,
    )


def _withdrawal_days(invitation: Invitation) -> int:
    if invitation.form not in withdrawal.WITHDRAWABLE_FORMS:
        return 0
    return withdrawal.clinic_of(invitation).withdrawal_days


@bp.post("/<token>/consent")
def answer_consent(token: str):
    invitation = _invitation(token)
    flow.check_open(invitation)
    choice = request.form.get("consent")
    text_id = request.form.get("text", type=int)
    if choice == "yes":
        flow.give_consent(
            invitation, text_id, user_agent=request.user_agent.string, language=_language()
        )
        return redirect(_page_url(token, invitation.response.resume_section + 1))
    if choice == "no":
        flow.decline_consent(invitation, text_id)
        return redirect(url_for(".declined", token=token))
    page = _welcome_page(token, invitation, message=gettext("Please choose Yes or No."))
    return page, 400


@bp.get("/<token>/declined")
def declined(token: str):
    _invitation(token)
    return render_template("respond/declined.html")


@bp.route("/<token>/<int:page>", methods=["GET", "POST"])
def section(token: str, page: int):
    invitation = _invitation(token)
    index = _section_index(invitation, page)
    form = _form(invitation)
    if request.method == "GET":
        closed = _closed_page(invitation)
        if closed is not None:
            return closed
    else:
        flow.check_open(invitation)
    flow.check_consented(invitation)
    section_ = form.sections[index]
    clinic = invitation.clinician.clinic
    form_class = section_form_class(form.id, index, _language(), clinic.clinician_term)
    if request.method == "GET":
        saved = flow.saved_answers(invitation)
        page_form = form_class(
            data={item.id: str(saved[item.id]) for item in section_.items if item.id in saved}
        )
        return _render_section(token, form, index, page_form)

    _reject_malformed_post(section_)
    page_form = form_class()
    if not page_form.validate():
        return _render_section(token, form, index, page_form), 400
    values = {item.id: answer_value(page_form[item.id].data) for item in section_.items}
    cleared = request.form.get(CLEAR_FIELD)
    if cleared is not None:
        # "Clear answer" on one question: keep the page's other answers, stay on this page.
        if cleared not in values:
            raise flow.FlowError(_no_such_question(cleared))
        flow.save_page(
            invitation,
            flow.PageAnswers(resume_index=index, values=values, cleared=frozenset({cleared})),
            user_agent=request.user_agent.string,
            language=_language(),
        )
        return redirect(_page_url(token, page) + f"#q-{cleared}")
    going_back = request.form.get(NAV_FIELD) == "back"
    resume_index = max(index - 1, 0) if going_back else min(index + 1, len(form.sections) - 1)
    flow.save_page(
        invitation,
        flow.PageAnswers(resume_index=resume_index, values=values),
        user_agent=request.user_agent.string,
        language=_language(),
    )
    if going_back:
        return redirect(
            _page_url(token, page - 1) if page > 1 else url_for(".welcome", token=token)
        )
    if page < len(form.sections):
        return redirect(_page_url(token, page + 1))
    return redirect(url_for(".review", token=token))


@bp.post("/<token>/answer")
def save_answer(token: str):
    """One answer saved as it is chosen (static/autosave.js); the page's own form, posted with
    Next or Back, does the same without JavaScript."""
    invitation = _invitation(token)
    flow.check_open(invitation)
    flow.check_consented(invitation)
    item_id = request.form.get("item", "")
    item = next((i for i in _form(invitation).items if i.id == item_id), None)
    if item is None:
        raise flow.FlowError(_no_such_question(item_id))
    raw = request.form.get("value")
    try:
        value = single_answer(item, raw)
    except ValueError:
        raise flow.FlowError(
            gettext(
                "%(value)s is not an answer to question %(item)s. Nothing was saved.",
                value=repr(raw),
                item=item.id,
            )
        ) from None
    flow.save_answer(
        invitation, item.id, value, user_agent=request.user_agent.string, language=_language()
    )
    return {"saved": item.id, "value": value}


def _no_such_question(names: str) -> str:
    return gettext("This page has no question called %(names)s. Nothing was saved.", names=names)


def _page_url(token: str, page: int) -> str:
    return url_for(".section", token=token, page=page)


def _reject_malformed_post(section_) -> None:
    unknown = unknown_fields(request.form, section_)
    if unknown:
        raise flow.FlowError(_no_such_question(", ".join(unknown)))
    repeated = repeated_fields(request.form)
    if repeated:
        raise flow.FlowError(
            gettext(
                "More than one answer was sent for %(names)s. Nothing was saved.",
                names=", ".join(repeated),
            )
        )


def _render_section(token, form, index, page_form):
    section_ = form.sections[index]
    return render_template(
        "respond/section.html",
        token=token,
        form=form,
        section=section_,
        page=index + 1,
        pages=len(form.sections),
        page_form=page_form,
        items=[(item, page_form[item.id]) for item in section_.items],
    )


@bp.get("/<token>/review")
def review(token: str):
    invitation = _invitation(token)
    closed = _closed_page(invitation)
    if closed is not None:
        return closed
    flow.check_consented(invitation)
    form = _form(invitation)
    answers = flow.saved_answers(invitation)
    sections = [
        (page, section_, flow.section_summary(section_, answers))
        for page, section_ in enumerate(form.sections, start=1)
    ]
    blank = sum(1 for item in form.items if item.id not in answers)
    return render_template(
        "respond/review.html", token=token, form=form, sections=sections, blank=blank
    )


@bp.post("/<token>/submit")
def submit(token: str):
    invitation = _invitation(token)
    flow.check_open(invitation)
    flow.check_consented(invitation)
    flow.submit(invitation, user_agent=request.user_agent.string, language=_language())
    return redirect(url_for(".thanks", token=token))


@bp.get("/<token>/thanks")
def thanks(token: str):
    invitation = _invitation(token)
    if invitation.state != InvitationState.SUBMITTED:
        return redirect(url_for(".welcome", token=token))
    return render_template(
        "respond/thanks.html",
        token=token,
        form=_form(invitation),
        withdrawal=_withdrawal_status(invitation),
    )


# --- withdrawal ----------------------------------------------------------------------------


@bp.route("/<token>/withdraw", methods=["GET", "POST"])
def withdraw(token: str):
    """One page that says what withdrawal does; its button asks to confirm; the confirmation
    deletes the answers."""
    invitation = _invitation(token)
    found = _withdrawal_status(invitation)
    if not found.possible:
        status_code = 200 if request.method == "GET" else 410
        return render_template("respond/withdraw_closed.html", status=found), status_code
    if request.method == "GET":
        return render_template("respond/withdraw.html", token=token, status=found)
    if request.form.get("confirm") != "yes":
        return render_template("respond/withdraw_confirm.html", token=token, status=found)
    try:
        withdrawal.withdraw(invitation)
    except withdrawal.WithdrawalError as error:
        return render_template("respond/problem.html", message=str(error)), 410
    return redirect(url_for(".withdrawn", token=token))


@bp.get("/<token>/withdrawn")
def withdrawn(token: str):
    invitation = _invitation(token)
    if withdrawal.status(invitation).reason != "withdrawn":
        return redirect(url_for(".welcome", token=token))
    return render_template("respond/withdrawn.html")


@bp.errorhandler(flow.FlowError)
def flow_error(error: flow.FlowError):
    # A closed link is not fixed by going Back: say what happened and what to do instead.
    if isinstance(error, flow.ConsentNeeded):
        # Back to the information page, which asks the question (again, if the text changed).
        return redirect(url_for(".welcome", token=request.view_args["token"]))
    if isinstance(error, flow.AlreadySubmitted):
        return _already_submitted(request.view_args["token"]), error.status
    if isinstance(error, flow.InvitationClosed):
        return render_template("respond/closed.html", message=str(error)), error.status
    return render_template("respond/problem.html", message=str(error)), error.status
