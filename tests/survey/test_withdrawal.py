"""Withdrawal from the patient's own link: the page, the confirmation, the deletion of the
response and its answers with only a count kept, the end of the period, the clinic's period
in the release rule, and an attacker's view of every number before and after withdrawals."""

from __future__ import annotations

from datetime import timedelta

import pytest
from babel.dates import format_date
from sqlalchemy import func, select

from survey.aggregates import cell_members, clinic_summary, comparison_summary
from survey.consent import withdrawal
from survey.consent.models import WithdrawalCount
from survey.extensions import db
from survey.invitations import find_invitation
from survey.models import Answer, AuditEvent, Clinic, Invitation, Response, Wave, utcnow
from survey.release import release_blocks

from .conftest import csrf_token
from .privacy_clinic import apply, build_clinic
from .staff import add_user, sign_in
from .test_differencing import all_selections, http_counts, month_date, safe
from .test_release import dyad_wave, invitation_of, new_clinic
from .test_respond import token_of


def submitted(patient) -> None:
    patient.open()
    patient.answer_all()
    assert patient.submit().status_code == 302


def rows(app, model, **where) -> int:
    with app.app_context():
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return db.session.scalar(query)


def test_a_patient_withdraws_with_one_page_and_a_confirmation(app, patient):
    submitted(patient)
    with app.app_context():
        invitation = find_invitation(token_of(patient.url))
        response_id, clinic_id = invitation.response.id, invitation.clinician.clinic_id
        until = invitation.response.withdrawable_until
        assert until - invitation.response.submitted_at == timedelta(days=30)
    thanks = patient.client.get(f"{patient.url}/thanks")
    assert f"{patient.url.split('127.0.0.1:5000')[-1]}/withdraw" in thanks.text
    assert format_date(until, "long", locale="en") in thanks.text  # "January 4, 2027"
    assert "take back your answers" in patient.open().text  # the link says it too

    page = patient.client.get(f"{patient.url}/withdraw")
    assert page.status_code == 200 and "deleted for good" in page.text
    confirm = patient.client.post(
        f"{patient.url}/withdraw", data={"csrf_token": csrf_token(page.text)}
    )
    assert confirm.status_code == 200 and "Are you sure?" in confirm.text
    assert rows(app, Response, id=response_id) == 1  # nothing deleted before the confirmation
    done = patient.client.post(
        f"{patient.url}/withdraw", data={"csrf_token": csrf_token(confirm.text), "confirm": "yes"}
    )
    assert done.status_code == 302 and done.location.endswith("/withdrawn")
    assert "Your answers were deleted" in patient.client.get(done.location).text

    # Deleted, not hidden: no response row, no answer row; only the count.
    assert rows(app, Response, id=response_id) == 0
    assert rows(app, Answer, response_id=response_id) == 0
    with app.app_context():
        assert withdrawal.withdrawals(clinic_id) == {"patient": 1}
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "response.withdraw")
        )
        assert (event.actor, event.target, event.detail) == (
            "respondent",
            f"clinic:{clinic_id}",
            {"form": "patient"},
        )
        invitation = find_invitation(token_of(patient.url))
        assert invitation.state == "submitted"  # the funnel's counts stay as they were
    assert "were taken back and deleted" in patient.open().text
    again = patient.client.get(f"{patient.url}/withdraw")
    assert "already" not in again.text and "were taken back and deleted" in again.text
    repeated = patient.client.post(
        f"{patient.url}/withdraw", data={"csrf_token": csrf_token(page.text), "confirm": "yes"}
    )
    assert repeated.status_code == 410
    with app.app_context():
        assert withdrawal.withdrawals(clinic_id) == {"patient": 1}


def test_the_clinics_tablet_never_offers_withdrawal(app):
    """On a kiosk the next patient could go back to the previous one's thank-you page."""
    from .staff import add_staff
    from .test_cards_kiosk import todays_invitation

    with app.app_context():
        staff = add_staff()
    invitation_id = todays_invitation(app, staff.clinician_a1, "KIOSK-W")
    tablet = app.test_client()
    sign_in(tablet, "manager@example.org")
    tablet.post("/kiosk/unlock", data={"csrf_token": csrf_token(tablet.get("/kiosk/").text)})
    start = tablet.get("/kiosk/")
    begun = tablet.post(
        f"/kiosk/begin/{invitation_id}", data={"csrf_token": csrf_token(start.text)}
    )
    from .conftest import Respondent

    respondent = Respondent(tablet, begun.headers["Location"], "patient")
    respondent.open()
    respondent.answer_all()
    thanks = tablet.get(respondent.submit().headers["Location"])
    assert "Hand the tablet back" in thanks.text and "take back" not in thanks.text
    page = tablet.get(f"{respondent.url}/withdraw")
    assert "Not on this tablet" in page.text
    refused = tablet.post(
        f"{respondent.url}/withdraw",
        data={"csrf_token": csrf_token(start.text), "confirm": "yes"},
    )
    assert refused.status_code == 410
    assert rows(app, Response) == 1
    # The same link on the patient's own phone still works.
    phone = app.test_client()
    assert "Take back your answers" in phone.get(f"{respondent.url}/withdraw").text


def test_after_the_period_the_link_says_withdrawal_is_no_longer_possible(app, patient):
    submitted(patient)
    token = csrf_token(patient.client.get(f"{patient.url}/withdraw").text)
    with app.app_context():
        response = find_invitation(token_of(patient.url)).response
        response.withdrawable_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
        response_id = response.id
    page = patient.client.get(f"{patient.url}/withdraw")
    assert page.status_code == 200 and "no longer possible" in page.text
    assert "no longer possible" in patient.open().text
    assert "take back your answers" not in patient.client.get(f"{patient.url}/thanks").text
    refused = patient.client.post(
        f"{patient.url}/withdraw", data={"csrf_token": token, "confirm": "yes"}
    )
    assert refused.status_code == 410 and "no longer possible" in refused.text
    assert rows(app, Response, id=response_id) == 1 and rows(app, WithdrawalCount) == 0


def test_the_deadline_is_fixed_at_submission_from_the_clinics_period(app, patient, dyad_links):
    with app.app_context():
        clinic_id = find_invitation(token_of(patient.url)).clinician.clinic_id
        withdrawal.set_withdrawal_days(clinic_id, 7, actor="user:test")
    submitted(patient)
    with app.app_context():
        withdrawal.set_withdrawal_days(clinic_id, 60, actor="user:test")
        assert db.session.get(Clinic, clinic_id).withdrawal_days == 60
        response = find_invitation(token_of(patient.url)).response
        assert response.withdrawable_until - response.submitted_at == timedelta(days=7)
        # The clinician's form about the patient is not withdrawable.
        clinician_invitation = find_invitation(token_of(dyad_links.clinician_url))
        assert withdrawal.status(clinician_invitation).reason == "not-submitted"
        with pytest.raises(withdrawal.WithdrawalError, match="not sent yet"):
            withdrawal.withdraw(clinician_invitation)
        with pytest.raises(withdrawal.WithdrawalError, match="366 days"):
            withdrawal.set_withdrawal_days(clinic_id, 366, actor="user:test")


def test_a_clinic_without_withdrawal_says_so(app, patient):
    with app.app_context():
        clinic_id = find_invitation(token_of(patient.url)).clinician.clinic_id
        withdrawal.set_withdrawal_days(clinic_id, 0, actor="user:test")
    page = patient.open()
    assert "take them back" not in page.text
    submitted(patient)
    with app.app_context():
        assert find_invitation(token_of(patient.url)).response.withdrawable_until is None
    assert "does not offer" in patient.client.get(f"{patient.url}/withdraw").text


def _deadline_from_now(wave_id: int, days: float) -> None:
    response = invitation_of(wave_id, "patient").response
    response.withdrawable_until = utcnow() + timedelta(days=days)
    db.session.commit()


def test_release_waits_for_each_responses_own_deadline(app):
    """The global setting is 0 here: the clinic's period alone keeps withdrawable answers out."""
    app.config["HEALING_SURVEY_WITHDRAWAL_DAYS"] = 0
    with app.app_context():
        clinic_id, clinician_id = new_clinic()
        waves = [dyad_wave(clinician_id, days_ago=40) for _ in range(5)]
        _deadline_from_now(waves[-1], 2)
        report = release_blocks(clinic_id, min_cell=5)
        assert (report.blocks, report.held_back_dyad_waves) == (0, 5)
        later = release_blocks(clinic_id, min_cell=5, now=utcnow() + timedelta(days=3))
        assert (later.blocks, later.dyad_waves) == (1, 5)
        # Released answers cannot be withdrawn, even if a deadline were (wrongly) ahead.
        invitation = invitation_of(waves[-1], "patient")
        assert withdrawal.status(invitation).reason == "period-over"
        with pytest.raises(withdrawal.WithdrawalError, match="over"):
            withdrawal.withdraw(invitation)
        assert invitation_of(waves[-1], "patient").response is not None


def test_a_withdrawn_patient_answer_leaves_the_clinicians_answer_to_settle(app):
    with app.app_context():
        clinic_id, clinician_id = new_clinic()
        waves = [dyad_wave(clinician_id, days_ago=40) for _ in range(5)]
        for wave_id in waves:
            _deadline_from_now(wave_id, 2)
        withdrawal.withdraw(invitation_of(waves[0], "patient"))
        report = release_blocks(clinic_id, min_cell=5, now=utcnow() + timedelta(days=3))
        # One clinician-only dyad wave (too few for a block) and four pairs: nothing released
        # yet, and nothing waits for the withdrawn link as if it could still be answered.
        assert (report.blocks, report.held_back_dyad_waves) == (0, 5)
        kinds = db.session.scalars(select(Wave.release_block_id).where(Wave.id.in_(waves)))
        assert set(kinds) == {None}


# --- the attacker's view -------------------------------------------------------------------

MIN = 3


def every_number(clinic_id: int, selections, summarized) -> dict:
    """What the pages and downloads show: the summaries of both forms and the comparison for
    the ``summarized`` selections, and the set of responses behind every cell of every
    selection (``cell_members``, what every n shown is computed from)."""
    seen = {}
    for selection in selections:
        wave, start, end, period, language = selection
        options = {
            "wave": wave,
            "date_from": month_date(start),
            "date_to": month_date(end),
            "language": language,
        }
        seen[("members", *selection)] = cell_members(
            clinic_id, min_cell=MIN, period=period, **options
        )
        if selection not in summarized:
            continue
        for form in ("patient", "clinician-dyad"):
            seen[("summary", form, *selection)] = clinic_summary(
                clinic_id, form=form, min_cell=MIN, period=period, **options
            )
        seen[("comparison", *selection)] = comparison_summary(clinic_id, min_cell=MIN, **options)
    return seen


def without_held_back(value):
    """The numbers computed from released blocks only (held-back counts stripped)."""
    if isinstance(value, dict):
        return {k: without_held_back(v) for k, v in value.items() if k != "held_back"}
    if isinstance(value, list):
        return [without_held_back(v) for v in value]
    return value


def leaves(value, path=()) -> dict:
    """Every whole number in a summary, by its path (n of every cell, funnel, held back)."""
    found = {}
    if isinstance(value, dict):
        for key, inner in value.items():
            found |= leaves(inner, (*path, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found |= leaves(inner, (*path, i))
    elif isinstance(value, int) and not isinstance(value, bool) and path[-1] != "id":
        found[path] = value
    return found


def compare_exactly(before: dict, after: dict) -> int:
    """Withdrawal alone: every released number is exactly as it was."""
    for key, seen in before.items():
        assert without_held_back(seen) == without_held_back(after[key]), key
        if key[0] == "summary":
            held = leaves({"held_back": seen["held_back"]})
            held_after = leaves({"held_back": after[key]["held_back"]})
            assert all(safe(held[p] - held_after[p]) for p in held), key
    return len(before)


def compare_by_the_rule(before: dict, after: dict) -> int:
    """After the next release: every number shown differs by 0 or at least MIN, and every set
    of responses behind a cell only gained whole blocks."""
    checked = 0
    for key, seen in before.items():
        if key[0] == "members":
            for cell, ids in seen.items():
                gained = after[key].get(cell, frozenset())
                assert ids <= gained and safe(len(gained - ids)), (key, cell)
                checked += 1
            continue
        numbers, numbers_after = leaves(seen), leaves(after[key])
        for path in numbers.keys() & numbers_after.keys():
            assert safe(numbers[path] - numbers_after[path]), (key, path)
            checked += 1
    return checked


def test_withdrawing_after_a_release_changes_no_released_number(app, monkeypatch):
    import survey.aggregates

    app.config["HEALING_SURVEY_MIN_CELL"] = MIN
    app.config["HEALING_SURVEY_WITHDRAWAL_DAYS"] = 0
    with app.app_context():
        clinic = build_clinic("Withdrawal", 21, dyads=30, months=3)
        for event in clinic.events:
            apply(event)
        # Answers sent 30 days before their deadline; the newest quarter of the patients'
        # answers may still be withdrawn today, the rest could not any more.
        patient_responses = db.session.scalars(
            select(Response).where(Response.form == "patient").order_by(Response.submitted_at)
        ).all()
        recent = patient_responses[-len(patient_responses) // 4 :]
        for response in patient_responses:
            response.withdrawable_until = response.submitted_at + timedelta(days=30)
        for response in recent:
            response.withdrawable_until = utcnow() + timedelta(days=10)
        db.session.commit()
        recent_invitations = [r.invitation_id for r in recent]
        add_user("manager@example.org", "manager", clinic_id=clinic.clinic_id)
        add_user(
            "clinician@example.org",
            "clinician",
            clinic_id=clinic.clinic_id,
            clinician_id=clinic.clinician_ids[0],
        )
        add_user("researcher@example.org", "researcher")
        db.session.commit()
        from survey.api.tokens import create_token

        token = create_token("researcher@example.org", "attacker").token
    manager, clinician = app.test_client(), app.test_client()
    assert sign_in(manager, "manager@example.org").status_code == 302
    assert sign_in(clinician, "clinician@example.org").status_code == 302

    selections = all_selections(clinic.months, clinic.max_wave)
    first = clinic.months[0]
    summarized = [
        (None, None, None, "month", None),
        (1, None, None, "month", None),
        (None, first, first, "month", None),
        (None, None, None, "quarter", None),
    ]
    release = survey.aggregates.release_now
    checked = {"exact": 0, "rule": 0, "http": 0}
    with app.app_context():
        release_blocks(clinic.clinic_id, min_cell=MIN)
        before = every_number(clinic.clinic_id, selections, summarized)
        before_http = http_counts(manager, token, clinic.clinic_id, clinician)
        everything = before[("summary", "patient", *summarized[0])]
        assert everything["overall"]["valuing"]["n"] >= 3 * MIN  # a real release to attack
        for invitation_id in recent_invitations[:3]:
            withdrawal.withdraw(db.session.get(Invitation, invitation_id))
            # The withdrawal alone, before any new block: nothing released changed at all.
            monkeypatch.setattr(survey.aggregates, "release_now", lambda *a, **k: None)
            frozen = every_number(clinic.clinic_id, selections, summarized)
            checked["exact"] += compare_exactly(before, frozen)
            assert http_counts(manager, token, clinic.clinic_id, clinician) == before_http
            # The next release may add whole blocks (the withdrawn patient's clinician answer
            # now settles alone), as a new submission may: the same rule holds.
            monkeypatch.setattr(survey.aggregates, "release_now", release)
            release_blocks(clinic.clinic_id, min_cell=MIN)
            after = every_number(clinic.clinic_id, selections, summarized)
            checked["rule"] += compare_by_the_rule(before, after)
            after_http = http_counts(manager, token, clinic.clinic_id, clinician)
            for key in before_http.keys() & after_http.keys():
                assert safe(before_http[key] - after_http[key]), key
                checked["http"] += 1
            before, before_http = after, after_http
        assert withdrawal.withdrawals(clinic.clinic_id) == {"patient": 3}
        assert all(n > 10 for n in checked.values()), checked

        # The checks see a hole where there is one: deleting a released answer, as a
        # withdrawal without the release rule would, changes a number shown.
        released = db.session.scalar(
            select(Response)
            .join(Invitation, Response.invitation_id == Invitation.id)
            .join(Wave, Invitation.wave_id == Wave.id)
            .where(Response.form == "patient", Wave.release_block_id.is_not(None))
            .limit(1)
        )
        db.session.execute(db.delete(Answer).where(Answer.response_id == released.id))
        db.session.delete(released)
        db.session.commit()
        with pytest.raises(AssertionError):
            compare_exactly(before, every_number(clinic.clinic_id, selections, summarized))


def test_the_withdrawal_period_can_be_set_from_the_command_line(app, runner, clinician_id):
    done = runner.invoke(args=["clinic", "set-withdrawal", "Riverside Health", "--days", "14"])
    assert done.exit_code == 0, done.output
    assert "for 14 days" in done.output
    wrong = runner.invoke(args=["clinic", "set-withdrawal", "Riverside Health", "--days", "x"])
    assert wrong.exit_code != 0 and "not a whole number" in wrong.output
    assert "Traceback" not in wrong.output
    missing = runner.invoke(args=["clinic", "set-withdrawal", "Nowhere", "--days", "3"])
    assert missing.exit_code != 0 and "no clinic named 'Nowhere'" in missing.output
    with app.app_context():
        clinic = db.session.scalar(select(Clinic))
        assert clinic.withdrawal_days == 14
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "clinic.withdrawal_days")
        )
        assert (event.actor, event.detail) == ("cli", {"days": 14, "before": 30})
