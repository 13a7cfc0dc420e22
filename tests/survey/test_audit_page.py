"""Admins read, filter, page through and download the audit log; nobody else may."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from survey.audit.log import PAGE_SIZE
from survey.extensions import db
from survey.models import AuditEvent, record_audit

from .staff import add_staff, sign_in


@pytest.fixture
def staff(app):
    with app.app_context():
        staff = add_staff()
        for i in range(PAGE_SIZE + 5):
            record_audit("cli", "test.paged", f"thing:{i}", i=i)
        record_audit("user:99", "export", '=HYPERLINK("x")')
        db.session.commit()
        return staff


def test_admin_reads_filters_and_pages(client, staff):
    sign_in(client, "admin@example.org")
    page = client.get("/admin/audit/")
    assert page.status_code == 200
    assert "Audit log" in page.text and "auth.sign_in" in page.text
    assert "page 1 of 2" in page.text
    filtered = client.get("/admin/audit/?action=export")
    assert "1 entry" in filtered.text and "user:99" in filtered.text
    assert "thing:3" not in filtered.text
    second = client.get("/admin/audit/?action=test.paged&page=2")
    assert "thing:0<" in second.text and "thing:54" not in second.text
    assert client.get("/admin/audit/?actor=nobody").text.count("No entries match") == 1
    assert client.get("/admin/audit/?from=2026-13-01").status_code == 400
    assert client.get("/admin/audit/?from=2026-02-01&to=2026-01-01").status_code == 400
    assert client.get("/admin/audit/?page=0").status_code == 400


def test_csv_export_is_complete_safe_and_audited(app, client, staff):
    sign_in(client, "admin@example.org")
    response = client.get("/admin/audit/export.csv?actor=user:99")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["action"] for r in rows] == ["export"]
    assert rows[0]["target"] == '\'=HYPERLINK("x")'  # a spreadsheet will not run it
    everything = list(csv.DictReader(io.StringIO(client.get("/admin/audit/export.csv").text)))
    assert [int(r["seq"]) for r in everything] == sorted(int(r["seq"]) for r in everything)
    with app.app_context():
        exports = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "audit.export")
        ).all()
        assert len(exports) == 2
        assert exports[0].detail == {"rows": 1, "filters": {"actor": "user:99"}}


@pytest.mark.parametrize(
    "email", ["manager@example.org", "a1@example.org", "researcher@example.org"]
)
def test_other_roles_get_403(client, staff, email):
    sign_in(client, email)
    assert client.get("/admin/audit/").status_code == 403
    assert client.get("/admin/audit/export.csv").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, staff):
    response = client.get("/admin/audit/")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
