"""Each clinic's retention rule: what is past it is listed, then deleted or kept only
de-identified, in audited batches; the dashboards keep working on what is left."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from survey.audit.chain import verify_chain
from survey.extensions import db
from survey.models import Answer, AuditEvent, Clinic, Dyad, Invitation, Response, Wave
from survey.operations import OperationError
from survey.operations.retention import apply_retention, due_for_retention, set_retention

from .dashboard_seed import START, seed_clinic
from .staff import add_user, sign_in

# Ten years after the third week of submissions: weeks 0, 1 and 2 are past a 10-year rule.
NOW = datetime(START.year + 10, START.month, START.day, tzinfo=UTC) + timedelta(days=17)


@pytest.fixture
def clinics(app):
    with app.app_context():
        old = seed_clinic("Old Clinic", [3, 3], unsubmitted=1)
        kept = seed_clinic("Keeping Clinic", [2], seed=2)
        set_retention("Keeping Clinic", years=20, mode="delete")
        add_user("admin@example.org", "admin")
        db.session.commit()
        return old, kept


def _count(model, *where) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def _by_name(records):
    return {r.clinic: r for r in records}


def test_listing_counts_what_is_past_each_clinics_period(app, clinics):
    with app.app_context():
        due = _by_name(due_for_retention(NOW))
    old = due["Old Clinic"]
    assert (old.years, old.mode, old.responses, old.invitations) == (10, "delete", 6, 1)
    # Three dyads answered in weeks 0-2, and the dyad of the unanswered invitation.
    assert old.dyads == 4
    assert old.oldest == START.date().isoformat()
    kept = due["Keeping Clinic"]
    assert (kept.responses, kept.dyads, kept.invitations, kept.oldest) == (0, 0, 0, None)


def test_apply_deletes_in_audited_batches_and_dashboards_still_work(app, clinics, client):
    old, _ = clinics
    with app.app_context():
        before = _count(Response)
        done = _by_name(apply_retention(NOW, batch_size=4))
        assert done["Old Clinic"].responses == 6
        assert done["Old Clinic"].invitations == 7
        assert done["Old Clinic"].dyads == 4
        assert _count(Response) == before - 6
        assert _count(Answer, ~Answer.response_id.in_(sa.select(Response.id))) == 0
        assert _count(Invitation, ~Invitation.wave_id.in_(sa.select(Wave.id))) == 0
        assert _count(Wave, ~Wave.dyad_id.in_(sa.select(Dyad.id))) == 0
        old_left = db.session.scalars(
            sa.select(Response.submitted_at)
            .join(Invitation)
            .where(Invitation.clinician_id.in_(old.clinician_ids))
        ).all()
        assert len(old_left) == 6
        assert min(old_left) >= NOW.replace(year=NOW.year - 10)
        entries = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "retention.delete")
        ).all()
        assert len(entries) >= 2
        assert all(e.target == f"clinic:{old.clinic_id}" for e in entries)
        assert sum(e.detail.get("responses", 0) for e in entries) == 6
        assert max(e.detail.get("responses", 0) for e in entries) <= 4
        assert verify_chain().intact
        assert _by_name(due_for_retention(NOW))["Old Clinic"].responses == 0
    sign_in(client, "admin@example.org")
    assert client.get(f"/dashboard/clinics/{old.clinic_id}").status_code == 200
    assert client.get(f"/dashboard/clinics/{old.clinic_id}/comparison").status_code == 200
    assert client.get(f"/dashboard/clinicians/{old.clinician_ids[0]}").status_code == 200


def test_deidentify_keeps_answers_without_reference_and_with_the_year_only(app, clinics, client):
    old, _ = clinics
    with app.app_context():
        set_retention("Old Clinic", years=10, mode="deidentify")
        answers_before = _count(Answer)
        done = _by_name(apply_retention(NOW))
        assert done["Old Clinic"].responses == 6
        assert _count(Answer) == answers_before
        kept = db.session.scalars(
            sa.select(Response).where(Response.deidentified_at.is_not(None))
        ).all()
        assert len(kept) == 6
        for response in kept:
            assert response.submitted_at == datetime(START.year, 1, 1, tzinfo=UTC)
            assert response.started_at == datetime(START.year, 1, 1, tzinfo=UTC)
            assert response.invitation.created_at.month == 1
            assert response.invitation.wave.dyad.reference is None
        assert _count(Dyad, Dyad.reference.is_(None)) == 3
        again = _by_name(due_for_retention(NOW))["Old Clinic"]
        assert (again.responses, again.dyads, again.invitations) == (0, 0, 0)
        assert _count(AuditEvent, AuditEvent.action == "retention.deidentify") >= 1
    sign_in(client, "admin@example.org")
    assert client.get(f"/dashboard/clinics/{old.clinic_id}").status_code == 200


def test_set_retention_is_checked_and_audited(app, clinics):
    with app.app_context():
        with pytest.raises(OperationError, match="--years 0: a retention period is 1 to 100"):
            set_retention("Old Clinic", years=0, mode="delete")
        with pytest.raises(OperationError, match="no clinic named 'Nowhere'"):
            set_retention("Nowhere", years=5, mode="delete")
        set_retention("Old Clinic", years=7, mode="deidentify")
        clinic = db.session.scalar(sa.select(Clinic).where(Clinic.name == "Old Clinic"))
        assert (clinic.retention_years, clinic.retention_mode) == (7, "deidentify")
        entry = db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == "clinic.retention")
            .order_by(AuditEvent.seq.desc())
        ).first()
        assert entry.detail["before"] == {"years": 10, "mode": "delete"}


def test_cli_lists_applies_and_sets(app, clinics, runner):
    result = runner.invoke(
        args=["clinic", "set-retention", "Old Clinic", "--years", "1", "--mode", "delete"]
    )
    assert result.exit_code == 0 and "Old Clinic: keep 1 year, then delete" in result.output
    result = runner.invoke(args=["retention", "--json"])
    records = {r["clinic"]: r for r in json.loads(result.output)}
    assert records["Old Clinic"]["responses"] == 12
    result = runner.invoke(args=["retention"])
    assert "Old Clinic (1 year, then delete" in result.output
    result = runner.invoke(args=["retention", "--apply", "--clinic", "Old Clinic"])
    assert result.exit_code == 0 and "deleted 12 responses" in result.output
    result = runner.invoke(args=["retention", "--apply", "--clinic", "Nowhere"])
    assert result.exit_code == 1 and "no clinic named 'Nowhere'" in result.output
    result = runner.invoke(
        args=["clinic", "set-retention", "Old Clinic", "--years", "0", "--mode", "delete"]
    )
    assert result.exit_code == 1 and "a retention period is 1 to 100 years" in result.output
