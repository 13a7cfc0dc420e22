"""Load and fault benchmark: concurrent respondents against gunicorn and PostgreSQL, with a
worker and the master killed (``kill -9``) and, optionally, PostgreSQL restarted mid-run.

What it does, bounded and on the loopback interface only:

1. makes a fresh schema in the PostgreSQL database ``--database-url`` (dropped at the end),
   builds it with the migrations and adds one clinic, one clinician and ``--respondents``
   dyads, each with a patient link;
2. starts gunicorn with ``docs/deploy/gunicorn.conf.py`` (``--workers`` sync workers) under
   ``benchmarks/supervise.py``, the stand-in for systemd's ``Restart=always`` +
   ``KillMode=control-group``;
3. lets every respondent, each in its own thread and browser session, open the link, answer
   every page (GET the page, POST it with its CSRF token), open the review and submit, as a
   patient would; a request that fails (connection refused or reset, 5xx, timeout) is retried
   after a short pause, as a patient would press reload, until ``--deadline`` seconds;
4. meanwhile, at set fractions of the expected requests: ``kill -9`` of one worker, ``kill -9``
   of the master (the supervisor brings the service back; the time until the port answers
   again is measured), and with ``--restart-postgres`` one ``pg_ctlcluster restart`` of the
   server (the time until a page that reads the database answers again is measured);
5. checks the database: every page a respondent saw confirmed (a 302 after its POST) is stored
   whole with the values sent, every confirmed submission is stored once with every item,
   no invitation has two responses, no response is stored half; and checks that no survey
   token appears in the gunicorn access log.

Run with ``python benchmarks/load_and_faults.py [--respondents 200] [--workers 4]
[--restart-postgres] [--no-faults] [--json FILE]``; it prints the figures and exits non-zero
when a check fails. Not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests
import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
RETRY_PAUSE = 0.3


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    done_requests: int = 0

    def ok(self, seconds: float) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.done_requests += 1

    def error(self, kind: str) -> None:
        with self.lock:
            self.errors[kind] = self.errors.get(kind, 0) + 1


@dataclass
class Respondent:
    index: int
    token: str
    confirmed_pages: list[int] = field(default_factory=list)
    submitted: bool = False
    failure: str | None = None

    def value(self, item_index: int) -> int:
        return 1 + (self.index + item_index) % 5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def schema_url(url: str, schema: str) -> str:
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


def sqlalchemy_url(url: str) -> str:
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def prepare_database(base_url: str, schema: str, n: int, env: dict) -> list[str]:
    """A fresh schema built by the migrations, with ``n`` patient links; returns the tokens."""
    engine = sa.create_engine(sqlalchemy_url(base_url))
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        connection.execute(sa.text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    script = (
        "import json\n"
        "from flask_migrate import upgrade\n"
        "from survey import create_app\n"
        "from survey.extensions import db\n"
        "from survey.invitations import invite_dyad\n"
        "from survey.models import Clinic, Clinician\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    upgrade()\n"
        "    clinician = Clinician(clinic=Clinic(name='Load Clinic'), name='Dr. Load')\n"
        "    db.session.add(clinician)\n"
        "    db.session.commit()\n"
        f"    links = [invite_dyad(clinician.id).patient_url for _ in range({n})]\n"
        "print(json.dumps([url.rsplit('/', 1)[1] for url in links]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def wait_until_answers(base: str, path: str = "/", timeout: float = 180.0) -> float:
    """Seconds until ``path`` answers 200; raises after ``timeout``. Under load the probe waits
    in the same queue as every respondent, so each try may take as long as their requests."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            response = requests.get(base + path, timeout=60, allow_redirects=False)
            if response.status_code == 200:
                return time.monotonic() - start
        except requests.RequestException:
            pass
        time.sleep(0.02)
    raise RuntimeError(f"{base}{path} did not answer within {timeout} s")


def wait_until_listening(port: int, timeout: float = 120.0) -> float:
    """Seconds until a TCP connection to the port is accepted (polled every 20 ms)."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return time.monotonic() - start
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"port {port} did not accept connections within {timeout} s")


def children_of(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            kids.append(int(entry.name))
    return kids


def survivors_of(pids: list[int]) -> list[int]:
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.append(pid)
    return alive


class Site:
    """One respondent's browser: a session with cookies, and retries as a patient would."""

    def __init__(self, base: str, stats: Stats, deadline: float):
        self.base = base
        self.stats = stats
        self.deadline = deadline
        self.http = requests.Session()

    def call(self, method: str, path: str, *, data=None, expect=(200,)) -> requests.Response:
        while time.monotonic() < self.deadline:
            start = time.monotonic()
            try:
                response = self.http.request(
                    method, self.base + path, data=data, timeout=30, allow_redirects=False
                )
            except requests.ConnectionError:
                self.stats.error("connection")
            except requests.Timeout:
                self.stats.error("timeout")
            else:
                if response.status_code in expect:
                    self.stats.ok(time.monotonic() - start)
                    return response
                self.stats.error(f"http {response.status_code}")
                if response.status_code < 500 and response.status_code != 409:
                    raise RuntimeError(f"{method} {path}: {response.status_code}")
            time.sleep(RETRY_PAUSE)
        raise TimeoutError(f"{method} {path}: no answer before the deadline")


def respond(respondent: Respondent, form, base: str, stats: Stats, deadline: float) -> None:
    site = Site(base, stats, deadline)
    url = f"/s/{respondent.token}"
    item_index = {item.id: i for i, item in enumerate(form.items)}
    try:
        site.call("GET", url)
        for page, section in enumerate(form.sections, start=1):
            html = site.call("GET", f"{url}/{page}").text
            data = {item.id: str(respondent.value(item_index[item.id])) for item in section.items}
            data |= {"nav": "next", "csrf_token": CSRF.search(html).group(1)}
            site.call("POST", f"{url}/{page}", data=data, expect=(302,))
            respondent.confirmed_pages.append(page)
        while not respondent.submitted:
            html = site.call("GET", f"{url}/review", expect=(200, 409)).text
            match = CSRF.search(html)
            if match is not None:
                site.call(
                    "POST", f"{url}/submit", data={"csrf_token": match.group(1)}, expect=(302, 409)
                )
            # 409 is "already submitted" when an earlier try was stored but its answer was lost
            # to a fault, or "saved twice at once": the thank-you page tells which.
            thanks = site.call("GET", f"{url}/thanks", expect=(200, 302))
            respondent.submitted = thanks.status_code == 200
    except Exception as error:  # recorded and reported; the run goes on
        respondent.failure = f"{type(error).__name__}: {error}"


def inject_faults(args, stats, expected, pidfile, base, check_path, report) -> None:
    """kill -9 a worker, kill -9 the master, restart PostgreSQL, at set shares of the load."""

    def at_share(share: float) -> None:
        while stats.done_requests < share * expected:
            time.sleep(0.05)

    master = int(Path(pidfile).read_text())
    at_share(0.2)
    worker = children_of(master)[0]
    os.kill(worker, signal.SIGKILL)
    report["worker_killed_at_request"] = stats.done_requests

    at_share(0.45)
    master = int(Path(pidfile).read_text())
    workers = children_of(master)
    killed = time.monotonic()
    os.kill(master, signal.SIGKILL)
    report["master_killed_at_request"] = stats.done_requests
    # Workers that die with their master are gone (and the old socket with them) in moments;
    # orphans would keep the port for as long as they live.
    while survivors_of(workers) and time.monotonic() - killed < 60:
        time.sleep(0.01)
    report["master_kill_to_old_workers_gone_seconds"] = round(time.monotonic() - killed, 3)
    report["orphaned_workers_after_60_seconds"] = len(survivors_of(workers))
    while Path(pidfile).read_text().strip() == str(master) and time.monotonic() - killed < 60:
        time.sleep(0.01)
    wait_until_listening(int(base.rsplit(":", 1)[1]))
    report["master_kill_to_port_listening_seconds"] = round(time.monotonic() - killed, 3)
    wait_until_answers(base, "/")
    report["master_kill_to_first_page_seconds"] = round(time.monotonic() - killed, 3)

    if args.restart_postgres:
        at_share(0.7)
        cluster = sorted(os.listdir("/etc/postgresql"))[-1]
        started = time.monotonic()
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "restart"],
            check=True,
            timeout=120,
        )
        report["postgres_restarted_at_request"] = stats.done_requests
        report["postgres_restart_seconds"] = round(time.monotonic() - started, 3)
        wait_until_answers(base, check_path)
        report["postgres_recovery_seconds"] = round(time.monotonic() - started, 3)


def verify(engine, respondents, form) -> dict:
    """Every confirmed page stored whole, every confirmed submission once and complete."""
    page_items = [[item.id for item in section.items] for section in form.sections]
    item_index = {item.id: i for i, item in enumerate(form.items)}
    by_token = {}
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT i.token_hash, i.state, r.id, r.submitted_at IS NOT NULL, "
                "a.item_id, a.value, a.code "
                "FROM invitation i LEFT JOIN response r ON r.invitation_id = i.id "
                "LEFT JOIN answer a ON a.response_id = r.id"
            )
        ).all()
        duplicates = connection.scalar(
            sa.text(
                "SELECT count(*) FROM (SELECT invitation_id FROM response "
                "GROUP BY invitation_id HAVING count(*) > 1) d"
            )
        )
        duplicate_answers = connection.scalar(
            sa.text(
                "SELECT count(*) FROM (SELECT response_id, item_id FROM answer "
                "GROUP BY response_id, item_id HAVING count(*) > 1) d"
            )
        )
        submit_events = connection.scalar(
            sa.text("SELECT count(*) FROM audit_event WHERE action = 'response.submit'")
        )
    for token_hash, state, _response_id, submitted, item_id, value, code in rows:
        entry = by_token.setdefault(token_hash, {"state": state, "submitted": submitted, "a": {}})
        if item_id is not None:
            entry["a"][item_id] = (value, code)
    from survey.invitations import hash_token

    lost_pages = wrong_values = half_pages = lost_submissions = incomplete_submitted = 0
    for respondent in respondents:
        entry = by_token[hash_token(respondent.token)]
        stored = entry["a"]
        for page, ids in enumerate(page_items, start=1):
            present = [i for i in ids if i in stored]
            if present and len(present) != len(ids):
                half_pages += 1
            if page in respondent.confirmed_pages and len(present) != len(ids):
                lost_pages += 1
            for item_id in present:
                if stored[item_id] != (respondent.value(item_index[item_id]), None):
                    wrong_values += 1
        if respondent.submitted and not entry["submitted"]:
            lost_submissions += 1
        if entry["submitted"] and len(stored) != len(form.items):
            incomplete_submitted += 1
    submitted = sum(1 for entry in by_token.values() if entry["submitted"])
    return {
        "submitted_in_database": submitted,
        "submit_audit_events": submit_events,
        "confirmed_pages_lost": lost_pages,
        "half_stored_pages": half_pages,
        "wrong_values": wrong_values,
        "confirmed_submissions_lost": lost_submissions,
        "submitted_responses_incomplete": incomplete_submitted,
        "invitations_with_two_responses": duplicates,
        "duplicate_answer_rows": duplicate_answers,
    }


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgresql://127.0.0.1:5432/test")
    parser.add_argument("--respondents", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--deadline", type=float, default=600.0)
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument("--restart-postgres", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    from items import load_bank

    form = load_bank().form("patient")
    schema = f"hs_bench_{os.getpid()}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    workdir = Path(tempfile.mkdtemp(prefix="hs-load-"))
    env = {
        **os.environ,
        "DATABASE_URL": schema_url(args.database_url, schema),
        "SECRET_KEY": secrets.token_hex(32),
        "HEALING_SURVEY_BIND": f"127.0.0.1:{port}",
        "HEALING_SURVEY_WORKERS": str(args.workers),
    }
    tokens = prepare_database(args.database_url, schema, args.respondents, env)
    respondents = [Respondent(i, token) for i, token in enumerate(tokens)]
    gunicorn = Path(sys.executable).with_name("gunicorn")
    pidfile = workdir / "master.pid"
    access_log = workdir / "gunicorn.log"
    supervisor = subprocess.Popen(
        [
            sys.executable,
            str(REPO / "benchmarks" / "supervise.py"),
            "--pidfile",
            str(pidfile),
            "--",
            str(gunicorn),
            "-c",
            str(REPO / "docs" / "deploy" / "gunicorn.conf.py"),
        ],
        cwd=REPO,
        env=env,
        stdout=access_log.open("w"),
        stderr=subprocess.STDOUT,
    )
    report: dict = {
        "respondents": args.respondents,
        "workers": args.workers,
        "cores": os.cpu_count(),
        "load_average_at_start": os.getloadavg()[0],
    }
    engine = sa.create_engine(sqlalchemy_url(schema_url(args.database_url, schema)))
    try:
        wait_until_answers(base, "/")
        stats = Stats()
        requests_per_respondent = 2 * len(form.sections) + 4
        expected = requests_per_respondent * args.respondents
        deadline = time.monotonic() + args.deadline
        threads = [
            threading.Thread(target=respond, args=(r, form, base, stats, deadline))
            for r in respondents
        ]
        faults = None
        if not args.no_faults:
            faults = threading.Thread(
                target=inject_faults,
                args=(args, stats, expected, pidfile, base, f"/s/{tokens[0]}", report),
            )
        started = time.monotonic()
        for thread in threads:
            thread.start()
        if faults is not None:
            faults.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        if faults is not None:
            faults.join(timeout=120)
        completed = sum(1 for r in respondents if r.submitted)
        failures = [r.failure for r in respondents if r.failure]
        report |= {
            "completed": completed,
            "failed_respondents": len(failures),
            "failures": failures[:5],
            "requests_ok": len(stats.latencies),
            "request_errors_retried": stats.errors,
            "seconds": round(elapsed, 2),
            "throughput_requests_per_second": round(len(stats.latencies) / elapsed, 1),
            "latency_p50": round(statistics.median(stats.latencies), 3),
            "latency_p95": round(percentile(stats.latencies, 0.95), 3),
            "latency_p99": round(percentile(stats.latencies, 0.99), 3),
            "latency_max": round(max(stats.latencies), 3),
            **verify(engine, respondents, form),
        }
    finally:
        supervisor.send_signal(signal.SIGTERM)
        try:
            supervisor.wait(timeout=40)
        except subprocess.TimeoutExpired:
            supervisor.kill()
        engine.dispose()
        cleanup = sa.create_engine(sqlalchemy_url(args.database_url))
        with cleanup.begin() as connection:
            connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        cleanup.dispose()
    log_text = access_log.read_text(errors="replace")
    report["tokens_in_access_log"] = sum(log_text.count(t) for t in tokens)
    report["access_log_lines"] = log_text.count('" 30') + log_text.count('" 20')
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    broken = [
        key
        for key in (
            "confirmed_pages_lost",
            "half_stored_pages",
            "wrong_values",
            "confirmed_submissions_lost",
            "submitted_responses_incomplete",
            "invitations_with_two_responses",
            "duplicate_answer_rows",
            "tokens_in_access_log",
            "failed_respondents",
        )
        if report.get(key)
    ]
    if report.get("submitted_in_database") != report.get("completed"):
        broken.append("submitted_in_database != completed")
    if broken:
        print(f"FAILED checks: {', '.join(broken)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
