"""Response rates: what each count means, that no two views differ by a few patients, and the
dashboard shows them."""

from datetime import timedelta

import sqlalchemy as sa

from survey.aggregates import clinic_summary
from survey.delivery.models import MessageKind, MessageStatus, OutboxMessage
from survey.delivery.rates import response_rates
from survey.extensions import db
from survey.invitations import invite_dyad
from survey.models import Clinic, Clinician, Invitation, InvitationState, utcnow


def _clinic(app, invitations_per_clinician=(12, 7)) -> tuple[int, list[int]]:
    with app.app_context():
        clinic = Clinic(name="Northside")
        clinicians = [Clinician(clinic=clinic, name=f"Dr. {i}") for i in range(2)]
        db.session.add_all([clinic, *clinicians])
        db.session.commit()
        for clinician, n in zip(clinicians, invitations_per_clinician, strict=True):
            for _ in range(n):
                invite_dyad(clinician.id, reference=None)
        return clinic.id, [c.id for c in clinicians]


def _patient_invitations(clinician_id):
    query = sa.select(Invitation).where(
        Invitation.clinician_id == clinician_id, Invitation.form == "patient"
    )
    return list(db.session.scalars(query.order_by(Invitation.id)))


def test_each_stage_counts_what_it_says(app):
    clinic_id, (first, second) = _clinic(app, (15, 5))
    with app.app_context():
        invitations = _patient_invitations(first)
        for invitation in invitations[:10]:
            invitation.state = InvitationState.SUBMITTED
        for invitation in invitations[10:15]:
            invitation.opted_out_at = utcnow()
            invitation.bounced_at = utcnow()
            db.session.add(
                OutboxMessage(
                    invitation=invitation,
                    kind=MessageKind.REMINDER,
                    sequence=1,
                    status=MessageStatus.SENT,
                )
            )
        db.session.commit()
        rates = response_rates(clinic_id, [first, second], min_cell=5)
    assert rates["clinicians"][first] == {
        "invited": 15,
        "reminded": 5,
        "responded": 10,
        "bounced": 5,
        "opted_out": 5,
        "response_rate": 10 / 15,
    }
    assert rates["clinicians"][second]["invited"] == 5
    assert rates["clinic"]["invited"] == 20 and rates["clinic"]["responded"] == 10


def test_one_more_answer_moves_no_count_by_less_than_min_cell(app):
    clinic_id, clinicians = _clinic(app, (12, 7))
    first = clinicians[0]
    shown = []
    with app.app_context():
        for invitation in _patient_invitations(first):
            invitation.state = InvitationState.SUBMITTED
            db.session.commit()
            shown.append(response_rates(clinic_id, clinicians, min_cell=5))
    for before, after in zip(shown, shown[1:], strict=False):
        assert after["clinic"]["responded"] - before["clinic"]["responded"] in (0, 5)
        mine_before = before["clinicians"][first]["responded"]
        assert after["clinicians"][first]["responded"] - mine_before in (0, 5)
    assert shown[-1]["clinicians"][first]["responded"] == 10


def test_date_windows_select_invitations_by_creation(app):
    clinic_id, clinicians = _clinic(app, (10, 0))
    first = clinicians[0]
    with app.app_context():
        for invitation in _patient_invitations(first)[:5]:
            invitation.created_at = utcnow() - timedelta(days=60)
        db.session.commit()
        recent = response_rates(
            clinic_id, clinicians, min_cell=5, start=utcnow() - timedelta(days=30)
        )
        everything = response_rates(clinic_id, clinicians, min_cell=5)
    assert recent["clinicians"][first]["invited"] == 5
    assert everything["clinicians"][first]["invited"] == 10
    assert everything["clinicians"][clinicians[1]]["invited"] == 0


def test_the_clinic_dashboard_carries_the_rates_in_page_order(app):
    clinic_id, (first, second) = _clinic(app, (10, 5))
    with app.app_context():
        for invitation in _patient_invitations(first)[:5]:
            invitation.state = InvitationState.SUBMITTED
        db.session.commit()
        summary = clinic_summary(clinic_id, min_cell=5)
    rates = summary["response_rates"]
    assert [r["invited"] for r in rates["clinicians"]] == [10, 5]
    assert rates["clinicians"][0]["response_rate"] == 0.5
    assert rates["clinic"] == {
        "invited": 15,
        "reminded": 0,
        "responded": 5,
        "bounced": 0,
        "opted_out": 0,
        "response_rate": 5 / 15,
    }
