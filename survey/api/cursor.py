"""Opaque page cursors for ``/api/v1/responses``.

The page after a response is found by its internal row id, but a de-identified row must not
be linkable to that id. The cursor is the id encrypted and authenticated with keys derived from
``SECRET_KEY`` (HMAC-SHA256 as the keystream and as the tag, encrypt-then-MAC, a random nonce
per cursor): it reveals nothing, and a changed or made-up cursor is refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets

_NONCE_BYTES = 12
_ID_BYTES = 8
_TAG_BYTES = 16
_LENGTH = _NONCE_BYTES + _ID_BYTES + _TAG_BYTES


class CursorError(ValueError):
    """A cursor this server did not issue for this listing."""


def _key(secret_key: str, purpose: str) -> bytes:
    return hmac.new(secret_key.encode(), f"api-cursor:{purpose}".encode(), hashlib.sha256).digest()


def _tag(secret_key: str, scope: str, body: bytes) -> bytes:
    message = scope.encode() + b"\x00" + body
    return hmac.new(_key(secret_key, "mac"), message, hashlib.sha256).digest()[:_TAG_BYTES]


def _keystream(secret_key: str, nonce: bytes) -> bytes:
    return hmac.new(_key(secret_key, "enc"), nonce, hashlib.sha256).digest()[:_ID_BYTES]


def encode_cursor(last_id: int, *, scope: str, secret_key: str) -> str:
    """An opaque cursor for the page after ``last_id`` of the listing named ``scope``.

    Examples
    --------
    >>> cursor = encode_cursor(42, scope="responses:patient", secret_key="k")
    >>> len(cursor)
    48
    >>> decode_cursor(cursor, scope="responses:patient", secret_key="k")
    42
    >>> decode_cursor(cursor, scope="responses:clinician-dyad", secret_key="k")
    ... # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    CursorError: the cursor is not one this API gave out for this listing
    """
    nonce = secrets.token_bytes(_NONCE_BYTES)
    plain = last_id.to_bytes(_ID_BYTES, "big")
    sealed = bytes(a ^ b for a, b in zip(plain, _keystream(secret_key, nonce), strict=True))
    body = nonce + sealed
    return base64.urlsafe_b64encode(body + _tag(secret_key, scope, body)).decode()


def decode_cursor(cursor: str, *, scope: str, secret_key: str) -> int:
    """The id a cursor from :func:`encode_cursor` stands for; ``CursorError`` otherwise."""
    try:
        raw = base64.urlsafe_b64decode(cursor.encode("ascii"))
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raw = b""
    if len(raw) != _LENGTH:
        raise CursorError(f"cursor {cursor[:60]!r} is not one this API gave out")
    body, tag = raw[:-_TAG_BYTES], raw[-_TAG_BYTES:]
    if not hmac.compare_digest(tag, _tag(secret_key, scope, body)):
        raise CursorError(f"cursor {cursor[:60]!r} is not one this API gave out for this listing")
    nonce, sealed = body[:_NONCE_BYTES], body[_NONCE_BYTES:]
    plain = bytes(a ^ b for a, b in zip(sealed, _keystream(secret_key, nonce), strict=True))
    return int.from_bytes(plain, "big")
