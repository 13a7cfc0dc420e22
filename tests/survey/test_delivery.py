"""E-mail delivery against a real SMTP server on localhost: invitations, reminders on the
clinic's schedule, retries, bounces, opt-out, and no address left behind."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from survey.delivery.contacts import attach_contact
from survey.delivery.models import InvitationContact, MessageKind, MessageStatus, OutboxMessage
from survey.delivery.outbox import queue_message
from survey.delivery.sender import send_pending
from survey.extensions import db
from survey.invitations import find_invitation, invite_dyad
from survey.models import Clinic, Invitation, InvitationState, utcnow
from tests.survey.conftest import Respondent, csrf_token

from .mailbox import MailServer

LINK = re.compile(r"http://127\.0\.0\.1:5000/s/[A-Za-z0-9_-]+")
OPTOUT = re.compile(r"http://127\.0\.0\.1:5000/o/\d+/[0-9a-f]+")


@pytest.fixture
def mail(app):
    with MailServer() as server:
        app.config["SMTP_URL"] = server.url
        yield server.mailbox


def _token(url: str) -> str:
    return url.rsplit("/", 1)[-1]


def invite_by_email(app, clinician_id: int, address: str) -> tuple[int, str]:
    """One dyad wave whose patient invitation has an address and a queued message."""
    with app.app_context():
        links = invite_dyad(clinician_id)
        token = _token(links.patient_url)
        invitation = find_invitation(token)
        attach_contact(invitation, token=token, address=address)
        queue_message(invitation, MessageKind.INVITATION)
        db.session.commit()
        return invitation.id, f"http://127.0.0.1:5000/s/{token}"


def send(app, **options):
    with app.app_context():
        return send_pending(**options)


def outbox(app, invitation_id: int) -> list[tuple[str, int, str]]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(OutboxMessage.kind, OutboxMessage.sequence, OutboxMessage.status)
            .where(OutboxMessage.invitation_id == invitation_id)
            .order_by(OutboxMessage.id)
        )
        return [tuple(row) for row in rows]


def all_stored_text(app) -> str:
    """Every row of every table, as text: where an address would show if it were kept."""
    with app.app_context():
        return "\n".join(
            repr(db.session.execute(table.select()).all()) for table in db.metadata.sorted_tables
        )


def test_the_invitation_arrives_with_its_link_and_opt_out(app, clinician_id, mail):
    invitation_id, url = invite_by_email(app, clinician_id, "ana@example.org")
    report = send(app)
    assert report.sent == 1
    [message] = mail.to("ana@example.org")
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert LINK.search(plain)[0] == url and url in html
    assert "Riverside Health" in message["Subject"] and "Dr. Test" in plain
    assert OPTOUT.search(plain) and message["List-Unsubscribe"].strip("<>") in plain
    assert message["Message-ID"].startswith("<healing-survey.")
    assert outbox(app, invitation_id) == [("invitation", 0, "sent")]
    with app.app_context():
        assert db.session.get(Invitation, invitation_id).sent_at is not None


def test_a_second_pass_sends_nothing_again(app, clinician_id, mail):
    invite_by_email(app, clinician_id, "ana@example.org")
    send(app)
    assert send(app).sent == 0
    assert len(mail.to("ana@example.org")) == 1


def test_reminders_follow_the_schedule_and_stop_at_submission(app, client, clinician_id, mail):
    answering, url = invite_by_email(app, clinician_id, "ana@example.org")
    silent, _ = invite_by_email(app, clinician_id, "ben@example.org")
    send(app)
    with app.app_context():
        sent_at = db.session.get(Invitation, silent).sent_at
    assert send(app, now=sent_at + timedelta(days=2)).reminders_queued == 0
    patient = Respondent(client, url.removeprefix("http://127.0.0.1:5000"), "patient")
    patient.answer_all()
    assert patient.submit().status_code == 302
    report = send(app, now=sent_at + timedelta(days=3, minutes=1))
    assert (report.reminders_queued, report.sent) == (1, 1)
    assert send(app, now=sent_at + timedelta(days=7, minutes=1)).sent == 1
    assert send(app, now=sent_at + timedelta(days=20)).sent == 0
    assert [m["Subject"].startswith("Reminder") for m in mail.to("ben@example.org")] == [
        False,
        True,
        True,
    ]
    assert len(mail.to("ana@example.org")) == 1
    assert outbox(app, silent)[1:] == [("reminder", 1, "sent"), ("reminder", 2, "sent")]
    assert outbox(app, answering) == [("invitation", 0, "sent")]


def test_a_sender_that_was_down_sends_one_reminder_not_two(app, clinician_id, mail):
    invitation_id, _ = invite_by_email(app, clinician_id, "ana@example.org")
    send(app)
    with app.app_context():
        sent_at = db.session.get(Invitation, invitation_id).sent_at
    assert send(app, now=sent_at + timedelta(days=10)).sent == 1
    assert outbox(app, invitation_id)[1:] == [("reminder", 2, "sent")]


def test_the_clinics_schedule_is_used(app, clinician_id, mail):
    with app.app_context():
        db.session.scalar(sa.select(Clinic)).reminder_days = ""
        db.session.commit()
    invitation_id, _ = invite_by_email(app, clinician_id, "ana@example.org")
    send(app)
    assert send(app, now=utcnow() + timedelta(days=10)).reminders_queued == 0


def test_a_refused_address_marks_the_invitation_bounced_and_erases_it(app, clinician_id, mail):
    invitation_id, _ = invite_by_email(app, clinician_id, "bounce@example.org")
    report = send(app)
    assert (report.sent, report.bounced) == (0, 1)
    assert outbox(app, invitation_id) == [("invitation", 0, "failed")]
    with app.app_context():
        assert db.session.get(Invitation, invitation_id).bounced_at is not None
    assert "bounce@example.org" not in all_stored_text(app)
    assert send(app, now=utcnow() + timedelta(days=8)).reminders_queued == 0


def test_a_refusal_after_the_last_line_is_not_counted_as_sent(app, clinician_id, mail):
    invitation_id, _ = invite_by_email(app, clinician_id, "refuse-end@example.org")
    report = send(app)
    assert (report.sent, report.bounced) == (0, 1)
    assert outbox(app, invitation_id) == [("invitation", 0, "failed")]
    with app.app_context():
        assert db.session.get(Invitation, invitation_id).bounced_at is not None


def test_a_transient_refusal_is_retried_later(app, clinician_id, mail):
    invitation_id, _ = invite_by_email(app, clinician_id, "later@example.org")
    report = send(app)
    assert (report.sent, report.retried) == (0, 1)
    with app.app_context():
        message = db.session.scalar(sa.select(OutboxMessage))
        assert message.status == MessageStatus.QUEUED and message.attempts == 1
        assert message.due_at > utcnow() + timedelta(seconds=50)
        assert "451" in message.last_error
    assert send(app).retried == 0  # not due yet


def test_no_server_leaves_the_message_queued_untouched(app, clinician_id):
    app.config["SMTP_URL"] = "smtp+plain://127.0.0.1:9"
    invitation_id, _ = invite_by_email(app, clinician_id, "ana@example.org")
    report = send(app)
    assert report.sent == 0 and "cannot reach the SMTP server" in report.errors[0]
    with app.app_context():
        message = db.session.scalar(sa.select(OutboxMessage))
        assert (message.status, message.attempts) == ("queued", 0)


def test_a_sender_dying_before_its_commit_leaves_no_message_and_sends_it_once(
    app, clinician_id, mail, monkeypatch
):
    """The crash window: the body went out without its final line, the row was not committed."""
    import survey.delivery.sender as sender

    invitation_id, _ = invite_by_email(app, clinician_id, "ana@example.org")

    def die_before_commit(message, server, now):
        server.close()  # the process is gone: its connection drops
        raise SystemExit("killed")

    with monkeypatch.context() as patched:
        patched.setattr(sender, "_commit_and_end", die_before_commit)
        with pytest.raises(SystemExit):
            send(app)
    assert mail.to("ana@example.org") == []
    assert outbox(app, invitation_id) == [("invitation", 0, "queued")]
    assert send(app).sent == 1
    assert len(mail.to("ana@example.org")) == 1


def test_a_sender_with_several_workers_sends_each_message_exactly_once(
    app, clinician_id, mail, monkeypatch
):
    """Three SMTP connections at once on PostgreSQL (one on SQLite): each message once."""
    import survey.delivery.sender as sender_module

    monkeypatch.setattr(sender_module, "BATCH_SIZE", 3)
    addresses = [f"patient{i}@example.org" for i in range(20)]
    for address in addresses:
        invite_by_email(app, clinician_id, address)
    report = send(app, workers=3)
    assert report.sent == len(addresses) and report.errors == []
    assert sorted(m["To"] for m in mail.messages) == sorted(addresses)
    assert send(app, workers=3).sent == 0


def test_a_sender_dying_mid_batch_loses_none_and_repeats_none(app, clinician_id, mail, monkeypatch):
    """One batch of six: two sent, the third dies between its body and its commit."""
    import survey.delivery.sender as sender

    addresses = [f"patient{i}@example.org" for i in range(6)]
    for address in addresses:
        invite_by_email(app, clinician_id, address)
    real = sender._commit_and_end
    calls = []

    def die_at_the_third(message, server, now):
        calls.append(message.id)
        if len(calls) == 3:
            server.close()  # the process is gone: its connection drops
            raise SystemExit("killed")
        real(message, server, now)

    with monkeypatch.context() as patched:
        patched.setattr(sender, "_commit_and_end", die_at_the_third)
        with pytest.raises(SystemExit):
            send(app)
    assert sorted(m["To"] for m in mail.messages) == addresses[:2]
    assert send(app).sent == 4
    assert sorted(m["To"] for m in mail.messages) == addresses
    with app.app_context():
        statuses = db.session.scalars(sa.select(OutboxMessage.status)).all()
    assert statuses == ["sent"] * 6


def test_a_message_another_sender_finished_meanwhile_is_not_sent_again(
    app, clinician_id, mail, monkeypatch
):
    """The mark "sent" matches only a queued row: if another sender's mark came first, the body
    already transferred is abandoned (its connection closed before the final line)."""
    import survey.delivery.sender as sender

    invitation_id, _ = invite_by_email(app, clinician_id, "ana@example.org")
    real = sender._transfer_without_end

    def transfer_while_another_finishes(server, *args):
        real(server, *args)
        db.session.execute(sa.update(OutboxMessage).values(status=MessageStatus.SENT))
        db.session.commit()

    with monkeypatch.context() as patched:
        patched.setattr(sender, "_transfer_without_end", transfer_while_another_finishes)
        report = send(app)
    assert report.sent == 0 and mail.messages == []
    assert outbox(app, invitation_id) == [("invitation", 0, "sent")]
    assert send(app).sent == 0 and mail.messages == []


def test_nothing_goes_to_a_revoked_or_expired_invitation(app, clinician_id, mail):
    revoked, _ = invite_by_email(app, clinician_id, "ana@example.org")
    expired, _ = invite_by_email(app, clinician_id, "ben@example.org")
    with app.app_context():
        db.session.get(Invitation, revoked).state = InvitationState.REVOKED
        db.session.get(Invitation, expired).expires_at = utcnow() - timedelta(minutes=1)
        db.session.commit()
    report = send(app)
    assert report.sent == 0 and mail.messages == []
    assert outbox(app, revoked) == [("invitation", 0, "cancelled")]
    assert "ana@example.org" not in all_stored_text(app)
    assert "ben@example.org" not in all_stored_text(app)


def _optout_url(mail, address):
    [message] = mail.to(address)
    return OPTOUT.search(message.get_body(("plain",)).get_content())[0]


def test_opting_out_from_the_message_stops_reminders_without_signing_in(
    app, client, mail, clinician_id
):
    invitation_id, survey_url = invite_by_email(app, clinician_id, "ana@example.org")
    send(app)
    path = _optout_url(mail, "ana@example.org").removeprefix("http://127.0.0.1:5000")
    page = client.get(path)
    assert page.status_code == 200 and "Yes, stop the e-mails" in page.text
    assert client.post(path).status_code == 200  # one-click: no session, no CSRF token
    with app.app_context():
        assert db.session.get(Invitation, invitation_id).opted_out_at is not None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(InvitationContact)) == 0
    assert "ana@example.org" not in all_stored_text(app)
    assert send(app, now=utcnow() + timedelta(days=8)).reminders_queued == 0
    assert client.get(survey_url.removeprefix("http://127.0.0.1:5000")).status_code == 200


def test_a_forged_opt_out_link_does_nothing(app, client, clinician_id, mail):
    invitation_id, _ = invite_by_email(app, clinician_id, "ana@example.org")
    assert client.post(f"/o/{invitation_id}/{'0' * 22}").status_code == 404
    assert client.post(f"/o/{invitation_id + 99}/{'0' * 22}").status_code == 404
    with app.app_context():
        assert db.session.get(Invitation, invitation_id).opted_out_at is None


def test_send_without_smtp_says_email_is_off(runner):
    result = runner.invoke(args=["send"])
    assert result.exit_code == 1
    assert "e-mail is off: set SMTP_URL" in result.output
    assert "Traceback" not in result.output


def test_the_send_command_reports_what_it_did(app, runner, clinician_id, mail):
    invite_by_email(app, clinician_id, "ana@example.org")
    result = runner.invoke(args=["send"])
    assert result.exit_code == 0, result.output
    assert "sent 1," in result.output


def test_two_senders_at_once_send_each_message_exactly_once(app, clinician_id, mail, monkeypatch):
    """Small batches, so that the two senders' claims and re-locks interleave many times."""
    import survey.delivery.sender as sender_module

    monkeypatch.setattr(sender_module, "BATCH_SIZE", 4)
    addresses = [f"patient{i}@example.org" for i in range(30)]
    for address in addresses:
        invite_by_email(app, clinician_id, address)
    reports = []
    start = threading.Barrier(2)

    def sender():
        start.wait()
        reports.append(send(app))

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(report.sent for report in reports) == len(addresses)
    assert sorted(m["To"] for m in mail.messages) == sorted(addresses)
    ids = [m["Message-ID"] for m in mail.messages]
    assert len(set(ids)) == len(ids)


def test_no_address_is_left_anywhere_once_every_invitation_closed(
    app, client, clinician_id, mail, caplog
):
    _, answered_url = invite_by_email(app, clinician_id, "ana@example.org")
    invite_by_email(app, clinician_id, "ben@example.org")
    send(app)
    patient = Respondent(client, answered_url.removeprefix("http://127.0.0.1:5000"), "patient")
    patient.answer_all()
    patient.submit()
    path = _optout_url(mail, "ben@example.org").removeprefix("http://127.0.0.1:5000")
    client.post(path)
    stored = all_stored_text(app)
    for address in ("ana@example.org", "ben@example.org"):
        assert address not in stored
        assert address not in caplog.text
    assert csrf_token  # the respondent helper posted with real CSRF tokens
