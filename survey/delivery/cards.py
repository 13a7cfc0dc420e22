"""Printed invitation cards and the short code a patient types at ``/s/`` instead of the link.

A card carries the clinic's name, one plain sentence, the link as a QR code (segno, inline SVG:
the page makes no outside request) and a short code. Printing a card is what gives an
invitation its code; the link's token is kept encrypted with the card so that it can be printed
again (a link known only as a hash gets a new token when its first card is made, unless its
e-mail contact holds it).
"""

from __future__ import annotations

from dataclasses import dataclass

import segno
from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import force_locale, gettext
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from items import load_bank
from survey.auth.access import actor_of, current_account, role_required
from survey.delivery import codes
from survey.delivery.contacts import read_contact
from survey.delivery.models import InvitationContact
from survey.delivery.sealed import seal, unseal
from survey.extensions import db
from survey.invitations.service import hash_token, new_token, survey_url
from survey.models import (
    OPEN_STATES,
    Invitation,
    InvitationCard,
    Role,
    User,
    record_audit,
)

bp = Blueprint("cards", __name__)
STAFF = (Role.ADMIN, Role.MANAGER)
PAPERS = {"a4": "A4", "letter": "US Letter"}
MAX_CARDS = 400


@dataclass(frozen=True)
class Card:
    invitation: int
    clinic: str
    url: str
    code: str
    qr_svg: Markup
    language: str
    sentence: str
    how: Markup


def card_texts(language: str, code_url: str) -> tuple[str, Markup]:
    """What a card says to the patient, in the patient's language: why, and how to open it."""
    with force_locale(language):
        sentence = gettext("Your clinic asks how your care is going. It takes about 10 minutes.")
        how = gettext("Scan the square with your phone's camera, or go to %(url)s and type:")
    return sentence, Markup(escape(how)) % {"url": Markup("<strong>%s</strong>") % code_url}


def qr_svg(url: str) -> Markup:
    """The link as an inline SVG QR code (error correction M, 4 px per module)."""
    return Markup(segno.make(url, error="m").svg_inline(scale=4, border=2, title=url))


def _token_for(invitation: Invitation) -> str:
    """The link's token: from the e-mail contact if there is one, else a new one (the hash
    is replaced, so a link shown once on the screen stops working)."""
    contact = db.session.scalar(
        select(InvitationContact).where(InvitationContact.invitation_id == invitation.id)
    )
    if contact is not None:
        return read_contact(contact)[1]
    token = new_token()
    invitation.token_hash = hash_token(token)
    return token


def _unique_code() -> tuple[str, str]:
    while True:
        code = codes.new_code()
        digest = codes.hash_code(codes.normalise_code(code))
        taken = db.session.scalar(
            select(InvitationCard.id).where(InvitationCard.code_hash == digest)
        )
        if taken is None:
            return code, digest


def make_card(invitation: Invitation) -> InvitationCard:
    """Give an open patient invitation its card (link token kept encrypted, code hashed)."""
    card = db.session.scalar(
        select(InvitationCard).where(InvitationCard.invitation_id == invitation.id)
    )
    if card is not None and card.code_hash is not None:
        return card
    code, digest = _unique_code()
    if card is None:
        token = _token_for(invitation)
        card = InvitationCard(invitation=invitation, token_encrypted="")
        db.session.add(card)
    else:  # a card row the tablet made: it holds the token but no code yet
        token = _card_secrets(card)[0]
    card.code_hash = digest
    card.token_encrypted = seal(f"{token} {code}")
    return card


def _card_secrets(card: InvitationCard) -> tuple[str, str | None]:
    token, _, code = unseal(card.token_encrypted).partition(" ")
    return token, code or None


def kept_token(invitation: Invitation) -> str:
    """The token of a link that must keep working (the tablet): from the card or the contact,
    else a new one kept in a card row without a code."""
    card = db.session.scalar(
        select(InvitationCard).where(InvitationCard.invitation_id == invitation.id)
    )
    if card is not None:
        return _card_secrets(card)[0]
    token = _token_for(invitation)
    db.session.add(InvitationCard(invitation=invitation, token_encrypted=seal(token)))
    return token


def _scope(account: User) -> int | None:
    return account.clinic_id if account.role == Role.MANAGER else None


def _ids(raw: list[str]) -> list[int]:
    ids = []
    for value in raw:
        for part in value.split(","):
            part = part.strip()
            if part:
                if not part.isdigit():
                    abort(400)
                ids.append(int(part))
    if len(ids) > MAX_CARDS:
        abort(400)
    return list(dict.fromkeys(ids))


def _invitations(ids: list[int], account: User) -> list[Invitation]:
    found = {
        invitation.id: invitation
        for invitation in db.session.scalars(select(Invitation).where(Invitation.id.in_(ids)))
    }
    scope = _scope(account)
    chosen = []
    for invitation_id in ids:
        invitation = found.get(invitation_id)
        if invitation is None or (scope is not None and invitation.clinician.clinic_id != scope):
            abort(404)
        chosen.append(invitation)
    return chosen


def _paper() -> str:
    paper = request.values.get("paper", "a4")
    return paper if paper in PAPERS else "a4"


@bp.post("/invitations/cards")
@role_required(*STAFF)
def make():
    """Give the chosen invitations their cards, then show the printable page."""
    account = current_account()
    ids = _ids(request.form.getlist("ids"))
    if not ids:
        return redirect(url_for("invitations.index", notice="Tick the invitations to print."))
    printable = [
        invitation
        for invitation in _invitations(ids, account)
        if invitation.form == "patient"
        and invitation.state in OPEN_STATES
        and not invitation.is_expired()
    ]
    if not printable:
        return redirect(
            url_for("invitations.index", notice="None of the ticked invitations can be printed.")
        )
    for invitation in printable:
        make_card(invitation)
    record_audit(actor_of(account), "invitation.cards", None, invitations=[i.id for i in printable])
    try:
        db.session.commit()
    except IntegrityError:  # two people printed the same card at once: the other one won
        db.session.rollback()
    return redirect(url_for(".sheet", ids=",".join(str(i.id) for i in printable), paper=_paper()))


@bp.get("/invitations/cards")
@role_required(*STAFF)
def sheet():
    """The printable sheet: 8 cards (2 x 4) per A4 or US Letter page."""
    account = current_account()
    ids = _ids(request.args.getlist("ids"))
    code_url = survey_url("").rstrip("/") + "/"
    cards = []
    for invitation in _invitations(ids, account):
        card = db.session.scalar(
            select(InvitationCard).where(InvitationCard.invitation_id == invitation.id)
        )
        if card is None or card.code_hash is None or invitation.state not in OPEN_STATES:
            continue
        token, code = _card_secrets(card)
        url = survey_url(token)
        language = invitation.language or load_bank().language
        sentence, how = card_texts(language, code_url)
        cards.append(
            Card(
                invitation=invitation.id,
                clinic=invitation.clinician.clinic.name,
                url=url,
                code=code,
                qr_svg=qr_svg(url),
                language=language,
                sentence=sentence,
                how=how,
            )
        )
    page = render_template(
        "delivery/cards.html",
        cards=cards,
        sheets=[cards[i : i + 8] for i in range(0, len(cards), 8)],
        paper=_paper(),
        papers=PAPERS,
        ids=",".join(str(i) for i in ids),
        missing=len(ids) - len(cards),
    )
    return page, 200, {"Cache-Control": "no-store"}


@bp.route("/s/", methods=["GET", "POST"])
def enter_code():
    """One input: the code from a card. Throttled per address and for the whole site."""
    if request.method == "GET":
        return render_template("delivery/enter_code.html"), 200, {"Cache-Control": "no-store"}
    if not codes.allow_attempt(request.remote_addr):
        return render_template(
            "delivery/enter_code.html",
            error=gettext("Too many tries. Please wait a minute, or scan the code on your card."),
        ), 429
    normalised = codes.normalise_code(request.form.get("code", ""))
    card = None
    if normalised is not None:
        card = db.session.scalar(
            select(InvitationCard).where(InvitationCard.code_hash == codes.hash_code(normalised))
        )
    if card is None or card.invitation.state not in OPEN_STATES:
        return render_template(
            "delivery/enter_code.html",
            error=gettext(
                "We could not find that code. Check the 10 letters and numbers on your card."
            ),
        ), 404
    return redirect(url_for("respond.welcome", token=_card_secrets(card)[0]))
