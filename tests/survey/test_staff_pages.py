"""The staff pages: who may open them, what every change stores and audits, set-up links,
one's own password and a forgotten one (with a real SMTP server on localhost)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.invitations import InvitationError, invite_dyad
from survey.models import AuditEvent, Clinic, Clinician, StaffLink, User, utcnow

from .conftest import csrf_token
from .mailbox import link_in, running_smtp_server
from .staff import PASSWORD, add_staff, sign_in

NEW_PASSWORD = "another long enough password"
ADMIN_PAGES = ["/admin/", "/admin/clinics", "/admin/clinicians", "/admin/accounts"]


@pytest.fixture
def staff(app):
    with app.app_context():
        return add_staff()


@pytest.fixture
def smtp_server():
    yield from running_smtp_server()


def signed_in(app, email: str):
    client = app.test_client()
    response = sign_in(client, email)
    assert response.status_code == 302, response.text
    return client


def audit_actions(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def post(client, path: str, data: dict, *, page: str | None = None):
    token = csrf_token(client.get(page or path).text)
    return client.post(path, data={**data, "csrf_token": token})


# Who may open what ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, staff, path):
    response = client.get(path)
    assert response.status_code == 302 and "/sign-in" in response.location


@pytest.mark.parametrize("email", ["a1@example.org", "researcher@example.org"])
@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_clinicians_and_researchers_get_403_and_an_audit_entry(app, staff, email, path):
    client = signed_in(app, email)
    assert client.get(path).status_code == 403
    denied = audit_actions(app, "access.denied")
    assert [event.target for event in denied] == [path]


def test_a_manager_opens_every_page_but_clinics(app, staff):
    client = signed_in(app, "manager@example.org")
    for path in ["/admin/", "/admin/clinicians", "/admin/accounts", "/account/password"]:
        assert client.get(path).status_code == 200, path
    assert client.get("/admin/clinics").status_code == 403


def test_an_admin_opens_every_page(app, staff):
    client = signed_in(app, "admin@example.org")
    for path in [*ADMIN_PAGES, "/account/password"]:
        assert client.get(path).status_code == 200, path


def test_every_form_needs_the_csrf_token(app, staff):
    client = signed_in(app, "admin@example.org")
    with app.app_context():
        target = db.session.scalar(select(User.id).where(User.email == "a1@example.org"))
    posts = {
        "/admin/clinics": {"name": "Cedar Clinic"},
        f"/admin/clinics/{staff.clinic_a}": {"action": "retire"},
        "/admin/clinicians": {"name": "Dr. New", "clinic_id": staff.clinic_a},
        f"/admin/clinicians/{staff.clinician_a1}": {"action": "retire"},
        "/admin/accounts": {"email": "x@example.org", "role": "researcher"},
        f"/admin/accounts/{target}": {"action": "deactivate"},
        "/account/password": {"current": PASSWORD, "new": NEW_PASSWORD, "again": NEW_PASSWORD},
    }
    for path, data in posts.items():
        assert client.post(path, data=data).status_code == 400, path
    with app.app_context():
        assert db.session.scalar(select(func.count(Clinic.id))) == 2
        assert db.session.scalar(select(func.count(User.id))) == 4
        assert all(c.retired_at is None for c in db.session.scalars(select(Clinician)))
        assert all(u.active for u in db.session.scalars(select(User)))


# Clinics ----------------------------------------------------------------------------------


def test_an_admin_adds_renames_and_retires_a_clinic(app, staff):
    client = signed_in(app, "admin@example.org")
    assert post(client, "/admin/clinics", {"name": "  Cedar   Clinic "}).status_code == 302
    with app.app_context():
        cedar = db.session.scalar(select(Clinic).where(Clinic.name == "Cedar Clinic"))
        assert cedar is not None
        clinician = Clinician(clinic=cedar, name="Dr. Cedar")
        db.session.add(clinician)
        db.session.commit()
        cedar_id, clinician_id = cedar.id, clinician.id
        invite_dyad(clinician_id, reference="P-1")
    path = f"/admin/clinics/{cedar_id}"
    page = "/admin/clinics"
    renamed = post(client, path, {"action": "rename", "name": "Cedar Health"}, page=page)
    assert renamed.status_code == 302
    assert post(client, path, {"action": "retire"}, page=page).status_code == 302
    with app.app_context():
        cedar = db.session.get(Clinic, cedar_id)
        assert cedar.name == "Cedar Health" and cedar.retired_at is not None
        assert len(cedar.clinicians[0].dyads) == 1  # history kept
        with pytest.raises(InvitationError, match="clinic 'Cedar Health' is retired"):
            invite_dyad(clinician_id)
    actions = [e.action for e in audit_actions(app, "clinic.create")]
    actions += [e.action for e in audit_actions(app, "clinic.rename")]
    actions += [e.action for e in audit_actions(app, "clinic.retire")]
    assert actions == ["clinic.create", "clinic.rename", "clinic.retire"]
    page_text = client.get("/admin/clinics").text
    assert "Cedar Health" in page_text and "retired" in page_text
    assert post(client, path, {"action": "reinstate"}, page=page).status_code == 302
    with app.app_context():
        assert invite_dyad(clinician_id).wave == 1


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "the clinic name is empty"),
        ("   ", "the clinic name is empty"),
        ("x" * 201, "has 201 characters; use at most 200"),
        ("Birch Clinic", "a clinic named &#39;Birch Clinic&#39; already exists"),
    ],
)
def test_a_bad_clinic_name_is_named_and_nothing_is_stored(app, staff, name, message):
    client = signed_in(app, "admin@example.org")
    response = post(client, "/admin/clinics", {"name": name})
    assert response.status_code == 400
    assert message in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count(Clinic.id))) == 2


def test_renaming_a_clinic_to_a_name_in_use_names_it(app, staff):
    client = signed_in(app, "admin@example.org")
    response = post(
        client,
        f"/admin/clinics/{staff.clinic_a}",
        {"action": "rename", "name": "Birch Clinic"},
        page="/admin/clinics",
    )
    assert response.status_code == 400
    assert "a clinic named &#39;Birch Clinic&#39; already exists" in response.text


# Clinicians -------------------------------------------------------------------------------


def test_a_manager_adds_renames_and_retires_clinicians_of_their_clinic(app, staff):
    client = signed_in(app, "manager@example.org")
    # A manager cannot put a clinician into another clinic, whatever the form says.
    added = post(
        client, "/admin/clinicians", {"name": "Dr. Alder Three", "clinic_id": staff.clinic_b}
    )
    assert added.status_code == 302
    with app.app_context():
        new = db.session.scalar(select(Clinician).where(Clinician.name == "Dr. Alder Three"))
        assert new.clinic_id == staff.clinic_a
        new_id = new.id
    duplicate = post(client, "/admin/clinicians", {"name": "Dr. Alder Three"})
    assert duplicate.status_code == 400
    assert "already has a clinician named &#39;Dr. Alder Three&#39;" in duplicate.text
    path = f"/admin/clinicians/{new_id}"
    page = "/admin/clinicians"
    assert (
        post(client, path, {"action": "rename", "name": "Dr. A. Three"}, page=page).status_code
        == 302
    )
    assert post(client, path, {"action": "retire"}, page=page).status_code == 302
    with app.app_context():
        assert db.session.get(Clinician, new_id).name == "Dr. A. Three"
        with pytest.raises(InvitationError, match=r"clinician \d+ \(Dr. A. Three\) is retired"):
            invite_dyad(new_id)
    assert len(audit_actions(app, "clinician.create")) == 1
    assert len(audit_actions(app, "clinician.rename")) == 1
    assert len(audit_actions(app, "clinician.retire")) == 1


def test_a_manager_cannot_change_another_clinics_clinician(app, staff):
    client = signed_in(app, "manager@example.org")
    response = post(
        client,
        f"/admin/clinicians/{staff.clinician_b1}",
        {"action": "retire"},
        page="/admin/clinicians",
    )
    assert response.status_code == 403
    assert audit_actions(app, "access.denied")
    with app.app_context():
        assert db.session.get(Clinician, staff.clinician_b1).retired_at is None
    assert "Dr. Birch One" not in client.get("/admin/clinicians").text


def test_a_clinician_with_a_bad_email_is_refused(app, staff):
    client = signed_in(app, "manager@example.org")
    response = post(client, "/admin/clinicians", {"name": "Dr. Mail", "email": "not-an-address"})
    assert response.status_code == 400
    assert "e-mail address &#39;not-an-address&#39; is not valid" in response.text


# Staff accounts ---------------------------------------------------------------------------


def invite(client, email: str, role: str = "clinician", **placement):
    return post(client, "/admin/accounts", {"email": email, "role": role, **placement})


def test_inviting_a_colleague_without_email_shows_the_link_once(app, staff):
    client = signed_in(app, "manager@example.org")
    response = invite(client, "a2@example.org", clinician_id=staff.clinician_a2)
    assert response.status_code == 200
    assert "E-mail is off on this server: give this set-up link to your colleague yourself" in (
        response.text
    )
    url = re.search(r"http://127\.0\.0\.1:5000/account/set-up/[\w-]+", response.text).group(0)
    token = url.rsplit("/", 1)[1]
    with app.app_context():
        account = db.session.scalar(select(User).where(User.email == "a2@example.org"))
        assert (account.role, account.clinic_id, account.clinician_id) == (
            "clinician",
            staff.clinic_a,
            staff.clinician_a2,
        )
        links = list(db.session.scalars(select(StaffLink)))
        assert len(links) == 1 and token not in links[0].token_hash
        lifetime = links[0].expires_at - links[0].created_at
        assert timedelta(hours=71) < lifetime <= timedelta(hours=72)
    assert [e.action for e in audit_actions(app, "account.invite")] == ["account.invite"]
    assert "invited, not set up yet" in client.get("/admin/accounts").text

    colleague = app.test_client()
    path = f"/account/set-up/{token}"
    assert "a2@example.org" in colleague.get(path).text
    weak = post(colleague, path, {"new": "short", "again": "short"})
    assert weak.status_code == 400 and "use at least 12" in weak.text
    differ = post(colleague, path, {"new": NEW_PASSWORD, "again": NEW_PASSWORD + "x"})
    assert differ.status_code == 400 and "not the same" in differ.text
    done = post(colleague, path, {"new": NEW_PASSWORD, "again": NEW_PASSWORD})
    assert done.status_code == 302 and "password_set=1" in done.location
    assert sign_in(colleague, "a2@example.org", NEW_PASSWORD).status_code == 302
    assert colleague.get("/account/password").status_code == 200
    # Single use: the link is dead now, for anyone.
    assert app.test_client().get(path).status_code == 410
    again = app.test_client()
    assert again.post(path, data={"new": "x" * 20, "again": "x" * 20}).status_code == 400
    assert len(audit_actions(app, "account.set_up")) == 1


def test_an_expired_set_up_link_does_not_work(app, staff):
    client = signed_in(app, "admin@example.org")
    response = invite(client, "rita@uni.example", role="researcher")
    token = re.search(r"/account/set-up/([\w-]+)", response.text).group(1)
    with app.app_context():
        link = db.session.scalar(select(StaffLink))
        link.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    expired = app.test_client().get(f"/account/set-up/{token}")
    assert expired.status_code == 410
    assert "already used or has expired" in expired.text


def test_a_new_set_up_link_replaces_the_old_one(app, staff):
    client = signed_in(app, "admin@example.org")
    first = invite(client, "rita@uni.example", role="researcher")
    old = re.search(r"/account/set-up/[\w-]+", first.text).group(0)
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.email == "rita@uni.example"))
    second = post(client, f"/admin/accounts/{user_id}", {"action": "set-up-link"})
    new = re.search(r"/account/set-up/[\w-]+", second.text).group(0)
    assert new != old
    assert app.test_client().get(old).status_code == 410
    assert app.test_client().get(new).status_code == 200


@pytest.mark.parametrize(
    ("role", "placement"), [("admin", {}), ("researcher", {}), ("manager", {"clinic_id": 2})]
)
def test_a_manager_cannot_create_admins_researchers_or_other_clinics_accounts(
    app, staff, role, placement
):
    client = signed_in(app, "manager@example.org")
    placement = {k: staff.clinic_b for k in placement}
    response = invite(client, "new@example.org", role=role, **placement)
    if role == "manager":
        # A manager's colleague manager always lands in the manager's own clinic.
        assert response.status_code == 200
        with app.app_context():
            made = db.session.scalar(select(User).where(User.email == "new@example.org"))
            assert made.clinic_id == staff.clinic_a
        return
    assert response.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "new@example.org")) is None


def test_a_manager_cannot_give_another_clinics_clinician_an_account(app, staff):
    client = signed_in(app, "manager@example.org")
    response = invite(client, "b1@example.org", clinician_id=staff.clinician_b1)
    assert response.status_code == 403
    with app.app_context():
        assert db.session.scalar(select(User).where(User.email == "b1@example.org")) is None


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"email": "nope", "role": "researcher"}, "e-mail address &#39;nope&#39; is not valid"),
        ({"email": "a1@example.org", "role": "researcher"}, "an account for a1@example.org exists"),
        ({"email": "x@example.org", "role": "clinician"}, "choose which clinician"),
        ({"email": "x@example.org", "role": "manager"}, "choose the clinic"),
    ],
)
def test_bad_invitations_are_named_and_store_nothing(app, staff, data, message):
    client = signed_in(app, "admin@example.org")
    response = post(client, "/admin/accounts", data)
    assert response.status_code == 400
    assert message in response.text
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 4


def test_a_clinician_who_has_an_account_gets_no_second_one(app, staff):
    client = signed_in(app, "admin@example.org")
    response = invite(client, "other@example.org", clinician_id=staff.clinician_a1)
    assert response.status_code == 400
    assert "Dr. Alder One already has an account (a1@example.org)" in response.text


def account_id(app, email: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.email == email))


def test_a_manager_deactivates_and_reactivates_a_colleague(app, staff):
    client = signed_in(app, "manager@example.org")
    target = account_id(app, "a1@example.org")
    colleague = signed_in(app, "a1@example.org")
    path = f"/admin/accounts/{target}"
    assert post(client, path, {"action": "deactivate"}).status_code == 302
    assert colleague.get("/account/password").status_code == 302  # signed out
    assert sign_in(app.test_client(), "a1@example.org").status_code == 401
    assert post(client, path, {"action": "reactivate"}).status_code == 302
    assert sign_in(app.test_client(), "a1@example.org").status_code == 302
    assert [e.detail["active"] for e in audit_actions(app, "account.active")] == [False, True]


def test_a_manager_cannot_manage_admins_or_other_clinics(app, staff):
    client = signed_in(app, "manager@example.org")
    for email in ["admin@example.org", "researcher@example.org"]:
        assert client.get(f"/admin/accounts/{account_id(app, email)}").status_code == 403
    with app.app_context():
        other = User(
            email="mb@example.org", role="manager", clinic_id=staff.clinic_b, password_hash="x"
        )
        db.session.add(other)
        db.session.commit()
        other_id = other.id
    assert client.get(f"/admin/accounts/{other_id}").status_code == 403
    assert "mb@example.org" not in client.get("/admin/accounts").text


def test_nobody_deactivates_themselves_here(app, staff):
    client = signed_in(app, "admin@example.org")
    me = account_id(app, "admin@example.org")
    assert client.get(f"/admin/accounts/{me}").status_code == 403


def test_an_admin_changes_a_role_and_clinic(app, staff):
    client = signed_in(app, "admin@example.org")
    target = account_id(app, "manager@example.org")
    path = f"/admin/accounts/{target}"
    moved = post(
        client, path, {"action": "placement", "role": "manager", "clinic_id": staff.clinic_b}
    )
    assert moved.status_code == 302
    to_researcher = post(client, path, {"action": "placement", "role": "researcher"})
    assert to_researcher.status_code == 302
    with app.app_context():
        account = db.session.get(User, target)
        assert (account.role, account.clinic_id) == ("researcher", None)
    changes = audit_actions(app, "account.placement")
    assert [c.detail["after"]["role"] for c in changes] == ["manager", "researcher"]


# One's own password -----------------------------------------------------------------------


def test_changing_ones_own_password_needs_the_current_one(app, staff):
    client = signed_in(app, "researcher@example.org")
    path = "/account/password"
    wrong = post(client, path, {"current": "wrong", "new": NEW_PASSWORD, "again": NEW_PASSWORD})
    assert wrong.status_code == 400 and "current password is not right" in wrong.text
    weak = post(client, path, {"current": PASSWORD, "new": "short1", "again": "short1"})
    assert weak.status_code == 400 and "has 6 characters; use at least 12" in weak.text
    done = post(client, path, {"current": PASSWORD, "new": NEW_PASSWORD, "again": NEW_PASSWORD})
    assert done.status_code == 302
    assert sign_in(app.test_client(), "researcher@example.org").status_code == 401
    assert sign_in(app.test_client(), "researcher@example.org", NEW_PASSWORD).status_code == 302
    assert len(audit_actions(app, "account.password_check_failed")) == 1
    assert len(audit_actions(app, "account.password")) == 1


def test_wrong_current_passwords_are_throttled(app, staff):
    client = signed_in(app, "researcher@example.org")
    for _ in range(5):
        post(client, "/account/password", {"current": "wrong", "new": "x", "again": "x"})
    blocked = post(
        client,
        "/account/password",
        {"current": PASSWORD, "new": NEW_PASSWORD, "again": NEW_PASSWORD},
    )
    assert blocked.status_code == 400 and "too many wrong passwords" in blocked.text


# Forgotten passwords and e-mail -----------------------------------------------------------


def forgot(client, email: str):
    return post(client, "/account/forgot", {"email": email})


def without_token(html: str) -> str:
    return re.sub(r'value="[^"]+"', "", html)


def test_forgot_password_without_email_says_ask_your_administrator(app, staff, client):
    page = client.get("/account/forgot")
    assert "ask your administrator" in page.text
    token = csrf_token(client.get("/sign-in").text)
    refused = client.post(
        "/account/forgot", data={"email": "admin@example.org", "csrf_token": token}
    )
    assert refused.status_code == 503 and "ask your administrator" in refused.text
    with app.app_context():
        assert db.session.scalar(select(func.count(StaffLink.id))) == 0


def test_forgot_password_answers_the_same_for_known_and_unknown_addresses(app, staff, smtp_server):
    inbox, smtp_url = smtp_server
    app.config["SMTP_URL"] = smtp_url
    known = forgot(app.test_client(), "manager@example.org")
    unknown = forgot(app.test_client(), "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    assert without_token(known.text) == without_token(unknown.text)
    assert "If that address belongs to an account" in known.text
    [message] = inbox.wait_for(1)
    assert message["To"] == "manager@example.org"
    assert message["From"] == "survey@clinic.example"
    url = link_in(message)
    assert url.startswith("http://127.0.0.1:5000/account/reset/")
    path = url.removeprefix("http://127.0.0.1:5000")
    client = app.test_client()
    assert post(client, path, {"new": NEW_PASSWORD, "again": NEW_PASSWORD}).status_code == 302
    assert sign_in(app.test_client(), "manager@example.org", NEW_PASSWORD).status_code == 302
    assert app.test_client().get(path).status_code == 410  # single use
    with app.app_context():
        link = db.session.scalar(select(StaffLink))
        assert timedelta(minutes=59) < link.expires_at - link.created_at <= timedelta(hours=1)
    assert len(inbox.messages) == 1


def test_a_reset_link_expires_after_an_hour(app, staff, smtp_server):
    inbox, smtp_url = smtp_server
    app.config["SMTP_URL"] = smtp_url
    forgot(app.test_client(), "manager@example.org")
    path = link_in(inbox.wait_for(1)[0]).removeprefix("http://127.0.0.1:5000")
    with app.app_context():
        link = db.session.scalar(select(StaffLink))
        link.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert app.test_client().get(path).status_code == 410


def test_the_set_up_mail_arrives_with_an_absolute_link(app, staff, smtp_server):
    inbox, smtp_url = smtp_server
    app.config["SMTP_URL"] = smtp_url
    app.config["BASE_URL"] = "https://survey.clinic.example"
    client = signed_in(app, "manager@example.org")
    response = invite(client, "a2@example.org", clinician_id=staff.clinician_a2)
    assert response.status_code == 302
    assert "/account/set-up/" not in client.get(response.location).text  # not shown: mailed
    [message] = inbox.wait_for(1)
    assert message["To"] == "a2@example.org"
    url = link_in(message)
    assert url.startswith("https://survey.clinic.example/account/set-up/")
    path = url.removeprefix("https://survey.clinic.example")
    assert app.test_client().get(path).status_code == 200


def test_a_failed_set_up_mail_shows_the_link_and_the_reason(app, staff):
    from .mailbox import free_port

    app.config["SMTP_URL"] = f"smtp+plain://127.0.0.1:{free_port()}"
    client = signed_in(app, "manager@example.org")
    response = invite(client, "a2@example.org", clinician_id=staff.clinician_a2)
    assert response.status_code == 200
    assert "The e-mail could not be sent (cannot reach the SMTP server" in response.text
    assert re.search(r"/account/set-up/[\w-]+", response.text)


def test_reset_requests_are_limited_per_address(app, staff, smtp_server):
    inbox, smtp_url = smtp_server
    app.config["SMTP_URL"] = smtp_url
    for _ in range(7):
        assert forgot(app.test_client(), "manager@example.org").status_code == 200
    inbox.wait_for(5)
    with app.app_context():
        assert db.session.scalar(select(func.count(StaffLink.id))) == 5
