"""What consent and withdrawal store: versioned information texts per clinic and form, and
counts of declines and withdrawals, never who declined or withdrew."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    insert,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.extensions import db
from survey.models import Clinic, UTCDateTime, utcnow


class ConsentText(db.Model):
    """One version of a clinic's information page for one form; a change adds a version.

    ``texts`` holds, per language (``en``, ``es``), a ``title``, the ``information`` and, when
    ``ask_consent``, the consent ``question``. Rows are never changed after they are written, so
    a response's ``consent_text_id`` always names the words that respondent read.
    """

    __tablename__ = "consent_text"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), index=True)
    form: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    show_information: Mapped[bool] = mapped_column(default=True)
    ask_consent: Mapped[bool] = mapped_column(default=False)
    texts: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))

    clinic: Mapped[Clinic] = relationship()

    __table_args__ = (
        UniqueConstraint("clinic_id", "form", "version"),
        CheckConstraint("version >= 1", name="consent_version_positive"),
        CheckConstraint(
            "form IN ('patient', 'clinician-dyad', 'clinician-self')", name="known_consent_form"
        ),
        CheckConstraint("show_information OR NOT ask_consent", name="question_needs_page"),
    )


class ConsentDeclineCount(db.Model):
    """How many respondents declined one version's consent question; nothing else is kept."""

    __tablename__ = "consent_decline_count"

    consent_text_id: Mapped[int] = mapped_column(ForeignKey("consent_text.id"), primary_key=True)
    declines: Mapped[int] = mapped_column(Integer, default=0)


class WithdrawalCount(db.Model):
    """How many responses to one clinic's form were withdrawn (and deleted)."""

    __tablename__ = "withdrawal_count"

    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id"), primary_key=True)
    form: Mapped[str] = mapped_column(String(32), primary_key=True)
    withdrawals: Mapped[int] = mapped_column(Integer, default=0)


def add_one(model: type[db.Model], counter: str, **key) -> None:
    """Add one to ``model``'s ``counter`` in the row named by ``key``, creating the row at 1,
    atomically under concurrent requests (the caller commits)."""
    column = getattr(model, counter)
    added = db.session.execute(
        update(model)
        .where(*(getattr(model, name) == value for name, value in key.items()))
        .values({counter: column + 1})
        .execution_options(synchronize_session=False)
    )
    if added.rowcount == 1:
        return
    try:
        with db.session.begin_nested():
            db.session.execute(insert(model).values(**key, **{counter: 1}))
    except IntegrityError:
        # Another request created the row first: count on it.
        add_one(model, counter, **key)
