"""10,000 e-mails through the outbox by two senders at once, one of them killed with ``kill -9``
midway and restarted: how long, and how many messages were lost or repeated.

Everything stays on this machine: a PostgreSQL schema of its own (dropped at the end) in the
database of ``--database-url``, an SMTP sink (aiosmtpd) on a free loopback port that appends each
message's Message-ID to a file, and two ``healing-survey send --watch`` processes (the real
command). The senders start together; when a third of the messages have arrived, sender A is
killed with SIGKILL and started again. At the end every outbox row must be sent, every
Message-ID must have arrived, and none twice.

The messages are queued as a clinic queues them: an appointment list with one e-mail address a
row, stored by ``healing-survey invite --batch`` (one transaction, see batch_benchmark.py).

Run with ``.venv/bin/python benchmarks/delivery_benchmark.py [--messages N] [--kills K]
[--database-url URL]``. Not a test.
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
from batch_benchmark import CLINICIANS, appointment_list

from survey.config import database_url

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE = "postgresql://127.0.0.1:5432/test"
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


def environment(base: str, port: int) -> dict:
    url = f"{base}?options=-csearch_path%3D{SCHEMA}"
    return dict(
        os.environ,
        DATABASE_URL=url,
        SECRET_KEY="benchmark",
        HEALING_SURVEY_CONTACT_KEY=CONTACT_KEY,
        SMTP_URL=f"smtp+plain://127.0.0.1:{port}?from=survey@clinic.example.org",
    )


def reset_schema(base: str) -> None:
    engine = sa.create_engine(base)
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        connection.execute(sa.text(f"CREATE SCHEMA {SCHEMA}"))
    engine.dispose()


def drop_schema(base: str) -> None:
    engine = sa.create_engine(base)
    with engine.begin() as connection:
        connection.execute(sa.text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    engine.dispose()


ADD_CLINICIANS = f"""
from survey import create_app
from survey.extensions import db
from survey.models import Clinic, Clinician
with create_app().app_context():
    clinic = Clinic(name="Benchmark Clinic")
    for i in range({CLINICIANS}):
        db.session.add(Clinician(clinic=clinic, name=f"Clinician {{i:02d}}"))
    db.session.commit()
"""


def fill_outbox(env: dict, n: int, work: Path) -> None:
    """An appointment list of n rows, each with an address, stored by the app's own command:
    n invitations with an encrypted address and a queued message."""
    subprocess.run([healing_survey(), "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([sys.executable, "-c", ADD_CLINICIANS], env=env, check=True, cwd=ROOT)
    listing = work / "appointments.csv"
    listing.write_bytes(appointment_list(n))
    subprocess.run(
        [healing_survey(), "invite", "--batch", str(listing), "--clinic", "Benchmark Clinic"],
        env=env,
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )


def start_sender(env: dict, log: Path, workers: int) -> subprocess.Popen:
    return subprocess.Popen(
        [healing_survey(), "send", "--watch", "--interval", "0.2", "--workers", str(workers)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(log, "a"),
    )


def arrived(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def outbox_counts(env: dict) -> Counter:
    engine = sa.create_engine(env["DATABASE_URL"])
    with engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT status, count(*) FROM outbox_message GROUP BY 1"))
        counts = Counter(dict(rows.all()))
    engine.dispose()
    return counts


def expected_ids(env: dict) -> set[str]:
    """The Message-ID each queued message goes out with."""
    engine = sa.create_engine(env["DATABASE_URL"])
    with engine.connect() as connection:
        ids = connection.execute(sa.text("SELECT id FROM outbox_message")).scalars().all()
    engine.dispose()
    return {f"<healing-survey.{i}@clinic.example.org>" for i in ids}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--kills", type=int, default=1, help="how many times to kill sender A")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument(
        "--workers", type=int, default=1, help="SMTP connections per sender (send --workers)"
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE,
        help=f"a PostgreSQL database to hold the benchmark's schema (default {DEFAULT_DATABASE})",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from tests.survey.mailbox import free_port

    base = database_url(args.database_url)
    port = free_port()
    env = environment(base, port)
    work = Path(tempfile.mkdtemp(prefix="delivery-benchmark-"))
    received, log = work / "received.txt", work / "senders.log"
    reset_schema(base)
    sink = subprocess.Popen([sys.executable, "-c", SINK, str(port), str(received)])
    try:
        start = time.perf_counter()
        fill_outbox(env, args.messages, work)
        print(f"queued {args.messages:,} messages in {time.perf_counter() - start:.1f} s")
        expected = expected_ids(env)
        time.sleep(1)
        print(f"load average at the start: {os.getloadavg()[0]:.1f}")
        start = time.perf_counter()
        sender_a = start_sender(env, log, args.workers)
        sender_b = start_sender(env, log, args.workers)
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
                sender_a = start_sender(env, log, args.workers)
            if got >= args.messages and outbox_counts(env).get("queued", 0) == 0:
                break
            time.sleep(0.1)
        elapsed = time.perf_counter() - start
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
        time.sleep(1.0)  # let anything in flight land before counting
        for sender in (sender_a, sender_b):
            sender.send_signal(signal.SIGTERM)
            sender.wait(timeout=30)
        ids = arrived(received)
        counts = Counter(ids)
        statuses = outbox_counts(env)
        duplicates = sum(c - 1 for c in counts.values() if c > 1)
        lost = len(expected - set(counts))
        print(
            f"{args.messages:,} messages, 2 senders x {args.workers} workers, {kills} kill -9: "
            f"finished in {elapsed:.1f} s ({args.messages / elapsed:.0f} messages/s); "
            f"outbox {dict(statuses)}; "
            f"received {len(ids):,}, distinct {len(counts):,}, duplicates {duplicates}, lost {lost}"
        )
    finally:
        sink.kill()
        drop_schema(base)


if __name__ == "__main__":
    main()
