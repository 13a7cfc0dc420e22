"""The e-mails healing-survey sends, rendered when they leave the outbox: plain text and simple
HTML, in the invitation's language, each with its opt-out link.

Nothing here touches the database or the network: a :class:`MessageContext` in, an
``EmailMessage`` out.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr
from html import escape

# Per language: subject lines and paragraphs. Spanish joins with the catalogue (issue 9).
TEXTS = {
    "en": {
        "subject": {
            "invitation": "{clinic}: how is your care going?",
            "reminder": "Reminder from {clinic}: how is your care going?",
            "clinician-invitation": "{clinic}: your view of a patient relationship",
        },
        "greeting": "Hello,",
        "ask": {
            "invitation": (
                "{clinic} asks you some short questions about your care with {clinician}. "
                "It takes about 10 minutes."
            ),
            "reminder": (
                "A few days ago {clinic} asked you some short questions about your care with "
                "{clinician}. If you have a moment, your answers help. It takes about 10 minutes."
            ),
            "clinician-invitation": (
                "Please answer the clinician form about your relationship with {patient}. "
                "It takes about 5 minutes."
            ),
        },
        "privacy": {
            "invitation": "Your clinician never sees your own answers.",
            "reminder": "Your clinician never sees your own answers.",
            "clinician-invitation": "Your answers are shown only in groups, never one by one.",
        },
        "start": "Start here",
        "until": "This link works until {date}.",
        "optout": "To get no more e-mails about this survey, open {url}",
        "optout_html": "Get no more e-mails about this survey",
        "patient_unnamed": "the patient you saw on {date}",
        "patient_named": "patient {reference}",
    }
}
DEFAULT_LANGUAGE = "en"


@dataclass(frozen=True)
class MessageContext:
    """What one message needs to know; built by the sender from the outbox row."""

    message_id: int
    kind: str
    language: str | None
    recipient: str
    sender: str
    clinic: str
    clinician: str
    patient_reference: str | None
    invited_on: datetime
    survey_url: str
    optout_url: str
    expires_at: datetime


def message_id_header(message_id: int, domain: str) -> str:
    """The same Message-ID every time one outbox row is sent, so a repeat is recognisable."""
    return f"<healing-survey.{message_id}@{domain}>"


def optout_signature(secret_key: str, invitation_id: int) -> str:
    """The part of an opt-out link that proves it came in one of our messages.

    Examples
    --------
    >>> len(optout_signature("key", 7)), optout_signature("key", 7) == optout_signature("key", 8)
    (22, False)
    """
    digest = hmac.new(secret_key.encode(), f"optout:{invitation_id}".encode(), hashlib.sha256)
    return digest.hexdigest()[:22]


def render(context: MessageContext) -> EmailMessage:
    """The message, with a plain-text body and an HTML alternative."""
    texts = TEXTS.get(context.language or DEFAULT_LANGUAGE, TEXTS[DEFAULT_LANGUAGE])
    fields = {
        "clinic": context.clinic,
        "clinician": context.clinician,
        "patient": _patient_label(texts, context),
    }
    paragraphs = [
        texts["ask"][context.kind].format(**fields),
        texts["privacy"][context.kind],
    ]
    until = texts["until"].format(date=f"{context.expires_at:%d %B %Y}")
    message = EmailMessage()
    message["Subject"] = texts["subject"][context.kind].format(**fields)
    message["From"] = formataddr((context.clinic, context.sender))
    message["To"] = context.recipient
    message["Message-ID"] = message_id_header(context.message_id, context.sender.split("@")[-1])
    message["List-Unsubscribe"] = f"<{context.optout_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    plain = "\n\n".join(
        [
            texts["greeting"],
            *paragraphs,
            f"{texts['start']}: {context.survey_url}",
            until,
            texts["optout"].format(url=context.optout_url),
        ]
    )
    message.set_content(plain + "\n")
    message.add_alternative(_html(texts, paragraphs, until, context), subtype="html")
    return message


def _patient_label(texts: dict, context: MessageContext) -> str:
    if context.patient_reference:
        return texts["patient_named"].format(reference=context.patient_reference)
    return texts["patient_unnamed"].format(date=f"{context.invited_on:%d %B %Y}")


def _html(texts: dict, paragraphs: list[str], until: str, context: MessageContext) -> str:
    lang = escape(context.language or DEFAULT_LANGUAGE)
    body = "".join(f"<p>{escape(paragraph)}</p>" for paragraph in paragraphs)
    url = escape(context.survey_url, quote=True)
    optout = escape(context.optout_url, quote=True)
    return (
        f'<!doctype html><html lang="{lang}"><body style="font-family:sans-serif;font-size:18px;'
        f'line-height:1.5;max-width:36em">'
        f"<p>{escape(texts['greeting'])}</p>{body}"
        f'<p><a href="{url}" style="display:inline-block;padding:12px 20px;background:#1d4f91;'
        f'color:#ffffff;text-decoration:none;border-radius:6px">{escape(texts["start"])}</a></p>'
        f"<p>{escape(until)}</p>"
        f'<p style="font-size:14px"><a href="{optout}">{escape(texts["optout_html"])}</a></p>'
        "</body></html>"
    )
