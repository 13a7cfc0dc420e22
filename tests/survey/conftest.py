"""Fixtures for the app: a clinic with a clinician, invitations, and a respondent driver."""

from __future__ import annotations

import re
import shutil
import threading
from dataclasses import dataclass

import pytest
from flask.testing import FlaskClient

from items import load_bank
from survey.extensions import db
from survey.invitations import invite_dyad, invite_self_assessment
from survey.models import Clinic, Clinician

CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(html: str) -> str:
    match = CSRF_PATTERN.search(html)
    if match is None:
        raise AssertionError("no csrf_token in the page")
    return match.group(1)


@pytest.fixture
def clinician_id(app) -> int:
    with app.app_context():
        clinic = Clinic(name="Riverside Health")
        clinician = Clinician(clinic=clinic, name="Dr. Test")
        db.session.add_all([clinic, clinician])
        db.session.commit()
        return clinician.id


@pytest.fixture
def dyad_links(app, clinician_id):
    with app.app_context():
        return invite_dyad(clinician_id)


@pytest.fixture
def self_link(app, clinician_id):
    with app.app_context():
        return invite_self_assessment(clinician_id)


@dataclass
class Respondent:
    """Drives one invitation link through the test client as a browser would."""

    client: FlaskClient
    url: str
    form_id: str

    @property
    def form(self):
        return load_bank().form(self.form_id)

    def open(self):
        return self.client.get(self.url)

    def page_url(self, page: int) -> str:
        return f"{self.url}/{page}"

    def post_page(self, page: int, answers: dict[str, str], *, nav="next", token=True, extra=None):
        data = dict(answers)
        data["nav"] = nav
        if token:
            data["csrf_token"] = csrf_token(self.client.get(self.page_url(page)).text)
        data.update(extra or {})
        return self.client.post(self.page_url(page), data=data)

    def answer_all(self, value_for=lambda item: "4"):
        for page, section in enumerate(self.form.sections, start=1):
            response = self.post_page(page, {item.id: value_for(item) for item in section.items})
            assert response.status_code == 302, response.text

    def submit(self):
        token = csrf_token(self.client.get(f"{self.url}/review").text)
        return self.client.post(f"{self.url}/submit", data={"csrf_token": token})


@pytest.fixture
def patient(client, dyad_links):
    return Respondent(client, dyad_links.patient_url, "patient")


@pytest.fixture
def clinician_respondent(app, dyad_links):
    return Respondent(app.test_client(), dyad_links.clinician_url, "clinician-dyad")


# A real browser for the tests marked "browser": Debian's chromium driven by Playwright.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture
def browser():
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = base
    yield base
    server.shutdown()
    thread.join(timeout=5)
