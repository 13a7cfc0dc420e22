"""The respondent flow's rules: which invitations are open, saving a page, submitting once.

Every change happens in one transaction that first claims the invitation with a conditional
UPDATE, so a page saved after submission, or a second submission racing the first, changes
nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import format_date, gettext
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from items import NOT_APPLICABLE, SKIPPED, Form, Section, load_bank
from survey.clinics import form_bank
from survey.consent import texts as consent
from survey.consent.withdrawal import clinic_of, deadline
from survey.delivery.contacts import erase_contact
from survey.extensions import db
from survey.models import (
    OPEN_STATES,
    Answer,
    Invitation,
    InvitationState,
    Response,
    record_audit,
    utcnow,
)


class FlowError(Exception):
    """A request the respondent flow refuses; ``status`` is the HTTP status to answer with."""

    status = 400

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        if status is not None:
            self.status = status


class AlreadySubmitted(FlowError):
    status = 409


class InvitationClosed(FlowError):
    status = 410


class ConsentNeeded(FlowError):
    """The form asks for consent first and this respondent has not given it (yet)."""

    status = 403


def form_of(invitation: Invitation, language: str | None = None) -> Form:
    """The invitation's form, its texts in ``language`` (the bank's own language by default),
    naming the clinician as the clinic chose."""
    return form_bank(invitation.clinician.clinic, language).form(invitation.form)


def language_of(invitation: Invitation) -> str | None:
    """The language the respondent is expected to read: the one a started response was
    answered in, else the invitation's (None: no preference)."""
    if invitation.response is not None:
        return invitation.response.language
    return invitation.language


def patient_reference(invitation: Invitation) -> str | None:
    """For the clinician's form about one patient: the clinic's reference of that patient and
    the wave, so the clinician knows whom the questions are about. Never on the patient form."""
    if invitation.form != "clinician-dyad" or invitation.wave is None:
        return None
    reference = invitation.wave.dyad.reference
    if reference is None:
        # No reference was given: the date the link was made is what the clinician can recall.
        made = invitation.created_at or utcnow()
        reference = gettext(
            "the patient whose survey link was made on %(date)s",
            date=format_date(made, format="long"),
        )
    return gettext("%(reference)s, wave %(wave)s", reference=reference, wave=invitation.wave.number)


def clinician_name(invitation: Invitation) -> str | None:
    """On the patient form: the clinician the questions are about."""
    if invitation.form != "patient":
        return None
    return invitation.clinician.name


def check_open(invitation: Invitation) -> None:
    """Raise unless answers may still be saved through this invitation."""
    if invitation.state == InvitationState.SUBMITTED:
        raise AlreadySubmitted(gettext("These answers were already sent. Thank you."))
    if invitation.state == InvitationState.REVOKED:
        raise InvitationClosed(gettext("This link was withdrawn by the clinic."))
    if invitation.is_expired():
        raise InvitationClosed(gettext("This link has expired."))


def mark_opened(invitation: Invitation) -> None:
    if invitation.state == InvitationState.PENDING:
        invitation.state = InvitationState.OPENED
        invitation.opened_at = utcnow()
        db.session.commit()


def _claim(invitation: Invitation, new_state: InvitationState) -> bool:
    """Move an open, unexpired invitation to ``new_state``; False if another request won."""
    now = utcnow()
    values = {"state": new_state}
    if new_state == InvitationState.SUBMITTED:
        values["submitted_at"] = now
    result = db.session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.state.in_(OPEN_STATES),
            Invitation.expires_at > now,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _refuse_claim(invitation: Invitation) -> None:
    db.session.rollback()
    db.session.refresh(invitation)
    check_open(invitation)
    raise FlowError(gettext("This link cannot take answers right now."), status=409)


def saved_answers(invitation: Invitation) -> dict[str, int | str]:
    """The answers stored so far: a scale value, or the code for "does not apply"."""
    if invitation.response is None:
        return {}
    rows = db.session.execute(
        select(Answer.item_id, Answer.value, Answer.code).where(
            Answer.response_id == invitation.response.id
        )
    )
    return {item_id: value if code is None else code for item_id, value, code in rows}


_MOBILE = re.compile(r"Mobi|Android.+Mobile|iPhone|iPod|Windows Phone", re.IGNORECASE)
_TABLET = re.compile(r"iPad|Tablet|Android(?!.*Mobile)|Silk|Kindle", re.IGNORECASE)
_BOT = re.compile(r"bot|crawl|spider|curl|wget|python-requests|HeadlessChrome", re.IGNORECASE)


def user_agent_class(user_agent: str | None) -> str:
    """A coarse device class; the user agent itself is never stored."""
    if not user_agent:
        return "unknown"
    if _BOT.search(user_agent):
        return "automated"
    if _MOBILE.search(user_agent):
        return "phone"
    if _TABLET.search(user_agent):
        return "tablet"
    return "desktop"


@dataclass(frozen=True)
class PageAnswers:
    """A validated page: each item's answer, or None where the respondent left it blank.

    ``resume_index`` is the section a respondent who comes back should see first; ``cleared``
    names items whose stored answer the respondent took back (stored as nothing, so a
    submission records them as skipped, as if never answered).
    """

    resume_index: int
    values: dict[str, int | str | None]
    cleared: frozenset[str] = frozenset()


def save_page(
    invitation: Invitation, page: PageAnswers, *, user_agent: str | None, language: str
) -> Response:
    """Store one page's answers and where to resume, all in one transaction."""
    if not _claim(invitation, InvitationState.STARTED):
        _refuse_claim(invitation)
    response = invitation.response or _start_response(invitation, user_agent, language)
    response.language = language  # the language of the latest page: the one actually used
    _store_values(response, {k: v for k, v in page.values.items() if k not in page.cleared})
    _clear_values(response, page.cleared)
    response.last_saved_at = utcnow()
    response.resume_section = page.resume_index
    _commit()
    return response


def save_answer(
    invitation: Invitation,
    item_id: str,
    value: int | str | None,
    *,
    user_agent: str | None,
    language: str,
) -> Response:
    """Store one answer the moment it is chosen (``None``: the answer was cleared)."""
    if not _claim(invitation, InvitationState.STARTED):
        _refuse_claim(invitation)
    response = invitation.response or _start_response(invitation, user_agent, language)
    response.language = language  # the language of the latest page: the one actually used
    if value is None:
        _clear_values(response, {item_id})
    else:
        _store_values(response, {item_id: value})
    response.last_saved_at = utcnow()
    _commit()
    return response


def _clear_values(response: Response, item_ids) -> None:
    if not item_ids:
        return
    db.session.execute(
        delete(Answer).where(Answer.response_id == response.id, Answer.item_id.in_(item_ids))
    )


def _store_values(response: Response, values: dict[str, int | str | None]) -> None:
    """Insert or update one answer row per item; None leaves an item as it was."""
    existing = {
        answer.item_id: answer
        for answer in db.session.scalars(select(Answer).where(Answer.response_id == response.id))
    }
    for item_id, value in values.items():
        if value is None:
            continue
        answer = existing.get(item_id)
        if answer is None:
            answer = Answer(response=response, item_id=item_id, bank_version=response.bank_version)
            db.session.add(answer)
        answer.value, answer.code = (None, value) if isinstance(value, str) else (value, None)


def _commit() -> None:
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise FlowError(
            gettext("Your answers were being saved twice at the same time. Please try again."),
            status=409,
        ) from None


def _start_response(invitation: Invitation, user_agent: str | None, language: str) -> Response:
    text = current_consent_text(invitation)
    response = Response(
        invitation=invitation,
        form=invitation.form,
        bank_version=load_bank().version,
        language=language,
        user_agent_class=user_agent_class(user_agent),
    )
    # The welcome page showed the information text in force (without a question, or the
    # respondent would have had to agree first): record which version they were shown.
    if text is not None and text.show_information:
        response.consent_text_id, response.consent_answer = text.id, "informed"
    db.session.add(response)
    db.session.flush()
    return response


# --- information and consent ---------------------------------------------------------------


def current_consent_text(invitation: Invitation):
    return consent.current_text(invitation.clinician.clinic_id, invitation.form)


def consent_needed(invitation: Invitation) -> bool:
    """Whether the respondent must answer the consent question before any answer is saved."""
    text = current_consent_text(invitation)
    if text is None or not text.ask_consent:
        return False
    response = invitation.response
    return response is None or response.consent_answer != "agreed"


def check_consented(invitation: Invitation) -> None:
    if consent_needed(invitation):
        raise ConsentNeeded("Please read the information and answer the question first.")


def _shown_version(invitation: Invitation, text_id: int | None):
    """The text in force, if it is the one the respondent answered; else ConsentNeeded (it
    changed while they read it, so they read it again)."""
    text = current_consent_text(invitation)
    if text is None or not text.ask_consent or text.id != text_id:
        raise ConsentNeeded("The information was updated while you read it. Please read it again.")
    return text


def give_consent(
    invitation: Invitation, text_id: int | None, *, user_agent: str | None, language: str
) -> Response:
    """Record that the respondent agreed to version ``text_id``; their response starts here."""
    text = _shown_version(invitation, text_id)
    if not _claim(invitation, InvitationState.STARTED):
        _refuse_claim(invitation)
    response = invitation.response or _start_response(invitation, user_agent, language)
    response.consent_text_id, response.consent_answer = text.id, "agreed"
    response.last_saved_at = utcnow()
    _commit()
    return response


def decline_consent(invitation: Invitation, text_id: int | None) -> None:
    """Count one decline of version ``text_id`` and keep nothing else: answers saved before the
    question was turned on are deleted, the e-mail address is erased (no reminders follow).
    The link stays open, so a respondent who changes their mind can still take part; a link
    counts one decline however often No is pressed on it."""
    check_open(invitation)
    text = _shown_version(invitation, text_id)
    if invitation.response is not None:
        db.session.execute(delete(Answer).where(Answer.response_id == invitation.response.id))
        db.session.delete(invitation.response)
    if invitation.consent_declined_at is None:
        invitation.consent_declined_at = utcnow()
        consent.count_decline(text.id)
    erase_contact(invitation.id)
    _commit()
    db.session.expire(invitation)


def submit(
    invitation: Invitation,
    *,
    user_agent: str | None,
    language: str,
    answers: dict[str, int | str | None] | None = None,
) -> Response:
    """Finish the response: unanswered items are stored as skipped; exactly once.

    ``answers`` (from an import or a FHIR QuestionnaireResponse) are stored in the same
    transaction as the submission, so either all of them are kept and submitted, or nothing.
    """
    if not _claim(invitation, InvitationState.SUBMITTED):
        _refuse_claim(invitation)
    response = invitation.response or _start_response(invitation, user_agent, language)
    response.language = language  # the language of the latest page: the one actually used
    _store_values(response, answers or {})
    db.session.flush()
    answered = set(
        db.session.scalars(select(Answer.item_id).where(Answer.response_id == response.id))
    )
    for item in form_of(invitation).items:
        if item.id not in answered:
            db.session.add(
                Answer(
                    response=response,
                    item_id=item.id,
                    bank_version=response.bank_version,
                    code=SKIPPED,
                )
            )
    now = utcnow()
    response.resume_section = len(form_of(invitation).sections) - 1
    response.withdrawable_until = deadline(clinic_of(invitation), response.form, now)
    response.submitted_at = now
    response.last_saved_at = now
    response.duration_seconds = max(0, round((now - response.started_at).total_seconds()))
    record_audit("respondent", "response.submit", f"invitation:{invitation.id}", form=response.form)
    erase_contact(invitation.id)  # a submitted invitation needs no address: gone in the same commit
    _commit()
    return response


def section_summary(section: Section, answers: dict[str, int | str]) -> list[tuple[str, str]]:
    """Each item's text with the label of its stored answer, for the review page."""
    rows = []
    for item in section.items:
        stored = answers.get(item.id)
        if stored is None:
            label = gettext("Not answered")
        elif stored == NOT_APPLICABLE:
            label = item.not_applicable_label or gettext("Does not apply")
        else:
            label = item.scale.label(stored)
        rows.append((item.text, label))
    return rows
