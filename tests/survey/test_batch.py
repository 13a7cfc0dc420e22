"""Appointment lists: every bad-row kind named with its line, all or nothing (also when row 40
of 50 fails while storing), the page's preview and confirm, and ``invite --batch``."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from survey.delivery.contacts import read_contact
from survey.delivery.models import InvitationContact, OutboxMessage
from survey.extensions import db
from survey.invitations import batch as batches
from survey.invitations import invite_dyad
from survey.models import Clinic, Dyad, Invitation, InvitationUpload, Wave

from .conftest import csrf_token
from .staff import add_staff, sign_in

HEADER = "reference,clinician,appointment_date,email,language\n"


@pytest.fixture
def staff(app):
    with app.app_context():
        return add_staff()


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def clinic_a() -> Clinic:
    return db.session.scalar(select(Clinic).where(Clinic.name == "Alder Clinic"))


def good_rows(n: int, clinician="Dr. Alder One") -> str:
    return "".join(
        f"P-{i:03d},{clinician},2026-12-{1 + i % 28:02d},p{i}@example.org,en\n" for i in range(n)
    )


def test_each_bad_row_kind_is_named_with_its_line(app, staff):
    content = (
        HEADER
        + "A-1,Dr. Alder One,2026-12-03,,\n"  # line 2: fine
        + "A-2,Dr. Nobody,2026-12-03,,\n"  # 3: unknown clinician
        + f"A-3,{staff.clinician_b1},2026-12-03,,\n"  # 4: another clinic's clinician id
        + "A-4,Dr. Alder One,03/12/2026,,\n"  # 5: bad date
        + "A-1,Dr. Alder One,2026-12-03,,\n"  # 6: duplicate of line 2
        + "A-5,Dr. Alder One,2026-12-03,not-an-address,\n"  # 7: bad address
        + "A-6,Dr. Alder One,2026-12-03,,fr\n"  # 8: unknown language
        + f"{'X' * 65},Dr. Alder One,2026-12-03,,\n"  # 9: reference too long
        + "A-7,Dr. Alder One\n"  # 10: missing fields
        + ",Dr. Alder One,2026-12-03,,\n"  # 11: empty reference
    )
    with app.app_context():
        preview = batches.preview_appointments(content.encode(), clinic_a())
    reasons = {problem.line: problem.reason for problem in preview.problems}
    assert reasons == {
        3: "clinician 'Dr. Nobody' is not a clinician of Alder Clinic",
        4: f"clinician '{staff.clinician_b1}' is not a clinician of Alder Clinic",
        5: "appointment_date '03/12/2026' is not a date written YYYY-MM-DD",
        6: "duplicate of line 2",
        7: "e-mail: not an e-mail address (expected name@example.org)",
        8: "language 'fr': expected one of en, es",
        9: "the reference is longer than 64 characters",
        10: "2 fields where the header names 5 columns",
        11: "the reference is empty",
    }
    assert [row.line for row in preview.rows] == [2]
    assert not preview.ok


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"reference,appointment_date\nA,2026-01-01\n", "line 1: missing column clinician"),
        (b"reference,clinician,appointment_date\n", "a header but no appointments"),
        (b"reference,clinician,appointment_date\nA,\xff,2026\n", "not UTF-8 text (byte 40)"),
    ],
)
def test_unreadable_files_are_refused_whole(app, staff, content, message):
    with app.app_context(), pytest.raises(batches.BatchError, match=re.escape(message)):
        batches.preview_appointments(content, clinic_a())


def test_bom_semicolons_ids_and_wave_numbers(app, staff):
    with app.app_context():
        invite_dyad(staff.clinician_a1, reference="OLD")  # already has wave 1
    content = (
        "\ufeffReference;Clinician;Appointment_Date;Room\n"
        f"OLD;{staff.clinician_a1};2026-12-10;3\n"
        "OLD;Dr. Alder One;2026-12-08;3\n"
        "NEW;Dr. Alder Two;2026-12-08;4\n"
    ).encode()
    with app.app_context():
        preview = batches.preview_appointments(content, clinic_a())
        assert preview.ok and preview.ignored_columns == ("room",)
        waves = {(row.reference, row.appointment_on.isoformat()): row.wave for row in preview.rows}
        assert waves == {
            ("OLD", "2026-12-08"): 2,
            ("OLD", "2026-12-10"): 3,
            ("NEW", "2026-12-08"): 1,
        }
        batches.store_appointments(content, clinic_a(), checksum=preview.checksum, expires_days=5)
        again = batches.preview_appointments(content, clinic_a())
    assert {p.line for p in again.problems} == {2, 3, 4}
    assert "already invited for 2026-12-10" in again.problems[0].reason


def test_store_keeps_addresses_encrypted_and_queues_messages(app, staff):
    content = (HEADER + good_rows(5)).encode()
    with app.app_context():
        preview = batches.preview_appointments(content, clinic_a())
        result = batches.store_appointments(
            content, clinic_a(), checksum=preview.checksum, expires_days=10
        )
        assert len(result.created) == 5
        contacts = list(db.session.scalars(select(InvitationContact)))
        assert sorted(read_contact(c)[0] for c in contacts) == [
            f"p{i}@example.org" for i in range(5)
        ]
        assert count(OutboxMessage) == 5
        assert all(
            record["patient_url"].startswith("http://127.0.0.1:5000/s/")
            for record in result.created
        )


def test_a_row_gone_bad_after_the_preview_stores_nothing(app, staff):
    content = (HEADER + good_rows(50)).encode()
    with app.app_context():
        preview = batches.preview_appointments(content, clinic_a())
        assert preview.ok
        # Meanwhile someone invites row 40's patient for the same appointment.
        row = preview.rows[38]
        assert row.line == 40
        dyad = Dyad(clinician_id=staff.clinician_a1, reference=row.reference)
        db.session.add(Wave(dyad=dyad, number=1, appointment_on=row.appointment_on))
        db.session.commit()
        with pytest.raises(batches.BatchError, match="line 40: .*already invited.*nothing was"):
            batches.store_appointments(
                content, clinic_a(), checksum=preview.checksum, expires_days=10
            )
        assert count(Invitation) == 0 and count(Wave) == 1 and count(Dyad) == 1


def test_a_failure_while_storing_row_40_of_50_stores_nothing(app, staff, monkeypatch):
    content = (HEADER + good_rows(50)).encode()
    real = batches.seal

    def failing(text: str) -> str:
        # Line 40 holds p38@example.org: the dyads, waves and invitations are inserted by then.
        if text == "p38@example.org":
            raise RuntimeError("disk full")
        return real(text)

    monkeypatch.setattr(batches, "seal", failing)
    with app.app_context():
        preview = batches.preview_appointments(content, clinic_a())
        with pytest.raises(RuntimeError):
            batches.store_appointments(
                content, clinic_a(), checksum=preview.checksum, expires_days=10
            )
    with app.app_context():
        assert count(Invitation) == count(Wave) == count(Dyad) == count(InvitationContact) == 0


def test_a_different_file_stores_nothing(app, staff):
    with app.app_context():
        preview = batches.preview_appointments((HEADER + good_rows(3)).encode(), clinic_a())
        with pytest.raises(batches.BatchError, match="differs from the one previewed"):
            batches.store_appointments(
                (HEADER + good_rows(4)).encode(),
                clinic_a(),
                checksum=preview.checksum,
                expires_days=10,
            )
        assert count(Invitation) == 0


# -- the page --------------------------------------------------------------------------------


def upload(client, content: bytes, **extra):
    from io import BytesIO

    token = csrf_token(client.get("/invitations/batch").text)
    data = {"csrf_token": token, "appointments": (BytesIO(content), "list.csv"), **extra}
    return client.post("/invitations/batch", data=data, content_type="multipart/form-data")


def test_preview_then_confirm_in_the_browser(app, staff):
    client = app.test_client()
    sign_in(client, "manager@example.org")
    bad = upload(client, (HEADER + good_rows(47) + "Z-1,Dr. Nobody,2026-12-01,,\n").encode())
    assert bad.status_code == 422
    assert "line 49: clinician &#39;Dr. Nobody&#39; is not a clinician" in bad.text
    assert "Create" not in bad.text
    with app.app_context():
        assert count(InvitationUpload) == 0 and count(Invitation) == 0
    content = (HEADER + good_rows(50)).encode()
    preview = upload(client, content)
    assert preview.status_code == 200 and "Create 50 invitations" in preview.text
    with app.app_context():
        stored = db.session.scalar(select(InvitationUpload))
        assert b"example.org" not in stored.content_encrypted.encode()
        assert count(Invitation) == 0
    upload_id = re.search(r'name="upload" value="([^"]+)"', preview.text).group(1)
    checksum = re.search(r'name="checksum" value="([^"]+)"', preview.text).group(1)
    no_csrf = client.post("/invitations/batch/confirm", data={"upload": upload_id})
    assert no_csrf.status_code == 400
    done = client.post(
        "/invitations/batch/confirm",
        data={"csrf_token": csrf_token(preview.text), "upload": upload_id, "checksum": checksum},
    )
    assert done.status_code == 201 and "50 invitations created" in done.text
    with app.app_context():
        assert count(Invitation) == 100 and count(InvitationUpload) == 0
    twice = client.post(
        "/invitations/batch/confirm",
        data={"csrf_token": csrf_token(preview.text), "upload": upload_id, "checksum": checksum},
    )
    assert twice.status_code == 409 and "upload the list again" in twice.text


def test_a_bad_address_is_named_in_the_page_language(app, staff):
    client = app.test_client()
    sign_in(client, "manager@example.org")
    client.get("/invitations/batch?lang=es")  # the choice is kept for the next pages
    bad = upload(client, (HEADER + "A-5,Dr. Alder One,2026-12-03,not-an-address,\n").encode())
    assert bad.status_code == 422
    expected = "correo electrónico: no es una dirección de correo electrónico (se esperaba"
    assert expected in bad.text


def test_confirm_with_another_checksum_stores_nothing(app, staff):
    client = app.test_client()
    sign_in(client, "manager@example.org")
    preview = upload(client, (HEADER + good_rows(3)).encode())
    upload_id = re.search(r'name="upload" value="([^"]+)"', preview.text).group(1)
    response = client.post(
        "/invitations/batch/confirm",
        data={"csrf_token": csrf_token(preview.text), "upload": upload_id, "checksum": "0" * 64},
    )
    assert response.status_code == 409 and "differs from the one previewed" in response.text
    with app.app_context():
        assert count(Invitation) == 0


def test_admin_must_choose_the_clinic(app, staff):
    client = app.test_client()
    sign_in(client, "admin@example.org")
    response = upload(client, (HEADER + good_rows(2)).encode())
    assert response.status_code == 400 and "choose the clinic" in response.text
    chosen = upload(client, (HEADER + good_rows(2)).encode(), clinic=str(staff.clinic_a))
    assert chosen.status_code == 200


# -- the CLI ---------------------------------------------------------------------------------


def test_cli_batch_dry_run_bad_rows_and_store(app, runner, staff, tmp_path):
    path = tmp_path / "appointments.csv"
    path.write_text(HEADER + good_rows(3) + "Z-1,Dr. Nobody,2026-12-01,,\n", encoding="utf-8")
    bad = runner.invoke(args=["invite", "--batch", str(path), "--clinic", "Alder Clinic"])
    assert bad.exit_code != 0
    assert "line 5: clinician 'Dr. Nobody' is not a clinician of Alder Clinic" in bad.output
    assert "1 bad row(s) in appointments.csv; nothing was stored" in bad.output
    several = runner.invoke(args=["invite", "--batch", str(path)])
    assert "several clinics: name the list's clinic with --clinic NAME" in several.output
    path.write_text(HEADER + good_rows(3), encoding="utf-8")
    dry = runner.invoke(
        args=["invite", "--batch", str(path), "--clinic", "Alder Clinic", "--dry-run", "--json"]
    )
    assert dry.exit_code == 0 and json.loads(dry.output)["rows"] == 3
    assert "example.org" not in dry.output
    with app.app_context():
        assert count(Invitation) == 0
    stored = runner.invoke(
        args=["invite", "--batch", str(path), "--clinic", "Alder Clinic", "--json"]
    )
    assert stored.exit_code == 0, stored.output
    assert json.loads(stored.output)["created"] == 3
    with app.app_context():
        assert count(Invitation) == 6
