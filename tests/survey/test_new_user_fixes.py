"""What came up when healing-survey was tried as a new user would (issue 8): each test here
failed on the code before the fix."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys

import pytest
from babel.dates import format_date
from click.testing import CliRunner
from sqlalchemy import select

from items import load_bank
from survey import create_app
from survey.extensions import db
from survey.invitations import invite_dyad
from survey.models import Answer, Invitation, Response

from .conftest import Respondent, csrf_token
from .staff import add_staff, sign_in

# Navigation -------------------------------------------------------------------------------


@pytest.fixture
def staff(app):
    with app.app_context():
        return add_staff()


def signed_in(app, email):
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def nav_links(html: str) -> dict[str, str]:
    nav = re.search(r'<nav class="staff" aria-label="Main">(.*?)</nav>', html, re.S)
    assert nav is not None, "no navigation on the page"
    return {label: attrs for attrs, label in re.findall(r"<a ([^>]*)>([^<]+)</a>", nav.group(1))}


def test_the_exports_page_has_the_navigation_with_the_current_page_marked(app, staff):
    links = nav_links(signed_in(app, "manager@example.org").get("/exports/").text)
    assert list(links) == [
        "healing-survey",
        "Dashboards",
        "Invitations",
        "Exports",
        "Administration",
        "Password",
    ]
    assert 'href="/"' in links["healing-survey"]
    assert 'aria-current="page"' in links["Exports"]
    assert "aria-current" not in links["Dashboards"]


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        (
            "admin@example.org",
            {"Dashboards", "Invitations", "Exports", "Administration", "Audit log"},
        ),
        ("researcher@example.org", {"Dashboards", "Exports"}),
        ("a1@example.org", {"Dashboards"}),
    ],
)
def test_the_navigation_follows_the_role(app, staff, email, expected):
    links = nav_links(signed_in(app, email).get("/dashboard/", follow_redirects=True).text)
    assert set(links) - {"healing-survey", "Password"} == expected
    assert 'aria-current="page"' in links["Dashboards"]


def test_error_pages_have_the_navigation(app, staff, client):
    signed = signed_in(app, "manager@example.org")
    not_found = signed.get("/no-such-page")
    assert not_found.status_code == 404
    assert "Administration" in nav_links(not_found.text)
    forbidden = signed.get("/admin/clinics")
    assert forbidden.status_code == 403 and "Exports" in nav_links(forbidden.text)
    anonymous = client.get("/no-such-page")
    assert list(nav_links(anonymous.text)) == ["healing-survey", "Sign in"]


def test_respondents_see_no_staff_navigation(app, dyad_links, client):
    page = client.get(dyad_links.patient_url).text
    assert 'class="staff"' not in page and "Sign in" not in page


# Exports ----------------------------------------------------------------------------------


def offered_downloads(html: str) -> list[str]:
    """Every download the page offers: each form's first format, with its fixed fields."""
    urls = []
    for form in re.findall(
        r'<form method="get" action="/exports/download">(.*?)</form>', html, re.S
    ):
        fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]+)"', form))
        first = re.search(r'name="format" value="([\w-]+)"', form).group(1)
        query = "&".join(f"{k}={v}" for k, v in {**fields, "format": first}.items())
        urls.append(f"/exports/download?{query}")
    urls += [
        u.replace("&amp;", "&") for u in re.findall(r'href="(/exports/download\?[^"]+)"', html)
    ]
    return urls


@pytest.mark.parametrize(
    "email", ["manager@example.org", "admin@example.org", "researcher@example.org"]
)
def test_the_exports_page_offers_only_what_the_role_can_download(app, staff, email):
    client = signed_in(app, email)
    page = client.get("/exports/").text
    urls = offered_downloads(page)
    assert urls
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, (url, response.text[:300])
        response.close()
    self_responses = [u for u in urls if "form=clinician-self" in u and "format=csv&" in u + "&"]
    if email == "manager@example.org":
        assert not self_responses
        assert "not exported for a clinic" in page


# The database cannot be used --------------------------------------------------------------


def run_cli(args: list[str], database_url: str, tmp_path) -> tuple[int, str]:
    from survey.cli import main

    runner = CliRunner()
    env = {"DATABASE_URL": database_url, "SECRET_KEY": "x", "FLASK_APP": ""}
    result = runner.invoke(main, args, env=env, catch_exceptions=False)
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://ada:s3cret@127.0.0.1:9/survey",
            "Error: cannot reach the database at postgresql://ada@127.0.0.1:9/survey"
            " (password hidden): is the server running?",
        ),
        (
            "mysql://ada:s3cret@127.0.0.1/survey",
            "Error: DATABASE_URL mysql://ada@127.0.0.1/survey (password hidden) is not a database"
            " healing-survey can use; expected sqlite:////path/to/file.sqlite or"
            " postgresql://user@host:5432/name",
        ),
        (
            "nonsense",
            "Error: DATABASE_URL (not a URL) is not a database healing-survey can use",
        ),
    ],
)
def test_an_unusable_database_is_one_line_on_the_cli(url, expected, tmp_path):
    code, output = run_cli(["user", "list"], url, tmp_path)
    assert code == 1
    assert output.strip().startswith(expected), output
    assert len(output.strip().splitlines()) == 1
    assert "Traceback" not in output and "s3cret" not in output


def test_a_database_without_tables_says_run_db_upgrade(tmp_path):
    path = tmp_path / "empty.sqlite"
    sqlite3.connect(path).close()
    for args in (
        ["user", "list"],
        ["clinic", "add", "Riverside"],
        ["user", "add", "--email", "a@b.org", "--role", "admin"],
    ):
        code, output = run_cli(args, f"sqlite:///{path}", tmp_path)
        assert code == 1
        assert output.strip() == (
            f"Error: the database at sqlite:///{path} has no tables:"
            " run `healing-survey db upgrade`"
        ), output


def test_db_upgrade_then_works_on_that_file(tmp_path):
    path = tmp_path / "new.sqlite"
    code, output = run_cli(["db", "upgrade"], f"sqlite:///{path}", tmp_path)
    assert code == 0, output
    code, output = run_cli(["clinic", "add", "Riverside"], f"sqlite:///{path}", tmp_path)
    assert (code, output.strip()) == (0, "clinic 1: Riverside (the forms say 'your clinician')")


def test_the_real_command_prints_one_line_for_a_closed_port(tmp_path):
    env = {"DATABASE_URL": "postgresql://127.0.0.1:9/db", "SECRET_KEY": "x", "PATH": ""}
    command = [sys.executable, "-c", "from survey.cli import main; main()", "clinic", "list"]
    result = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "Error: cannot reach the database at postgresql://127.0.0.1:9/db: is the server running?"
    )


def test_the_web_app_answers_503_without_a_schema(tmp_path):
    path = tmp_path / "empty.sqlite"
    sqlite3.connect(path).close()
    app = create_app(
        {"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"}
    )
    client = app.test_client()
    response = client.get("/s/some-token-of-a-patient")
    assert response.status_code == 503
    assert "not set up yet" in response.text
    assert "Traceback" not in response.text and "sqlite" not in response.text
    assert "healing-survey" in response.text
    with app.app_context():
        db.engine.dispose()


# demo, run again --------------------------------------------------------------------------


def test_demo_run_again_says_how_to_set_the_managers_password(app, runner):
    from survey.commands import demo

    first = runner.invoke(demo, ["--dyads", "3"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(demo, ["--dyads", "3"])
    assert second.exit_code == 0
    assert "healing-survey user set-password --email manager@demo.example" in second.output


# The clinician's link without a reference; the patient's welcome -------------------------


def test_a_link_without_reference_tells_the_clinician_when_it_was_made(app, clinician_id, client):
    with app.app_context():
        links = invite_dyad(clinician_id)
        made = db.session.scalar(select(Invitation.created_at))
    page = client.get(links.clinician_url).text
    assert not re.search(r"relationship \d", page)
    # The date as the page's language writes it (babel's "long" format: December 5, 2026).
    day = format_date(made, "long", locale="en")
    assert f"the patient whose survey link was made on {day}, wave 1" in page


def test_the_patients_welcome_names_the_clinician(app, dyad_links, client):
    page = client.get(dyad_links.patient_url).text
    assert "These questions are about your care from <strong>Dr. Test</strong>" in page


def test_inviting_without_a_reference_warns(app, runner, clinician_id):
    from survey.commands import invite

    result = runner.invoke(invite, ["--clinician", str(clinician_id)])
    assert result.exit_code == 0
    assert "warning: no --reference" in result.stderr
    with_reference = runner.invoke(invite, ["--clinician", str(clinician_id), "--reference", "P7"])
    assert "warning" not in with_reference.stderr


# Messages that named nothing --------------------------------------------------------------


def test_account_messages_name_what_is_wrong(app, runner, clinician_id):
    from survey.auth.commands import user

    missing = runner.invoke(
        user, ["add", "--email", "c@x.org", "--role", "clinician", "--clinician", "99"]
    )
    assert "there is no clinician with id 99" in missing.output and "none" not in missing.output
    no_id = runner.invoke(user, ["add", "--email", "c@x.org", "--role", "clinician"])
    assert "a clinician account needs --clinician ID" in no_id.output
    runner.invoke(user, ["add", "--email", "lee@x.org", "--role", "researcher"])
    duplicate = runner.invoke(user, ["add", "--email", "lee@x.org", "--role", "researcher"])
    assert "Error: an account for lee@x.org exists already" in duplicate.output
    assert "None" not in duplicate.output
    runner.invoke(
        user,
        ["add", "--email", "c1@x.org", "--role", "clinician", "--clinician", str(clinician_id)],
    )
    taken = runner.invoke(
        user,
        ["add", "--email", "c2@x.org", "--role", "clinician", "--clinician", str(clinician_id)],
    )
    assert f"clinician {clinician_id} already has an account (c1@x.org)" in taken.output


def test_invite_messages_name_the_clinician(app, runner, clinician_id):
    from survey.commands import invite

    result = runner.invoke(invite, ["--clinician", "99", "--reference", "P1"])
    assert "Error: there is no clinician with id 99" in result.output


# Clinic and clinician commands ------------------------------------------------------------


def test_clinic_and_clinician_rename_and_retire_on_the_cli(app, runner, clinician_id):
    from survey.commands import clinic, clinician, invite

    assert runner.invoke(clinic, ["add", "Hillside"]).exit_code == 0
    renamed = runner.invoke(clinic, ["rename", "Riverside Health", "Riverside Family Health"])
    assert renamed.output.strip().endswith("Riverside Family Health")
    taken = runner.invoke(clinic, ["rename", "Hillside", "Riverside Family Health"])
    assert taken.exit_code == 1
    assert "a clinic named 'Riverside Family Health' already exists" in taken.output
    unknown = runner.invoke(clinic, ["retire", "Nowhere"])
    assert "no clinic named 'Nowhere'" in unknown.output
    assert runner.invoke(clinician, ["rename", str(clinician_id), "Dr. T. Test"]).exit_code == 0
    retired = runner.invoke(clinician, ["retire", str(clinician_id)])
    assert "Dr. T. Test (Riverside Family Health), retired" in retired.output
    again = runner.invoke(clinician, ["retire", str(clinician_id)])
    assert "is already retired" in again.output and again.exit_code == 1
    refused = runner.invoke(invite, ["--clinician", str(clinician_id), "--reference", "P2"])
    assert refused.exit_code == 1
    assert "is retired and gets no new invitations" in refused.output
    assert runner.invoke(clinician, ["retire", str(clinician_id), "--undo"]).exit_code == 0
    assert runner.invoke(clinic, ["retire", "Riverside Family Health"]).exit_code == 0
    closed = runner.invoke(invite, ["--clinician", str(clinician_id), "--reference", "P3"])
    assert "the clinic 'Riverside Family Health' is retired" in closed.output
    missing = runner.invoke(clinician, ["rename", "99", "X"])
    assert "there is no clinician with id 99" in missing.output
    empty = runner.invoke(clinician, ["rename", str(clinician_id), "  "])
    assert "the clinician name is empty" in empty.output


# Answers saved as they are chosen, and cleared ---------------------------------------------


def stored(app) -> dict[str, int | str]:
    with app.app_context():
        rows = db.session.execute(select(Answer.item_id, Answer.value, Answer.code))
        return {item: value if code is None else code for item, value, code in rows}


def save_one(patient: Respondent, item: str, value: str, *, token: bool = True):
    data = {"item": item, "value": value}
    if token:
        data["csrf_token"] = csrf_token(patient.client.get(patient.page_url(1)).text)
    return patient.client.post(f"{patient.url}/answer", data=data)


def test_an_answer_is_saved_the_moment_it_is_chosen_and_can_be_cleared(app, patient):
    first, second = load_bank().form("patient").sections[0].items[:2]
    assert save_one(patient, first.id, "4").status_code == 200
    assert save_one(patient, second.id, "2").status_code == 200
    assert stored(app) == {first.id: 4, second.id: 2}
    assert save_one(patient, first.id, "").status_code == 200
    assert stored(app) == {second.id: 2}
    # The page shows what was saved, and nothing for the cleared one.
    page = patient.client.get(patient.page_url(1)).text
    assert re.search(rf'name="{second.id}"[^>]*value="2"[^>]*checked', page) or re.search(
        rf'checked[^>]*name="{second.id}"[^>]*value="2"', page
    )
    assert patient.submit().status_code == 302
    assert stored(app)[first.id] == "skipped"


@pytest.mark.parametrize(
    ("item", "value", "token", "status"),
    [
        (None, "6", True, 400),
        (None, "not_applicable", True, 400),
        ("nope", "3", True, 400),
        (None, "3", False, 400),
    ],
)
def test_a_bad_single_answer_changes_nothing(app, patient, item, value, token, status):
    first = load_bank().form("patient").sections[0].items[0]
    response = save_one(patient, item or first.id, value, token=token)
    assert response.status_code == status
    assert stored(app) == {}


def test_a_single_answer_after_submission_is_refused(app, patient):
    patient.answer_all()
    token = csrf_token(patient.client.get(patient.page_url(1)).text)
    patient.submit()
    before = stored(app)
    first = load_bank().form("patient").sections[0].items[0]
    response = patient.client.post(
        f"{patient.url}/answer", data={"item": first.id, "value": "1", "csrf_token": token}
    )
    assert response.status_code == 409
    assert "already" in response.text
    assert stored(app) == before


def test_clear_answer_works_without_javascript(app, patient):
    items = load_bank().form("patient").sections[0].items
    patient.post_page(1, {item.id: "5" for item in items})
    page = patient.client.get(patient.page_url(1)).text
    assert page.count("Clear answer") == len(items)
    token = csrf_token(page)
    data = {item.id: "5" for item in items} | {"clear": items[0].id, "csrf_token": token}
    data[items[1].id] = "3"  # a change made on the same page is kept
    response = patient.client.post(patient.page_url(1), data=data)
    assert response.status_code == 302
    assert response.location.endswith(f"/1#q-{items[0].id}")
    saved = stored(app)
    assert items[0].id not in saved and saved[items[1].id] == 3
    with app.app_context():
        assert db.session.scalar(select(Response.resume_section)) == 0


def test_the_page_loads_the_saving_script_from_the_site_only(app, patient):
    page = patient.client.get(patient.page_url(1)).text
    scripts = re.findall(r"<script[^>]*>", page)
    assert scripts == ['<script src="/static/autosave.js" defer>']
    assert "<script>" not in page and "onclick" not in page
    script = patient.client.get("/static/autosave.js")
    assert script.status_code == 200 and "fetch(" in script.text
    script.close()
