"""Reading the audit log: filters from a request, one page of entries, and the CSV export."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from flask_babel import gettext
from sqlalchemy import Select, func, select

from survey.extensions import db
from survey.models import AuditEvent

PAGE_SIZE = 50
CSV_COLUMNS = ("seq", "id", "at", "actor", "action", "target", "detail", "note", "hash")
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class AuditFilterError(ValueError):
    """A filter of the audit log page that cannot be used; the message names the value."""


@dataclass(frozen=True)
class AuditFilters:
    action: str | None = None
    actor: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1

    def query_args(self) -> dict:
        """The filters as query-string arguments (without the page), for links."""
        return {
            key: value.isoformat() if isinstance(value, date) else value
            for key, value in (
                ("action", self.action),
                ("actor", self.actor),
                ("from", self.date_from),
                ("to", self.date_to),
            )
            if value
        }


def _date(raw: str | None, name: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise AuditFilterError(
            gettext("%(name)s=%(value)s is not a date like 2026-12-01", name=name, value=repr(raw))
        ) from None


def parse_audit_filters(args: Mapping[str, str]) -> AuditFilters:
    """Read the page's filters; ``AuditFilterError`` names the first one that is not usable.

    Examples
    --------
    >>> parse_audit_filters({"action": "export", "from": "2026-01-01", "page": "2"})
    AuditFilters(action='export', actor=None, date_from=datetime.date(2026, 1, 1), \
date_to=None, page=2)
    """
    page_raw = args.get("page") or "1"
    if not page_raw.isdigit() or int(page_raw) < 1:
        raise AuditFilterError(
            gettext("page=%(value)s is not a page number (1, 2, ...)", value=repr(page_raw))
        )
    filters = AuditFilters(
        action=(args.get("action") or "").strip()[:64] or None,
        actor=(args.get("actor") or "").strip()[:200] or None,
        date_from=_date(args.get("from"), "from"),
        date_to=_date(args.get("to"), "to"),
        page=int(page_raw),
    )
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        raise AuditFilterError(
            gettext(
                "from=%(start)s is after to=%(end)s; swap the dates",
                start=filters.date_from,
                end=filters.date_to,
            )
        )
    return filters


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def filtered(filters: AuditFilters) -> Select:
    """Audit entries matching the filters, newest first (the dates are whole UTC days)."""
    query = select(AuditEvent)
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    if filters.actor:
        query = query.where(AuditEvent.actor == filters.actor)
    if filters.date_from:
        query = query.where(AuditEvent.at >= _start_of(filters.date_from))
    if filters.date_to:
        query = query.where(AuditEvent.at < _start_of(filters.date_to + timedelta(days=1)))
    return query.order_by(AuditEvent.seq.desc())


def count(filters: AuditFilters) -> int:
    return db.session.scalar(select(func.count()).select_from(filtered(filters).subquery())) or 0


def page_of(filters: AuditFilters) -> list[AuditEvent]:
    offset = (filters.page - 1) * PAGE_SIZE
    return list(db.session.scalars(filtered(filters).limit(PAGE_SIZE).offset(offset)))


def known_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).distinct().order_by("action")))


def detail_text(entry: AuditEvent) -> str:
    if entry.detail is None:
        return ""
    return json.dumps(entry.detail, sort_keys=True, ensure_ascii=False)


def _safe(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_lines(filters: AuditFilters, *, chunk_size: int = 1000) -> Iterator[str]:
    """The matching entries as CSV text, a chunk of rows at a time (oldest first)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    query = filtered(filters).order_by(None).order_by(AuditEvent.seq)
    for entry in db.session.scalars(query.execution_options(yield_per=chunk_size)):
        writer.writerow(
            [
                entry.seq,
                entry.id,
                entry.at.astimezone(UTC).isoformat(timespec="seconds"),
                _safe(entry.actor),
                _safe(entry.action),
                _safe(entry.target or ""),
                _safe(detail_text(entry)),
                _safe(entry.note or ""),
                entry.hash,
            ]
        )
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
