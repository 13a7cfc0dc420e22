"""The e-mails healing-survey sends, rendered when they leave the outbox: plain text and simple
HTML, in the invitation's language, each with its opt-out link.

Nothing here touches the database or the network: a :class:`MessageContext` in, the message's
bytes out. They are built with the email package's classic classes (``MIMEText``, headers as
plain strings, non-ASCII ones encoded here): with the sender at tens of messages a second, the
modern ``EmailMessage`` API, which parses every header it is given, took 2.6 ms a message and was
most of the sender's own work; this takes about 1 ms for the same bytes on the wire.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from email import charset, policy
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
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
# Both parts as UTF-8 in quoted-printable: readable where ASCII, safe for long HTML lines.
UTF8 = charset.Charset("utf-8")
UTF8.header_encoding = charset.QP
UTF8.body_encoding = charset.QP
WIRE = policy.compat32.clone(linesep="\r\n")


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


def render(context: MessageContext) -> bytes:
    """The message as it goes to the SMTP server (CRLF line ends): plain text with an HTML
    alternative."""
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
    plain = "\n\n".join(
        [
            texts["greeting"],
            *paragraphs,
            f"{texts['start']}: {context.survey_url}",
            until,
            texts["optout"].format(url=context.optout_url),
        ]
    )
    message = MIMEMultipart("alternative")
    message["Subject"] = _header_text(texts["subject"][context.kind].format(**fields))
    message["From"] = formataddr((context.clinic, context.sender), charset=UTF8)
    message["To"] = context.recipient
    message["Message-ID"] = message_id_header(context.message_id, context.sender.split("@")[-1])
    message["List-Unsubscribe"] = f"<{context.optout_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.attach(MIMEText(plain + "\n", "plain", UTF8))
    message.attach(MIMEText(_html(texts, paragraphs, until, context), "html", UTF8))
    return message.as_bytes(policy=WIRE)


def _header_text(text: str) -> str | Header:
    """A header as given when it is ASCII, else encoded (RFC 2047)."""
    return text if text.isascii() else Header(text, UTF8)


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
