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

from babel.dates import format_date

from survey.i18n import catalogue, supported_languages

DEFAULT_LANGUAGE = "en"
# Both parts as UTF-8 in quoted-printable: readable where ASCII, safe for long HTML lines.
UTF8 = charset.Charset("utf-8")
UTF8.header_encoding = charset.QP
UTF8.body_encoding = charset.QP
WIRE = policy.compat32.clone(linesep="\r\n")


@dataclass(frozen=True)
class _Texts:
    """The texts of one message kind in one language, from the catalogue (survey/translations)."""

    subject: str
    ask: str
    privacy: str
    greeting: str
    start: str
    until: str
    optout: str
    optout_html: str


def _texts(kind: str, language: str) -> _Texts:
    _ = catalogue(language).gettext
    subjects = {
        "invitation": _("%(clinic)s: how is your care going?"),
        "reminder": _("Reminder from %(clinic)s: how is your care going?"),
        "clinician-invitation": _("%(clinic)s: your view of a patient relationship"),
    }
    asks = {
        "invitation": _(
            "%(clinic)s asks you some short questions about your care with %(clinician)s. "
            "It takes about 10 minutes."
        ),
        "reminder": _(
            "A few days ago %(clinic)s asked you some short questions about your care with "
            "%(clinician)s. If you have a moment, your answers help. It takes about 10 minutes."
        ),
        "clinician-invitation": _(
            "Please answer the clinician form about your relationship with %(patient)s. "
            "It takes about 5 minutes."
        ),
    }
    patient_privacy = _("Your clinician never sees your own answers.")
    privacy = {
        "invitation": patient_privacy,
        "reminder": patient_privacy,
        "clinician-invitation": _("Your answers are shown only in groups, never one by one."),
    }
    return _Texts(
        subject=subjects[kind],
        ask=asks[kind],
        privacy=privacy[kind],
        greeting=_("Hello,"),
        start=_("Start here"),
        until=_("This link works until %(date)s."),
        optout=_("To get no more e-mails about this survey, open %(url)s"),
        optout_html=_("Get no more e-mails about this survey"),
    )


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
    alternative, in the invitation's language."""
    language = _language(context)
    texts = _texts(context.kind, language)
    fields = {
        "clinic": context.clinic,
        "clinician": context.clinician,
        "patient": _patient_label(language, context),
    }
    paragraphs = [texts.ask % fields, texts.privacy]
    until = texts.until % {"date": format_date(context.expires_at, "long", locale=language)}
    plain = "\n\n".join(
        [
            texts.greeting,
            *paragraphs,
            f"{texts.start}: {context.survey_url}",
            until,
            texts.optout % {"url": context.optout_url},
        ]
    )
    message = MIMEMultipart("alternative")
    message["Subject"] = _header_text(texts.subject % fields)
    message["From"] = formataddr((context.clinic, context.sender), charset=UTF8)
    message["To"] = context.recipient
    message["Message-ID"] = message_id_header(context.message_id, context.sender.split("@")[-1])
    message["List-Unsubscribe"] = f"<{context.optout_url}>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.attach(MIMEText(plain + "\n", "plain", UTF8))
    message.attach(MIMEText(_html(texts, paragraphs, until, context, language), "html", UTF8))
    return message.as_bytes(policy=WIRE)


def _header_text(text: str) -> str | Header:
    """A header as given when it is ASCII, else encoded (RFC 2047)."""
    return text if text.isascii() else Header(text, UTF8)


def _language(context: MessageContext) -> str:
    """The invitation's language when the app has it, else English."""
    if context.language in supported_languages():
        return context.language
    return DEFAULT_LANGUAGE


def _patient_label(language: str, context: MessageContext) -> str:
    _ = catalogue(language).gettext
    if context.patient_reference:
        return _("patient %(reference)s") % {"reference": context.patient_reference}
    invited_on = format_date(context.invited_on, "long", locale=language)
    return _("the patient you saw on %(date)s") % {"date": invited_on}


def _html(
    texts: _Texts, paragraphs: list[str], until: str, context: MessageContext, language: str
) -> str:
    lang = escape(language)
    body = "".join(f"<p>{escape(paragraph)}</p>" for paragraph in paragraphs)
    url = escape(context.survey_url, quote=True)
    optout = escape(context.optout_url, quote=True)
    return (
        f'<!doctype html><html lang="{lang}"><body style="font-family:sans-serif;font-size:18px;'
        f'line-height:1.5;max-width:36em">'
        f"<p>{escape(texts.greeting)}</p>{body}"
        f'<p><a href="{url}" style="display:inline-block;padding:12px 20px;background:#1d4f91;'
        f'color:#ffffff;text-decoration:none;border-radius:6px">{escape(texts.start)}</a></p>'
        f"<p>{escape(until)}</p>"
        f'<p style="font-size:14px"><a href="{optout}">{escape(texts.optout_html)}</a></p>'
        "</body></html>"
    )
