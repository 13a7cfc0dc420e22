"""Two submissions of the same invitation at once give exactly one submitted response."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from items import SKIPPED
from survey.extensions import db
from survey.models import Answer, AuditEvent, Response
from survey.respond import flow

from .conftest import Respondent, csrf_token


def test_simultaneous_submissions_store_exactly_one_response(app, dyad_links, monkeypatch):
    first = Respondent(app.test_client(), dyad_links.patient_url, "patient")
    first.answer_all()
    second = Respondent(app.test_client(), dyad_links.patient_url, "patient")
    clients = [first, second]
    tokens = [csrf_token(r.client.get(f"{r.url}/review").text) for r in clients]
    barrier = threading.Barrier(len(clients), timeout=30)
    statuses: list[int] = []
    real_check_open = flow.check_open

    def check_open_together(invitation):
        # Both requests pass the "still open?" check before either claims the invitation,
        # so only the claim itself can stop the second submission.
        real_check_open(invitation)
        barrier.wait()

    monkeypatch.setattr(flow, "check_open", check_open_together)

    def send(respondent: Respondent, token: str) -> None:
        response = respondent.client.post(f"{respondent.url}/submit", data={"csrf_token": token})
        statuses.append(response.status_code)

    threads = [
        threading.Thread(target=send, args=pair) for pair in zip(clients, tokens, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [302, 409]
    with app.app_context():
        submitted = db.session.scalar(
            select(func.count()).select_from(Response).where(Response.submitted_at.is_not(None))
        )
        assert submitted == 1
        n_items = len(first.form.items)
        assert db.session.scalar(select(func.count()).select_from(Answer)) == n_items
        assert (
            db.session.scalar(
                select(func.count()).select_from(Answer).where(Answer.code == SKIPPED)
            )
            == 0
        )
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "response.submit")
        ).all()
        assert len(events) == 1
