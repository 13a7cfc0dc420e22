"""The information page and consent question of each clinic's forms: the texts in force, the
default wording, new versions written by staff (audited), and the count of declines.

A clinic without a stored version shows no information page (the form starts as before); the
staff page offers the default wording below as a starting point.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from survey.consent.models import ConsentDeclineCount, ConsentText, add_one
from survey.extensions import db
from survey.i18n import language_name
from survey.models import record_audit

FORMS = ("patient", "clinician-dyad", "clinician-self")
PARTS = ("title", "information", "question")
# Long enough for a real information sheet, short enough to read on a phone.
MAX_LENGTHS = {"title": 200, "information": 8000, "question": 500}

DEFAULT_TEXTS = {
    "en": {
        "title": "Before you start",
        "information": (
            "We are asking patients how they feel about the care they get from their "
            "clinician. This helps the clinic learn what works well and what to do better.\n\n"
            "Taking part is your choice. If you say no, nothing changes in your care, and "
            "nobody at the clinic will know.\n\n"
            "The questions take about 10 minutes. You can skip any question.\n\n"
            "We do not ask for your name. Your clinician never sees your own answers: they "
            "only see results from many patients put together.\n\n"
            "If you have questions about this survey, please ask the clinic's staff."
        ),
        "question": "Do you agree to answer the questions?",
    },
    "es": {
        "title": "Antes de empezar",
        "information": (
            "Preguntamos a los pacientes cómo se sienten con la atención que reciben de su "
            "profesional de salud. Esto ayuda a la clínica a saber qué funciona bien y qué "
            "puede mejorar.\n\n"
            "Participar es su decisión. Si dice que no, su atención no cambia y nadie en la "
            "clínica lo sabrá.\n\n"
            "Las preguntas toman unos 10 minutos. Puede dejar sin responder cualquier pregunta.\n\n"
            "No le pedimos su nombre. Su profesional de salud nunca ve sus respuestas: solo ve "
            "resultados de muchos pacientes juntos.\n\n"
            "Si tiene preguntas sobre esta encuesta, hable con el personal de la clínica."
        ),
        "question": "¿Está de acuerdo en responder las preguntas?",
    },
}

# The languages a text is written in are those of the default texts; each is named in itself.
LANGUAGES = tuple(DEFAULT_TEXTS)
LANGUAGE_NAMES = {code: language_name(code) for code in LANGUAGES}


class ConsentError(ValueError):
    """A consent text that cannot be saved as given; the message names what is wrong."""


@dataclass(frozen=True)
class ShownText:
    """What one respondent reads: one version's words in one language."""

    text_id: int
    version: int
    language: str
    title: str
    information: str
    question: str | None

    @property
    def paragraphs(self) -> list[str]:
        return [part.strip() for part in self.information.split("\n\n") if part.strip()]


def current_text(clinic_id: int, form: str) -> ConsentText | None:
    """The newest version of the clinic's text for ``form``, or None if none was ever saved."""
    return db.session.scalar(
        select(ConsentText)
        .where(ConsentText.clinic_id == clinic_id, ConsentText.form == form)
        .order_by(ConsentText.version.desc())
        .limit(1)
    )


def shown_text(text: ConsentText | None, language: str) -> ShownText | None:
    """The words a respondent in ``language`` reads (English where that language is empty),
    or None when the form shows no information page."""
    if text is None or not text.show_information:
        return None
    words = text.texts.get(language) or {}
    if not words.get("information"):
        language, words = "en", text.texts.get("en") or {}
    return ShownText(
        text_id=text.id,
        version=text.version,
        language=language,
        title=words.get("title") or DEFAULT_TEXTS[language]["title"],
        information=words.get("information", ""),
        question=words.get("question") if text.ask_consent else None,
    )


def editable_texts(text: ConsentText | None) -> dict[str, dict[str, str]]:
    """The words the staff page starts from: the version in force, else the defaults."""
    stored = text.texts if text is not None else {}
    return {
        language: {part: (stored.get(language) or DEFAULT_TEXTS[language])[part] for part in PARTS}
        for language in LANGUAGES
    }


def _too_long(part: str, language: str, length: int, limit: int) -> str:
    """One message per part, so that each can be worded naturally in every language."""
    values = {"language": LANGUAGE_NAMES[language], "length": length, "limit": limit}
    if part == "title":
        return gettext(
            "The title in %(language)s has %(length)s characters; at most %(limit)s fit on a"
            " phone's page.",
            **values,
        )
    if part == "information":
        return gettext(
            "The information in %(language)s has %(length)s characters; at most %(limit)s fit on"
            " a phone's page.",
            **values,
        )
    return gettext(
        "The question in %(language)s has %(length)s characters; at most %(limit)s fit on a"
        " phone's page.",
        **values,
    )


def _checked_texts(texts: dict, *, ask_consent: bool) -> dict[str, dict[str, str]]:
    clean = {}
    for language in LANGUAGES:
        words = {part: (texts.get(language, {}).get(part) or "").strip() for part in PARTS}
        words = {part: value.replace("\r\n", "\n") for part, value in words.items()}
        for part, limit in MAX_LENGTHS.items():
            if len(words[part]) > limit:
                raise ConsentError(_too_long(part, language, len(words[part]), limit))
        if not words["information"]:
            raise ConsentError(
                gettext(
                    "The information text in %(language)s is empty: write it, so that every"
                    " respondent can read it in their language.",
                    language=LANGUAGE_NAMES[language],
                )
            )
        if ask_consent and not words["question"]:
            raise ConsentError(
                gettext(
                    "The consent question in %(language)s is empty: write it, or turn the"
                    " consent question off.",
                    language=LANGUAGE_NAMES[language],
                )
            )
        clean[language] = words
    return clean


def save_text(
    clinic_id: int,
    form: str,
    *,
    show_information: bool,
    ask_consent: bool,
    texts: dict,
    actor: str,
) -> ConsentText:
    """Store a new version of the clinic's text for ``form`` (the caller checked the actor may)
    and write the audit entry; ``ConsentError`` if the text is incomplete or unchanged."""
    if form not in FORMS:
        raise ConsentError(
            gettext(
                "Unknown form %(form)s; expected one of: %(known)s.",
                form=repr(form),
                known=", ".join(FORMS),
            )
        )
    if ask_consent and not show_information:
        raise ConsentError(
            gettext("A consent question needs the information page: turn the page on.")
        )
    clean = _checked_texts(texts, ask_consent=ask_consent)
    previous = current_text(clinic_id, form)
    if previous is not None and (
        previous.show_information,
        previous.ask_consent,
        previous.texts,
    ) == (show_information, ask_consent, clean):
        raise ConsentError(gettext("Nothing was changed, so no new version was made."))
    version = (previous.version if previous is not None else 0) + 1
    text = ConsentText(
        clinic_id=clinic_id,
        form=form,
        version=version,
        show_information=show_information,
        ask_consent=ask_consent,
        texts=clean,
        created_by=actor,
    )
    db.session.add(text)
    record_audit(
        actor,
        "consent.text",
        f"clinic:{clinic_id}",
        form=form,
        version=version,
        show_information=show_information,
        ask_consent=ask_consent,
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ConsentError(
            gettext(
                "Someone else saved a new version at the same moment; reload the page and check it."
            )
        ) from None
    return text


def versions(clinic_id: int, form: str) -> list[dict]:
    """Every version of the clinic's text for ``form``, newest first, with its declines."""
    rows = db.session.execute(
        select(ConsentText, func.coalesce(ConsentDeclineCount.declines, 0))
        .outerjoin(ConsentDeclineCount, ConsentDeclineCount.consent_text_id == ConsentText.id)
        .where(ConsentText.clinic_id == clinic_id, ConsentText.form == form)
        .order_by(ConsentText.version.desc())
    )
    return [
        {
            "version": text.version,
            "created_at": text.created_at,
            "created_by": text.created_by,
            "show_information": text.show_information,
            "ask_consent": text.ask_consent,
            "declines": declines,
        }
        for text, declines in rows
    ]


def count_decline(text_id: int) -> None:
    """Add one to the declines of a version, atomically (the caller commits)."""
    add_one(ConsentDeclineCount, "declines", consent_text_id=text_id)
