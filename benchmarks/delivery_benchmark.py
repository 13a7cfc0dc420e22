"""10,000 e-mails through the outbox by two senders at once, one of them killed with ``kill -9``
midway and restarted: how long, and how many messages were lost or repeated.

Everything stays on this machine: a PostgreSQL schema of its own on 127.0.0.1:5432 (dropped at
the end), an SMTP sink (aiosmtpd) on a free loopback port that appends each message's Message-ID
to a file, and two ``healing-survey send --watch`` processes (the real command). The senders start
together; when a third of the messages have arrived, sender A is killed with SIGKILL and started
again. At the end every outbox row must be sent, every Message-ID must have arrived, and none
twice.

Run with ``.venv/bin/python benchmarks/delivery_benchmark.py [--messages N] [--kills K]``.
Not a test.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
BASE = "postgresql+psycopg://127.0.0.1:5432/test"
SCHEMA = "hs_delivery_benchmark"
CONTACT_KEY = "h6ZQmN1v7l2tV9bJXqg3cQkq0p7mR9yT4sUeW8dF2aA="

SINK = """
import sys, time
from aiosmtpd.controller import Controller
from email import message_from_bytes
out = open(sys.argv[2], "a", buffering=1)
class Sink:
    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.original_content)
        out.write(message["Message-ID"] + "\\n")
        return "250 OK"
controller = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
while True:
    time.sleep(3600)
"""


def healing_survey() -> str:
    return str(Path(sys.executable).with_name("healing-survey"))


def environment(port: int) -> dict:
    url = f"{BASE}?options=-csearch_path%3D{SCHEMA}"
    return dict(
        os.environ,
        DATABASE_URL=url,
        SECRET_KEY="benchmark",
        HEALING_SURVEY_CONTACT_KEY=CONTACT_KEY,
        SMTP_URL=f"smtp+plain://127.0.0.1:{port}?from=survey@clinic.example.org",
    )


def reset_schema() -> None:
    engine = sa.create_engine(BASE)
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        connection.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
    engine.dispose()


def drop_schema() -> None:
    engine = sa.create_engine(BASE)
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    engine.dispose()


def fill_outbox(env: dict, n: int) -> None:
    """n invitations, each with an encrypted address and a queued message (the app's own code)."""
    subprocess.run([healing_survey(), "db", "upgrade"], env=env, check=True, capture_output=True)
    code = f"""
from survey import create_app
from survey.delivery.contacts import attach_contact
from survey.delivery.models import MessageKind
from survey.delivery.outbox import queue_message
from survey.extensions import db
from survey.invitations import find_invitation, invite_dyad
from survey.models import Clinic, Clinician
app = create_app()
with app.app_context():
    clinician = Clinician(clinic=Clinic(name="Benchmark"), name="Dr. Bench")
    db.session.add(clinician)
    db.session.commit()
    for i in range({n}):
        links = invite_dyad(clinician.id)
        token = links.patient_url.rsplit("/", 1)[-1]
        invitation = find_invitation(token)
        attach_contact(invitation, token=token, address=f"patient{{i}}@example.org")
        queue_message(invitation, MessageKind.INVITATION)
        if i % 500 == 499:
            db.session.commit()
    db.session.commit()
"""
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=ROOT)


def start_sender(env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [healing_survey(), "send", "--watch", "--interval", "0.2"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(log, "a"),
    )


def arrived(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def outbox_counts(env: dict) -> Counter:
    engine = sa.create_engine(
        env["DATABASE_URL"].replace("postgresql+psycopg", "postgresql+psycopg")
    )
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT status, count(*) FROM outbox_message GROUP BY 1"))
        counts = Counter(dict(rows.all()))
    engine.dispose()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=1, help="how many times to kill sender A")
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tests" / "survey"))
    from mailserver import free_port

    port = free_port()
    env = environment(port)
    work = Path(tempfile.mkdtemp(prefix="delivery-benchmark-"))
    received, log = work / "received.txt", work / "senders.log"
    reset_schema()
    sink = subprocess.Popen([sys.executable, "-c", SINK, str(port), str(received)])
    try:
        start = time.perf_counter()
        fill_outbox(env, args.messages)
        print(f"queued {args.messages:,} messages in {time.perf_counter() - start:.1f} s")
        time.sleep(1)
        start = time.perf_counter()
        sender_a, sender_b = start_sender(env, log), start_sender(env, log)
        kills = 0
        deadline = start + args.timeout
        while time.perf_counter() < deadline:
            got = len(arrived(received))
            threshold = args.messages * (kills + 1) // (args.kills + 2)
            if kills < args.kills and got >= threshold:
                sender_a.send_signal(signal.SIGKILL)
                sender_a.wait()
                kills += 1
                print(f"killed sender A with SIGKILL after {got:,} messages had arrived")
                sender_a = start_sender(env, log)
            if got >= args.messages and outbox_counts(env).get("queued", 0) == 0:
                break
            time.sleep(0.1)
        elapsed = time.perf_counter() - start
        time.sleep(1.0)  # let anything in flight land before counting
        for sender in (sender_a, sender_b):
            sender.send_signal(signal.SIGTERM)
            sender.wait(timeout=30)
        ids = arrived(received)
        counts = Counter(ids)
        statuses = outbox_counts(env)
        duplicates = sum(c - 1 for c in counts.values() if c > 1)
        expected = {f"<healing-survey.{i}@clinic.example.org>" for i in range(1, args.messages + 1)}
        lost = len(expected - set(counts))
        print(
            f"{args.messages:,} messages, 2 senders, {kills} kill -9: all delivered in "
            f"{elapsed:.1f} s ({args.messages / elapsed:.0f} messages/s); outbox {dict(statuses)}; "
            f"received {len(ids):,}, distinct {len(counts):,}, duplicates {duplicates}, lost {lost}"
        )
    finally:
        sink.kill()
        drop_schema()


if __name__ == "__main__":
    main()
