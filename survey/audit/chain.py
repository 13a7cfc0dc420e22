"""The audit log as a hash chain: each entry stores sha256(previous hash + its own fields).

Editing an entry changes its hash; deleting one breaks the link of the next; deleting the newest
ones leaves the chain head (``audit_chain_head``) pointing past the last entry. Links are filled
in when an entry is flushed, under a lock on the head row, so concurrent writers (several app
processes on PostgreSQL) append one after another and never fork the chain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy import event, inspect, select, text
from sqlalchemy.orm import Session

from survey.extensions import db
from survey.models import AuditChainHead, AuditEvent, utcnow

GENESIS = "0" * 64
HEAD_ID = 1
# The verifier reads the log in pages so that a long log never sits in memory at once.
VERIFY_PAGE = 2000


def canonical_fields(
    *,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    target: str | None,
    detail: dict | None,
    note: str | None,
) -> bytes:
    """The bytes an entry's hash covers: its fields as compact JSON with sorted keys.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> canonical_fields(seq=1, at=datetime(2026, 1, 2, tzinfo=UTC), actor="cli",
    ...                  action="clinic.create", target="clinic:1", detail=None, note=None)
    b'{"action":"clinic.create","actor":"cli","at":"2026-01-02T00:00:00.000000+00:00",\
"detail":null,"note":null,"seq":1,"target":"clinic:1"}'
    """
    fields = {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "target": target,
        "detail": detail,
        "note": note,
    }
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def link_hash(previous: str, entry: AuditEvent) -> str:
    """The hash ``entry`` must carry when it follows an entry whose hash is ``previous``.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> entry = AuditEvent(seq=1, at=datetime(2026, 1, 2, tzinfo=UTC), actor="cli",
    ...                    action="clinic.create", target="clinic:1")
    >>> link_hash(GENESIS, entry)[:16]
    'd4d9e1f73dabec0e'
    """
    body = canonical_fields(
        seq=entry.seq,
        at=entry.at,
        actor=entry.actor,
        action=entry.action,
        target=entry.target,
        detail=entry.detail,
        note=entry.note,
    )
    return hashlib.sha256(previous.encode("ascii") + body).hexdigest()


def _lock_head(session: Session) -> tuple[int, str]:
    """Lock the head row for the rest of the transaction and return (seq, hash) of the last link.

    An UPDATE takes the row lock on PostgreSQL and the database's write lock on SQLite (where
    the driver begins the transaction before it), so the head read next is the latest one.
    """
    connection = session.connection()
    touch = text("UPDATE audit_chain_head SET seq = seq WHERE id = :id")
    if connection.execute(touch, {"id": HEAD_ID}).rowcount == 0:
        # Only on a database whose tables were emptied or built without the migration.
        connection.execute(
            text(
                "INSERT INTO audit_chain_head (id, seq, hash) VALUES (:id, 0, :hash) "
                "ON CONFLICT DO NOTHING"
            ),
            {"id": HEAD_ID, "hash": GENESIS},
        )
        connection.execute(touch, {"id": HEAD_ID})
    row = connection.execute(
        text("SELECT seq, hash FROM audit_chain_head WHERE id = :id"), {"id": HEAD_ID}
    ).one()
    return row.seq, row.hash


def _link_new_entries(session: Session, _flush_context, _instances) -> None:
    new_entries = [obj for obj in session.new if isinstance(obj, AuditEvent)]
    if not new_entries:
        return
    new_entries.sort(key=lambda entry: inspect(entry).insert_order or 0)
    seq, previous = _lock_head(session)
    for entry in new_entries:
        seq += 1
        entry.seq = seq
        entry.at = (entry.at or utcnow()).astimezone(UTC)
        entry.hash = previous = link_hash(previous, entry)
    session.connection().execute(
        text("UPDATE audit_chain_head SET seq = :seq, hash = :hash WHERE id = :id"),
        {"seq": seq, "hash": previous, "id": HEAD_ID},
    )


def register_audit_chain() -> None:
    """Link every new audit entry into the chain when it is flushed (idempotent)."""
    if not event.contains(db.session, "before_flush", _link_new_entries):
        event.listen(db.session, "before_flush", _link_new_entries)


@dataclass(frozen=True)
class BrokenLink:
    """The first entry whose link does not hold, and why."""

    id: int | None
    seq: int | None
    at: str | None
    action: str | None
    reason: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class ChainReport:
    """The outcome of ``verify_chain``: how many entries were checked and the first break."""

    entries: int
    head_seq: int
    head_hash: str
    broken: BrokenLink | None

    @property
    def intact(self) -> bool:
        return self.broken is None

    def to_dict(self) -> dict:
        return {
            "intact": self.intact,
            "entries": self.entries,
            "head_seq": self.head_seq,
            "head_hash": self.head_hash,
            "broken": None if self.broken is None else self.broken.to_dict(),
        }


def _broken(entry: AuditEvent, reason: str) -> BrokenLink:
    return BrokenLink(
        id=entry.id,
        seq=entry.seq,
        at=entry.at.astimezone(UTC).isoformat(timespec="seconds"),
        action=entry.action,
        reason=reason,
    )


def _entries_in_order():
    last_seq = None
    while True:
        query = select(AuditEvent).order_by(AuditEvent.seq).limit(VERIFY_PAGE)
        if last_seq is not None:
            query = query.where(AuditEvent.seq > last_seq)
        page = db.session.scalars(query).all()
        yield from page
        if len(page) < VERIFY_PAGE:
            return
        last_seq = page[-1].seq
        db.session.expunge_all()


def verify_chain() -> ChainReport:
    """Walk the audit log in chain order and report the first entry whose link is broken."""
    seq, previous, count = 0, GENESIS, 0
    for entry in _entries_in_order():
        if entry.seq != seq + 1:
            return ChainReport(
                count,
                seq,
                previous,
                _broken(entry, f"entries {seq + 1} to {entry.seq - 1} of the chain are missing"),
            )
        if link_hash(previous, entry) != entry.hash:
            return ChainReport(
                count,
                seq,
                previous,
                _broken(entry, "its hash does not match its fields and the entry before it"),
            )
        seq, previous, count = entry.seq, entry.hash, count + 1
    head = db.session.get(AuditChainHead, HEAD_ID)
    head_seq, head_hash = (0, GENESIS) if head is None else (head.seq, head.hash)
    if (head_seq, head_hash) != (seq, previous):
        reason = (
            f"the chain head records entry {head_seq}, but the log ends at entry {seq}: "
            "the newest entries were deleted or the head was changed"
        )
        return ChainReport(
            count,
            seq,
            previous,
            BrokenLink(id=None, seq=head_seq, at=None, action=None, reason=reason),
        )
    return ChainReport(count, seq, previous, None)
