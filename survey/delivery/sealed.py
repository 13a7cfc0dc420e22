"""Text kept encrypted with the contact key (``HEALING_SURVEY_CONTACT_KEY``, Fernet): a card's
link token, an uploaded appointment list between its preview and its confirmation."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


class SealError(ValueError):
    """Sealed text that cannot be opened: another key, altered, or older than allowed."""


def seal(text: str) -> str:
    return Fernet(current_app.config["HEALING_SURVEY_CONTACT_KEY"]).encrypt(text.encode()).decode()


def unseal(sealed: str, *, max_age_seconds: int | None = None) -> str:
    try:
        return (
            Fernet(current_app.config["HEALING_SURVEY_CONTACT_KEY"])
            .decrypt(sealed.encode(), ttl=max_age_seconds)
            .decode()
        )
    except InvalidToken:
        raise SealError(
            "stored text cannot be decrypted: HEALING_SURVEY_CONTACT_KEY changed, or it expired"
        ) from None
