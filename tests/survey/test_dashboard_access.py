"""Every role boundary of the dashboards: 403 and an audit entry outside one's role, the sign-in
page for anonymous visitors, and names only for those allowed to see them."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from survey.auth.access import role_required
from survey.auth.accounts import allow_names
from survey.extensions import db
from survey.models import AuditEvent

from .staff import add_staff, sign_in


@pytest.fixture
def staff(app):
    with app.app_context():
        return add_staff()


def signed_in(app, email: str):
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def denials(app) -> list[AuditEvent]:
    with app.app_context():
        return list(
            db.session.scalars(select(AuditEvent).where(AuditEvent.action == "access.denied"))
        )


def test_anonymous_visitors_are_sent_to_sign_in(client, staff):
    for path in (
        "/dashboard/",
        "/dashboard/clinics",
        f"/dashboard/clinics/{staff.clinic_a}",
        f"/dashboard/clinics/{staff.clinic_a}/comparison",
        f"/dashboard/clinics/{staff.clinic_a}/scores.csv",
        f"/dashboard/clinicians/{staff.clinician_a1}",
    ):
        response = client.get(path)
        assert response.status_code == 302, path
        location = urlsplit(response.headers["Location"])
        assert location.path == "/sign-in", path
        assert parse_qs(location.query)["next"] == [path], path


def test_clinician_sees_only_their_own_page(app, staff):
    client = signed_in(app, "a1@example.org")
    assert client.get("/dashboard/").headers["Location"] == (
        f"/dashboard/clinicians/{staff.clinician_a1}"
    )
    own = client.get(f"/dashboard/clinicians/{staff.clinician_a1}")
    assert own.status_code == 200 and "Your healing relationships" in own.text
    assert "Your self-assessment" in own.text
    for path in (
        f"/dashboard/clinicians/{staff.clinician_a2}",
        f"/dashboard/clinicians/{staff.clinician_b1}",
        f"/dashboard/clinics/{staff.clinic_a}",
        f"/dashboard/clinics/{staff.clinic_a}/comparison",
        "/dashboard/clinics",
    ):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "You do not have access to this page." in response.text
        assert 'href="/dashboard/"' in response.text  # a way back to one's own page
        assert "Traceback" not in response.text
    events = denials(app)
    assert len(events) == 5
    assert {e.target for e in events} >= {f"/dashboard/clinicians/{staff.clinician_a2}"}
    assert all(e.actor.startswith("user:") and e.detail["role"] == "clinician" for e in events)


def test_manager_sees_only_their_clinic(app, staff):
    client = signed_in(app, "manager@example.org")
    assert client.get(f"/dashboard/clinics/{staff.clinic_a}").status_code == 200
    assert client.get(f"/dashboard/clinics/{staff.clinic_a}/comparison").status_code == 200
    colleague = client.get(f"/dashboard/clinicians/{staff.clinician_a2}")
    assert colleague.status_code == 200 and "Dr. Alder Two" in colleague.text
    assert "Your self-assessment" not in colleague.text  # a clinician's own answers stay theirs
    for path in (
        f"/dashboard/clinics/{staff.clinic_b}",
        f"/dashboard/clinics/{staff.clinic_b}/comparison",
        f"/dashboard/clinics/{staff.clinic_b}/scores.csv",
        f"/dashboard/clinicians/{staff.clinician_b1}",
        "/dashboard/clinics",
    ):
        assert client.get(path).status_code == 403, path
    assert len(denials(app)) == 5


def test_researcher_sees_no_names_unless_allowed(app, staff):
    client = signed_in(app, "researcher@example.org")
    page = client.get(f"/dashboard/clinics/{staff.clinic_a}")
    assert page.status_code == 200
    assert "Clinician 1" in page.text and "Clinician 2" in page.text
    assert "Dr. Alder" not in page.text
    assert f"/dashboard/clinicians/{staff.clinician_a1}" not in page.text
    csv = client.get(f"/dashboard/clinics/{staff.clinic_a}/scores.csv").text
    assert "Clinician 1" in csv and "Dr. Alder" not in csv
    comparison = client.get(f"/dashboard/clinics/{staff.clinic_a}/comparison").text
    assert "Clinician 2" in comparison and "Dr. Alder" not in comparison
    named = client.get(f"/dashboard/clinicians/{staff.clinician_a1}")
    assert named.status_code == 403
    assert denials(app)[-1].detail["role"] == "researcher"

    with app.app_context():
        allow_names("researcher@example.org")
    assert client.get(f"/dashboard/clinicians/{staff.clinician_a1}").status_code == 200
    assert "Dr. Alder One" in client.get(f"/dashboard/clinics/{staff.clinic_a}").text
    with app.app_context():
        allow_names("researcher@example.org", allow=False)
    assert client.get(f"/dashboard/clinicians/{staff.clinician_a1}").status_code == 403


def test_admin_sees_every_clinic(app, staff):
    client = signed_in(app, "admin@example.org")
    listing = client.get("/dashboard/clinics")
    assert "Alder Clinic" in listing.text and "Birch Clinic" in listing.text
    for path in (
        f"/dashboard/clinics/{staff.clinic_b}",
        f"/dashboard/clinics/{staff.clinic_b}/comparison",
        f"/dashboard/clinicians/{staff.clinician_b1}",
    ):
        assert client.get(path).status_code == 200, path
    assert client.get("/dashboard/clinics/999").status_code == 404
    assert denials(app) == []


def test_role_required_names_unknown_roles():
    with pytest.raises(ValueError, match="nurse"):
        role_required("admin", "nurse")
