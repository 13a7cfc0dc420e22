"""Accessibility (WCAG 2.1 AA) in a real browser: Debian's chromium through Playwright.

- axe-core's WCAG 2.0/2.1 A and AA rules on every respondent and staff page, at 360 px and at
  desktop width: zero violations;
- reflow: at 320 CSS px, and there with the text at 200%, no page scrolls sideways (a wide
  table scrolls inside its own box) and no text is cut off;
- the whole patient form by keyboard alone, focus always visible and in document order;
- errors tied to their question, progress in the heading, no time limit, colour never alone.

One app, one server, one browser and one seeded database for the whole module; each page makes
its own invitations, so the pages do not depend on each other's order.
"""

from __future__ import annotations

import json
import re
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from items import load_bank
from survey import create_app
from survey.delivery.messages import optout_signature
from survey.extensions import db
from survey.invitations import invite_dyad, invite_self_assessment, revoke
from survey.models import Clinic, Invitation, InvitationState, User, Wave, utcnow
from survey.staff.accounts import new_set_up_link, request_password_reset

from ..conftest import app_settings, clear_tables
from .conftest import CHROMIUM, CHROMIUM_ARGS
from .dashboard_seed import seed_clinic
from .staff import PASSWORD, add_user

pytestmark = pytest.mark.browser

# Every page is checked in each of these languages, chosen with ?lang= on every URL; a new
# language joins the check with one entry here.
LANGUAGES = ["en", "es"]
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
DESKTOP = {"width": 1280, "height": 900}
WIDTHS = {"desktop": DESKTOP, "phone": {"width": 360, "height": 740}}
NARROWEST = 320  # WCAG 1.4.10: 1280 px at 400% zoom

STAFF_EMAILS = {
    "admin": "admin@example.org",
    "manager": "manager@example.org",
    "clinician": "clinician@example.org",
    "researcher": "researcher@example.org",
}


@dataclass
class Seeded:
    clinic_id: int
    clinicians: list[int]  # the last one has too few responses: its cells are hidden
    manager_id: int
    revoked_url: str
    expired_url: str
    submitted_url: str
    reset_path: str
    set_up_path: str


@dataclass(frozen=True)
class Links:
    patient: str  # paths on this server
    clinician: str
    patient_invitation: int


@dataclass
class Site:
    """The running app and one browser; a tab per role, signed in once and reused."""

    app: object
    base: str
    browser: object
    seeded: Seeded
    tabs: dict = field(default_factory=dict)
    made: int = 0

    def tab(self, role: str):
        if role not in self.tabs:
            context = self.browser.new_context(viewport=DESKTOP)
            context.set_default_timeout(20_000)
            page = context.new_page()
            if role in STAFF_EMAILS:
                self.sign_in(page, STAFF_EMAILS[role])
            elif role == "tablet":
                self.sign_in(page, STAFF_EMAILS["manager"])
                page.goto(self.base + "/kiosk/")
                submit(page, "form[action$='/kiosk/unlock'] button[type=submit]")
            self.tabs[role] = page
        return self.tabs[role]

    def sign_in(self, page, email: str) -> None:
        page.goto(self.base + "/sign-in")
        page.fill("#email", email)
        page.fill("#password", PASSWORD)
        submit(page, "form.sign-in button[type=submit]")
        page.wait_for_url("**/dashboard/**")

    def url(self, path: str, lang: str) -> str:
        """The page asked for in ``lang`` (English too, so that a language an earlier page kept
        in the session cannot leak into this one)."""
        url = path if path.startswith("http") else self.base + path
        return url + ("&" if "?" in url else "?") + f"lang={lang}"

    def invite(self, *, today: bool = False) -> Links:
        """A new dyad wave, its reference A11Y-<made>."""
        self.made += 1
        with self.app.app_context():
            links = invite_dyad(self.seeded.clinicians[0], reference=f"A11Y-{self.made}")
            if today:
                wave = db.session.scalar(
                    select(Wave).where(Wave.dyad_id == links.dyad, Wave.number == links.wave)
                )
                wave.appointment_on = date.today()
                db.session.commit()
            db.session.remove()
        return Links(
            urlsplit(links.patient_url).path,
            urlsplit(links.clinician_url).path,
            links.patient_invitation,
        )


def seed(app) -> Seeded:
    with app.app_context():
        # 12 and 6 patients show numbers; 3 are too few, so that clinician's cells are hidden.
        clinic = seed_clinic("Alder Clinic", [12, 6, 3], seed=9)
        db.session.add(Clinic(name="Birch Clinic"))
        add_user(STAFF_EMAILS["admin"], "admin")
        add_user(STAFF_EMAILS["manager"], "manager", clinic_id=clinic.clinic_id)
        add_user(
            STAFF_EMAILS["clinician"],
            "clinician",
            clinic_id=clinic.clinic_id,
            clinician_id=clinic.clinician_ids[0],
        )
        add_user(STAFF_EMAILS["researcher"], "researcher")
        db.session.commit()
        clinician = clinic.clinician_ids[0]
        revoked = invite_dyad(clinician, reference="REVOKED")
        revoke(revoked.patient_invitation)
        expired = invite_dyad(clinician, reference="EXPIRED")
        db.session.get(Invitation, expired.patient_invitation).expires_at = utcnow() - timedelta(
            days=1
        )
        submitted = invite_dyad(clinician, reference="SENT")
        sent = db.session.get(Invitation, submitted.patient_invitation)
        sent.state, sent.submitted_at = InvitationState.SUBMITTED, utcnow()
        db.session.commit()
        admin = db.session.scalar(select(User).where(User.email == STAFF_EMAILS["admin"]))
        manager = db.session.scalar(select(User).where(User.email == STAFF_EMAILS["manager"]))
        reset = request_password_reset(STAFF_EMAILS["researcher"], address="127.0.0.1")
        pending = User(email="new@example.org", role="researcher", password_hash="!")
        db.session.add(pending)
        db.session.flush()
        set_up = new_set_up_link(admin, pending)
        db.session.commit()
        seeded = Seeded(
            clinic_id=clinic.clinic_id,
            clinicians=clinic.clinician_ids,
            manager_id=manager.id,
            revoked_url=urlsplit(revoked.patient_url).path,
            expired_url=urlsplit(expired.patient_url).path,
            submitted_url=urlsplit(submitted.patient_url).path,
            reset_path=reset.path,
            set_up_path=set_up.path,
        )
        db.session.remove()
        return seeded


@pytest.fixture(scope="module")
def site(database_url_for_tests):
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed")
    pytest.importorskip("axe_playwright_python", reason="axe-playwright-python not installed")
    from werkzeug.serving import make_server

    app = create_app(app_settings(database_url_for_tests))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["BASE_URL"] = base
    try:
        seeded = seed(app)
        with playwright_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield Site(app, base, browser, seeded)
            browser.close()
    finally:
        server.shutdown()
        thread.join(timeout=5)
        clear_tables(app)


# -- the pages -----------------------------------------------------------------------------
# Each page: the role whose tab shows it, and how to get there (it may post a form first).


@dataclass(frozen=True)
class Visit:
    name: str
    role: str
    go: Callable  # (site, page, lang) -> None


def path_visit(name: str, role: str, path: str | Callable) -> Visit:
    def go(site, page, lang):
        target = path(site) if callable(path) else path
        page.goto(site.url(target, lang))

    return Visit(name, role, go)


# Pages are reached by selectors, not by the words on buttons, so that they work in every language.
SEND = "form[action$='/submit'] button[type=submit]"


def submit(page, selector: str) -> None:
    """Press a form's button and wait for the page the server answers with."""
    with page.expect_navigation():
        page.locator(selector).first.click()


def _section(number: int, form: str = "patient"):
    def go(site, page, lang):
        links = site.invite()
        path = links.patient if form == "patient" else links.clinician
        page.goto(site.url(f"{path}/{number}" if number else path, lang))

    return go


def _self_assessment(site, page, lang):
    with site.app.app_context():
        link = invite_self_assessment(site.seeded.clinicians[0])
        db.session.remove()
    page.goto(site.url(urlsplit(link.url).path, lang))


def _resumed_welcome(site, page, lang):
    patient = site.invite().patient
    page.goto(site.url(patient + "/1", lang))
    page.locator("fieldset.item label.choice").nth(2).click()
    page.locator("button[value=next]").click()
    page.wait_for_url("**/2*")
    page.goto(site.url(patient, lang))


def _with_bad_answer(site, page, lang):
    """A value no choice has (a tampered page): the page comes back with the error shown."""
    patient = site.invite().patient
    page.goto(site.url(patient + "/1", lang))
    page.evaluate(
        "() => { const radio = document.querySelector('fieldset.item input[type=radio]');"
        " radio.value = '9'; radio.checked = true; }"
    )
    submit(page, "button[value=next]")


def _problem(site, page, lang):
    patient = site.invite().patient
    page.goto(site.url(patient + "/1", lang))
    page.evaluate(
        "() => { const radio = document.querySelector('fieldset.item input[type=radio]');"
        " radio.name = 'no_such_question'; radio.checked = true; }"
    )
    submit(page, "button[value=next]")


def _review(site, page, lang):
    patient = site.invite().patient
    page.goto(site.url(patient + "/review", lang))


def _thanks(site, page, lang):
    patient = site.invite().patient
    page.goto(site.url(patient + "/review", lang))
    submit(page, SEND)
    page.wait_for_url("**/thanks*")


def _wrong_code(site, page, lang):
    page.goto(site.url("/s/", lang))
    page.fill("#code", "ABCDE-12345")
    submit(page, "main form button[type=submit]")


def _optout_path(site) -> str:
    invitation_id = site.invite().patient_invitation
    return f"/o/{invitation_id}/{optout_signature(site.app.config['SECRET_KEY'], invitation_id)}"


def _optout_done(site, page, lang):
    page.goto(site.url(_optout_path(site), lang))
    submit(page, "main form button[type=submit]")


def _tablet(site, page, lang):
    site.invite(today=True)
    page.goto(site.url("/kiosk/", lang))


def _tablet_thanks(site, page, lang):
    site.invite(today=True)
    page.goto(site.url("/kiosk/", lang))
    page.locator(".kiosk-choice").last.click()
    page.wait_for_url("**/s/**")
    page.goto(page.url.split("?")[0] + "/review")
    submit(page, SEND)


def _wrong_password(site, page, lang):
    page.goto(site.url("/sign-in", lang))
    page.fill("#email", STAFF_EMAILS["researcher"])
    page.fill("#password", "not the password at all")
    submit(page, "form.sign-in button[type=submit]")


def _links_created(site, page, lang):
    page.goto(site.url("/invitations/new", lang))
    page.locator("select[name=clinician]").select_option(index=1)
    submit(page, "form.staff-form button[type=submit]")


def _invitation_refused(site, page, lang):
    page.goto(site.url("/invitations/new", lang))
    page.evaluate("() => { document.querySelector('form.staff-form').noValidate = true; }")
    submit(page, "form.staff-form button[type=submit]")


APPOINTMENTS = "reference,clinician,appointment_date\n{rows}"


def _upload(site, page, lang, rows: str) -> None:
    page.goto(site.url("/invitations/batch", lang))
    content = APPOINTMENTS.format(rows=rows).encode()
    page.locator("input[name=appointments]").set_input_files(
        {"name": "appointments.csv", "mimeType": "text/csv", "buffer": content}
    )
    submit(page, "form.staff-form button[type=submit]")


def _good_rows(site) -> str:
    site.made += 1
    when = date.today() + timedelta(days=2)
    return "".join(f"B{site.made}-{k},{site.seeded.clinicians[0]},{when}\n" for k in range(3))


def _batch_checked(site, page, lang):
    _upload(site, page, lang, _good_rows(site))


def _batch_problems(site, page, lang):
    _upload(site, page, lang, "P-1,999999,2026-13-40\nP-2,,\n")


def _batch_done(site, page, lang):
    _upload(site, page, lang, _good_rows(site))
    submit(page, "form[action$='/batch/confirm'] button[type=submit]")


def _cards(site, page, lang):
    site.invite()
    page.goto(site.url(f"/invitations/?reference=A11Y-{site.made}", lang))
    page.locator("input[name=ids]").first.check()
    submit(page, "button[form=cards-form]")
    page.wait_for_selector(".sheet")


def _reissued(site, page, lang):
    site.invite()
    page.goto(site.url(f"/invitations/?reference=A11Y-{site.made}", lang))
    submit(page, "form[action$='/reissue'] button[type=submit]")


def _link_made(site, page, lang):
    site.made += 1
    page.goto(site.url("/admin/accounts", lang))
    page.fill("#invite-email", f"colleague{site.made}@example.org")
    page.locator("#role").select_option("researcher")
    submit(page, "form[action$='/admin/accounts'] button[type=submit]")


def _clinic(site) -> str:
    return f"/dashboard/clinics/{site.seeded.clinic_id}"


RESPONDENT_PAGES = [
    Visit("welcome", "patient", _section(0)),
    *(Visit(f"part {n}", "patient", _section(n)) for n in range(1, 7)),
    Visit("welcome again, answers saved", "patient", _resumed_welcome),
    Visit("part 1 with an answer refused", "patient", _with_bad_answer),
    Visit("a malformed page posted", "patient", _problem),
    Visit("review", "patient", _review),
    Visit("thank you", "patient", _thanks),
    path_visit("already submitted", "patient", lambda site: site.seeded.submitted_url),
    path_visit("expired link", "patient", lambda site: site.seeded.expired_url),
    path_visit("revoked link", "patient", lambda site: site.seeded.revoked_url),
    path_visit("unknown link", "patient", "/s/no-such-token-at-all"),
    Visit("clinician's form about a patient", "patient", _section(0, form="clinician")),
    Visit("clinician's form, part 1", "patient", _section(1, form="clinician")),
    Visit("clinician's self-assessment", "patient", _self_assessment),
    path_visit("typed code", "patient", "/s/"),
    Visit("typed code not found", "patient", _wrong_code),
    path_visit("opt-out", "patient", _optout_path),
    Visit("opt-out done", "patient", _optout_done),
    path_visit("tablet locked", "patient", "/kiosk/"),
    path_visit("tablet locked, manager signed in", "manager", "/kiosk/"),
    Visit("tablet unlocked", "tablet", _tablet),
    Visit("tablet thank you", "tablet", _tablet_thanks),
]

STAFF_PAGES = [
    path_visit("home", "visitor", "/"),
    path_visit("sign-in", "visitor", "/sign-in"),
    Visit("sign-in refused", "visitor", _wrong_password),
    path_visit("forgotten password", "visitor", "/account/forgot"),
    path_visit("reset password", "visitor", lambda site: site.seeded.reset_path),
    path_visit("set up account", "visitor", lambda site: site.seeded.set_up_path),
    path_visit("dead account link", "visitor", "/account/set-up/no-such-link"),
    path_visit("page not found", "visitor", "/no/such/page"),
    path_visit("dashboard, admin", "admin", "/dashboard/"),
    path_visit("dashboard, researcher", "researcher", "/dashboard/"),
    path_visit("dashboard, manager", "manager", "/dashboard/"),
    path_visit("dashboard, clinician", "clinician", "/dashboard/"),
    path_visit("clinic, researcher", "researcher", _clinic),
    path_visit("comparison", "manager", lambda site: _clinic(site) + "/comparison"),
    path_visit(
        "clinician page, few responses",
        "manager",
        lambda site: f"/dashboard/clinicians/{site.seeded.clinicians[-1]}",
    ),
    path_visit("filter not understood", "manager", lambda site: _clinic(site) + "?wave=first"),
    path_visit("exports, admin", "admin", "/exports/"),
    path_visit("exports, researcher", "researcher", "/exports/"),
    path_visit("exports, manager", "manager", "/exports/"),
    path_visit("invitations", "manager", "/invitations/"),
    path_visit("invitations, admin", "admin", "/invitations/"),
    path_visit("invite one patient", "manager", "/invitations/new"),
    Visit("invitation refused", "manager", _invitation_refused),
    Visit("links created", "manager", _links_created),
    Visit("link reissued", "manager", _reissued),
    path_visit("appointment list upload", "manager", "/invitations/batch"),
    Visit("appointment list checked", "manager", _batch_checked),
    Visit("appointment list with problems", "manager", _batch_problems),
    Visit("appointment list stored", "manager", _batch_done),
    Visit("printable cards", "manager", _cards),
    path_visit("administration", "admin", "/admin/"),
    path_visit("administration, manager", "manager", "/admin/"),
    path_visit("clinics", "admin", "/admin/clinics"),
    path_visit("clinicians", "admin", "/admin/clinicians"),
    path_visit("clinicians, manager", "manager", "/admin/clinicians"),
    path_visit("staff accounts", "admin", "/admin/accounts"),
    path_visit("staff accounts, manager", "manager", "/admin/accounts"),
    path_visit("one account", "admin", lambda site: f"/admin/accounts/{site.seeded.manager_id}"),
    Visit("set-up link shown", "admin", _link_made),
    path_visit("own password", "clinician", "/account/password"),
    path_visit("audit log", "admin", "/admin/audit/"),
    path_visit("forbidden", "clinician", "/admin/"),
]

PAGES = RESPONDENT_PAGES + STAFF_PAGES
PAGE_IDS = [visit.name for visit in PAGES]


def show(site, visit: Visit, lang: str):
    role = "visitor" if visit.role == "patient" else visit.role  # both signed out, one tab
    page = site.tab(role)
    page.set_viewport_size(DESKTOP)
    page.evaluate("() => document.documentElement.style.removeProperty('font-size')")
    visit.go(site, page, lang)
    page.wait_for_load_state("load")
    return page


# -- axe-core -------------------------------------------------------------------------------


AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}


def axe_violations(page) -> list[dict]:
    """axe-core's violations on the page as it is now; the script is injected once per page."""
    from axe_playwright_python.sync_playwright import Axe

    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(Axe().axe_script)
    return page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)["violations"]


def describe(violations: list[dict]) -> list[str]:
    lines = []
    for violation in violations:
        lines.append(f"  {violation['id']} ({violation['impact']}): {violation['help']}")
        lines.extend(f"    at {' '.join(map(str, node['target']))}" for node in violation["nodes"])
    return lines


# -- reflow ---------------------------------------------------------------------------------

REFLOW_PROBLEMS = """() => {
  const root = document.documentElement;
  const problems = [];
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
    + (el.className && typeof el.className === 'string'
       ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  if (root.scrollWidth > root.clientWidth) {
    // Name the innermost elements that stick out, so the failure says what to fix.
    const sticksOut = (el) => el.getBoundingClientRect().right > root.clientWidth + 1;
    const out = [...document.body.querySelectorAll('*')].filter((el) => sticksOut(el)
      && !(el.parentElement && el.parentElement.closest('.table-scroll'))
      && ![...el.children].some(sticksOut));
    problems.push(`the page scrolls sideways: ${root.scrollWidth} px in ${root.clientWidth} px; `
      + `wider: ${out.slice(0, 4).map(name).join(', ')}`);
  }
  const scrolls = (el) => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  for (const table of document.querySelectorAll('table')) {
    if (!table.getClientRects().length) continue;
    const box = table.parentElement;
    if (table.offsetWidth > box.clientWidth + 1 && !scrolls(box)) {
      problems.push(`${name(table)} is ${table.offsetWidth} px wide outside a scrolling box`);
    }
  }
  // Text cut off: a box that hides its overflow while its content is wider or taller.
  const hidden = ['hidden', 'clip'];
  for (const el of document.body.querySelectorAll('*')) {
    const style = getComputedStyle(el);
    if (!el.getClientRects().length || style.position === 'absolute') continue;
    if (!el.textContent.trim()) continue;
    const cutX = hidden.includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1;
    const cutY = hidden.includes(style.overflowY) && el.scrollHeight > el.clientHeight + 1;
    if (cutX || cutY) {
      problems.push(`${name(el)} cuts its text off (${el.scrollWidth}x${el.scrollHeight} in `
        + `${el.clientWidth}x${el.clientHeight})`);
    }
  }
  return problems;
}"""

DOUBLE_TEXT = """() => {
  const root = document.documentElement;
  root.style.removeProperty('font-size');
  root.style.fontSize = 2 * parseFloat(getComputedStyle(root).fontSize) + 'px';
}"""


def reflow_problems(page) -> list[str]:
    page.set_viewport_size({"width": NARROWEST, "height": 640})
    report = [f"reflow at {NARROWEST} px: {p}" for p in page.evaluate(REFLOW_PROBLEMS)]
    page.evaluate(DOUBLE_TEXT)
    report += [f"reflow at {NARROWEST} px, text 200%: {p}" for p in page.evaluate(REFLOW_PROBLEMS)]
    page.evaluate("() => document.documentElement.style.removeProperty('font-size')")
    return report


# One navigation per page and language serves both checks: most of the time is the page itself.
@pytest.mark.parametrize("visit", PAGES, ids=PAGE_IDS)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_page_meets_wcag_2_1_aa_and_reflows(site, visit, lang):
    page = show(site, visit, lang)
    assert page.evaluate("document.documentElement.lang") == lang
    report = []
    for label, size in WIDTHS.items():
        page.set_viewport_size(size)
        violations = axe_violations(page)
        if violations:
            report.append(f"axe-core at {size['width']} px ({label}):")
            report.extend(describe(violations))
    report += reflow_problems(page)
    assert not report, f"{visit.name} [{lang}], {page.url}:\n" + "\n".join(report)


# -- the keyboard alone ---------------------------------------------------------------------

FOCUSED = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  const ring = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0;
  return {
    position: [...document.querySelectorAll('*')].indexOf(el),
    tag: el.tagName.toLowerCase(),
    type: el.type || '',
    name: el.name || '',
    value: el.value || '',
    checked: !!el.checked,
    text: (el.innerText || '').trim(),
    outline: ring ? style.outlineColor : null,
    shadow: style.boxShadow !== 'none' ? style.boxShadow : null,
    shown: box.width > 0 && box.height > 0 && box.right > 0 && box.bottom > 0,
  };
}"""


def luminance(rgb: tuple[float, ...]) -> float:
    """WCAG relative luminance of an sRGB colour given as 0-255 channels."""
    linear = [c / 255 / 12.92 if c <= 10.3 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_on_white(css_colour: str) -> float:
    channels = tuple(float(c) for c in css_colour[css_colour.index("(") + 1 : -1].split(",")[:3])
    return 1.05 / (luminance(channels) + 0.05)


class Keyboard:
    """Presses keys and checks, after each, that focus is visible and moves in document order."""

    def __init__(self, page):
        self.page = page
        self.last = -1

    def new_page(self) -> None:
        self.last = -1

    def focused(self) -> dict:
        focus = self.page.evaluate(FOCUSED)
        where = f"{focus['tag']} {focus['name'] or focus['text']!r} on {self.page.url}"
        assert focus["shown"], f"focus is on {where}, which is not on the screen"
        assert focus["outline"] or focus["shadow"], f"no focus indicator on {where}"
        if focus["outline"]:
            ratio = contrast_on_white(focus["outline"])
            assert ratio >= 3, f"focus ring {focus['outline']} on {where}: {ratio:.2f}:1 on white"
        return focus

    def tab(self, *, back: bool = False) -> dict:
        self.page.keyboard.press("Shift+Tab" if back else "Tab")
        focus = self.focused()
        moved = focus["position"] < self.last if back else focus["position"] > self.last
        assert moved, f"{'Shift+Tab' if back else 'Tab'} went against the document order: {focus}"
        self.last = focus["position"]
        return focus

    def tab_to(self, text: str, limit: int = 30) -> dict:
        for _ in range(limit):
            focus = self.tab()
            if focus["text"] == text:
                return focus
        raise AssertionError(f"{limit} presses of Tab did not reach {text!r} on {self.page.url}")

    def press(self, key: str) -> dict:
        self.page.keyboard.press(key)
        return self.focused()


def answer_page_by_keyboard(keys: Keyboard, questions: list[str]) -> dict[str, str]:
    """Each question: Tab into it, Space on the first choice, three Arrow Downs to the fourth;
    Tab then reaches its "Clear answer" and the next question. Returns the values chosen."""
    chosen = {}
    keys.new_page()
    assert keys.tab()["text"] == "Skip to content"
    for question in questions:
        focus = keys.tab()
        assert (focus["type"], focus["name"], focus["checked"]) == ("radio", question, False)
        assert keys.press("Space")["checked"]
        for _ in range(3):
            focus = keys.press("ArrowDown")
        assert focus["name"] == question and focus["checked"], focus
        chosen[question] = focus["value"]
        assert keys.tab()["text"].startswith("Clear answer")
    return chosen


def test_the_patient_form_by_keyboard_alone(site):
    from playwright.sync_api import expect

    from survey.models import Answer, Response

    links = site.invite()
    context = site.browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    keys = Keyboard(page)
    page.goto(site.base + links.patient)
    assert keys.tab()["text"] == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"  # the skip link skips
    keys.tab_to("Start")
    page.keyboard.press("Enter")
    chosen = {}
    for part in range(1, 7):
        expect(page.locator(".progress-text")).to_have_text(f"Part {part} of 6")
        questions = page.locator("fieldset.item input[type=radio]").evaluate_all(
            "radios => [...new Set(radios.map((r) => r.name))]"
        )
        chosen |= answer_page_by_keyboard(keys, questions)
        forward = "Review" if part == 6 else "Next"
        assert keys.tab()["text"] == forward
        assert keys.tab()["text"] == "Back"
        assert keys.tab(back=True)["text"] == forward
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Check your answers")).to_be_visible()
    assert page.get_by_text("blank").count() == 0
    keys.new_page()
    keys.tab_to("Send my answers")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    context.close()

    with site.app.app_context():
        stored = db.session.execute(
            select(Answer.item_id, Answer.value)
            .join(Response)
            .where(Response.invitation_id == links.patient_invitation)
        ).all()
        db.session.remove()
    assert {item: str(value) for item, value in stored} == chosen
    with site.app.app_context():
        assert len(chosen) == len(load_bank().form("patient").items)


# -- what a screen reader is told, and colour ----------------------------------------------


def test_errors_are_tied_to_their_question(site):
    from playwright.sync_api import expect

    page = show(site, RESPONDENT_PAGES[8], "en")  # part 1 with an answer refused
    assert RESPONDENT_PAGES[8].name == "part 1 with an answer refused"
    invalid = page.locator("fieldset.item.invalid")
    expect(invalid).to_have_count(1)
    expect(invalid).to_have_accessible_description("Not a valid choice.")
    expect(page.locator("fieldset.item:not(.invalid)[aria-describedby]")).to_have_count(0)

    _wrong_code(site, page, "en")
    expect(page.locator("#code")).to_have_accessible_description(
        "We could not find that code. Check the 10 letters and numbers on your card."
    )


def test_progress_is_announced_in_each_heading(site):
    import re

    from playwright.sync_api import expect

    page = site.tab("visitor")
    patient = site.invite().patient
    for part in range(1, 7):
        page.goto(f"{site.base}{patient}/{part}")
        heading = page.get_by_role("heading", level=1)
        expect(heading).to_have_accessible_name(re.compile(rf"^Part {part} of 6 \w"))
        assert page.title().endswith(f"part {part} of 6")


# One node of Chromium's accessibility tree in Playwright's ARIA snapshot: "- role "name" ...".
ARIA_NODE = re.compile(r'^(?P<indent> *)- (?P<role>[a-z]+)(?: "(?P<name>(?:[^"\\]|\\.)*)")?')
PART_PLACE = {"en": "Part {n} of {total}", "es": "Parte {n} de {total}"}


def _questions_heard(page) -> tuple[list[str], list[tuple[str, list[str]]], int]:
    """What a screen reader is given in the page's main landmark, in reading order: the
    headings, each group with the radio buttons inside it, and the number of radio buttons."""
    nodes = []
    for line in page.locator("main").aria_snapshot().splitlines():
        node = ARIA_NODE.match(line)
        if node:
            name = json.loads(f'"{node["name"]}"') if node["name"] is not None else None
            nodes.append((len(node["indent"]), node["role"], name))
    headings = [name for _, role, name in nodes if role == "heading"]
    groups, inside = [], None
    for depth, role, name in nodes:
        if inside is not None and depth <= inside:
            inside = None
        if role == "group":
            groups.append((name, []))
            inside = depth
        elif role == "radio" and inside is not None:
            groups[-1][1].append(name)
    return headings, groups, sum(role == "radio" for _, role, _ in nodes)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_screen_reader_hears_each_part_as_the_bank_words_it(site, lang):
    """Each part of the patient form as Chromium's accessibility tree gives it to a screen
    reader: the heading names the part and its place; then every question of the bank, in the
    bank's order, is a group named by its number and its words, holding one radio button per
    answer, named by the answer's words; no radio button stands outside a question."""
    form = load_bank(language=lang).form("patient")
    page = site.tab("visitor")
    patient = site.invite().patient
    total = len(form.sections)
    for number, section in enumerate(form.sections, start=1):
        page.goto(site.url(f"{patient}/{number}", lang))
        headings, groups, radios = _questions_heard(page)
        place = PART_PLACE[lang].format(n=number, total=total)
        assert headings[0] == f"{place} {section.heading}"
        expected = [
            (
                f"{position}. {item.text}",
                [option.label for option in item.scale.options]
                + ([item.not_applicable_label] if item.not_applicable else []),
            )
            for position, item in enumerate(section.items, start=1)
        ]
        assert groups == expected, f"part {number} in {lang}"
        assert radios == sum(len(answers) for _, answers in groups)


def test_no_time_limit_on_a_respondent():
    """A patient may pause for hours: the form's token does not expire, and no page moves on
    by itself (axe-core's meta-refresh rule checks the pages as served)."""
    from pathlib import Path

    from survey.config import BASE_SETTINGS

    assert BASE_SETTINGS["WTF_CSRF_TIME_LIMIT"] is None
    templates = Path(__file__).parents[2] / "survey" / "templates"
    timed = [p.name for p in templates.rglob("*.html") if "http-equiv" in p.read_text().lower()]
    assert timed == []


GREYS_ONLY = """() => {
  const colours = [];
  for (const el of document.querySelectorAll('svg.chart *')) {
    for (const attr of ['fill', 'stroke']) {
      const value = getComputedStyle(el)[attr];
      const rgb = value.match(/\\d+(\\.\\d+)?/g);
      if (value.startsWith('rgb') && !(rgb[0] === rgb[1] && rgb[1] === rgb[2])) {
        colours.push(value);
      }
    }
  }
  return colours;
}"""


def test_colour_is_never_the_only_signal(site):
    page = site.tab("manager")
    few = site.seeded.clinicians[-1]
    for path in (f"/dashboard/clinicians/{few}", _clinic(site), _clinic(site) + "/comparison"):
        page.goto(site.base + path)
        assert page.locator("svg.chart").count() > 0
        assert page.evaluate(GREYS_ONLY) == [], f"a chart on {path} is drawn in colour"
        hidden = page.locator(".suppressed").all_text_contents()
        assert all(text.strip() for text in hidden), f"a hidden cell on {path} has no words"
        for row in page.locator("tr.higher th").all_text_contents():
            assert row.startswith("▲"), f"{row!r} on {path} is marked by weight alone"
        if path.startswith("/dashboard/clinicians/"):
            assert hidden, "the clinician with 3 responses shows no hidden cell"


def test_the_checks_see_what_they_look_for(site):
    """The reflow and focus checks on a page made to fail them, so a pass above means something."""
    # A blank page of its own: a page of the site keeps its CSP, which blocks these styles.
    page = site.browser.new_page(viewport={"width": NARROWEST, "height": 640})
    page.set_content(
        "<main><table><tr><td><div style='width: 600px'>wide</div></td></tr></table>"
        "<p style='overflow: hidden; white-space: nowrap; width: 100px'>"
        "a sentence far too long for its box</p>"
        "<button style='outline: none'>no ring</button></main>"
    )
    problems = page.evaluate(REFLOW_PROBLEMS)
    assert len(problems) == 3, problems
    assert problems[0].startswith("the page scrolls sideways")
    assert "outside a scrolling box" in problems[1] and "cuts its text off" in problems[2]
    page.focus("button")
    with pytest.raises(AssertionError, match="no focus indicator"):
        Keyboard(page).focused()
    page.close()
