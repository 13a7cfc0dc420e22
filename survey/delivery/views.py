"""Opting out of messages, from the link in every message, without signing in.

``GET /o/<invitation>/<signature>`` asks for a confirmation (mail scanners follow links; they do
not press buttons); ``POST`` opts out, as does the one-click ``List-Unsubscribe-Post`` that mail
programs send. Opting out stops every message of that invitation and erases its address; the
survey link itself keeps working for a patient who still wants to answer.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, abort, current_app, render_template, request

from survey.delivery.contacts import erase_contact
from survey.delivery.messages import optout_signature
from survey.extensions import csrf, db
from survey.models import Invitation, record_audit, utcnow

bp = Blueprint("delivery", __name__)


def _invitation(invitation_id: int, signature: str) -> Invitation:
    expected = optout_signature(current_app.config["SECRET_KEY"], invitation_id)
    if not hmac.compare_digest(expected, signature):
        abort(404)
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None:
        abort(404)
    return invitation


@bp.get("/o/<int:invitation_id>/<signature>")
def optout_page(invitation_id: int, signature: str):
    invitation = _invitation(invitation_id, signature)
    return render_template(
        "delivery/optout.html", done=invitation.opted_out_at is not None, action=request.path
    )


# The signature in the path is what authorises this post; mail programs' one-click unsubscribe
# cannot carry a CSRF token.
@bp.post("/o/<int:invitation_id>/<signature>")
@csrf.exempt
def optout(invitation_id: int, signature: str):
    invitation = _invitation(invitation_id, signature)
    if invitation.opted_out_at is None:
        invitation.opted_out_at = utcnow()
        erase_contact(invitation.id)
        record_audit("respondent", "invitation.opt_out", f"invitation:{invitation.id}")
        db.session.commit()
    return render_template("delivery/optout.html", done=True, action=request.path)
