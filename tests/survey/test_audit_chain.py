"""The audit log is a hash chain: editing or deleting an entry in the database is caught by
``healing-survey audit verify``, concurrent writers never fork it, and the migration links the
entries that existed before it."""

from __future__ import annotations

import threading

import sqlalchemy as sa
from flask_migrate import upgrade

from survey import create_app
from survey.audit.chain import GENESIS, link_hash, verify_chain
from survey.extensions import db
from survey.models import AuditChainHead, AuditEvent, record_audit
from tests.conftest import app_settings

from .test_migrations import empty_database  # noqa: F401  (a fixture of both databases)


def _record(app, n: int, **detail) -> None:
    with app.app_context():
        for i in range(n):
            record_audit("cli", "test.event", f"thing:{i}", i=i, **detail)
            db.session.commit()


def _verify(runner, *extra):
    return runner.invoke(args=["audit", "verify", *extra])


def test_entries_are_linked_in_order_and_verify(app, runner):
    _record(app, 3, text="Zoë says “hi”", nested={"b": [1, 2.5, None], "a": True})
    with app.app_context():
        entries = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)).all()
        assert [e.seq for e in entries] == [1, 2, 3]
        previous = GENESIS
        for entry in entries:
            assert entry.hash == link_hash(previous, entry)
            previous = entry.hash
        assert db.session.get(AuditChainHead, 1).hash == previous
    result = _verify(runner)
    assert result.exit_code == 0
    assert result.output.startswith("audit chain intact: 3 entries")


def test_several_entries_in_one_transaction_are_linked_in_the_order_added(app):
    with app.app_context():
        for i in range(4):
            record_audit("cli", "test.batch", f"thing:{i}")
        db.session.commit()
        targets = db.session.scalars(sa.select(AuditEvent.target).order_by(AuditEvent.seq)).all()
        assert targets == [f"thing:{i}" for i in range(4)]
        assert verify_chain().intact


def test_editing_an_entry_in_the_database_is_named(app, runner):
    _record(app, 5)
    with app.app_context():
        victim = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.seq == 3)).one()
        victim_id = victim.id
        db.session.execute(
            sa.text("UPDATE audit_event SET actor = 'someone else' WHERE id = :id"),
            {"id": victim_id},
        )
        db.session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"BROKEN at entry id {victim_id} (#3, " in result.output
    assert "test.event" in result.output and "its hash does not match" in result.output
    assert "2 entries before it are intact" in result.output


def test_an_edit_that_recomputes_the_hash_breaks_the_next_link(app):
    _record(app, 4)
    with app.app_context():
        victim = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.seq == 2)).one()
        victim.detail = {"i": 99}
        previous = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.seq == 1)).one()
        db.session.execute(
            sa.text("UPDATE audit_event SET detail = :detail, hash = :hash WHERE id = :id"),
            {"detail": '{"i": 99}', "hash": link_hash(previous.hash, victim), "id": victim.id},
        )
        db.session.commit()
        db.session.expire_all()
        report = verify_chain()
        assert report.broken.seq == 3


def test_deleting_an_entry_is_named(app, runner):
    _record(app, 5)
    with app.app_context():
        db.session.execute(sa.text("DELETE FROM audit_event WHERE seq = 2"))
        db.session.commit()
        follower = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.seq == 3)).one()
    result = _verify(runner, "--json")
    assert result.exit_code == 1
    assert f'"id": {follower.id}' in result.output
    assert "entries 2 to 2 of the chain are missing" in result.output


def test_deleting_the_newest_entries_shows_at_the_head(app, runner):
    _record(app, 5)
    with app.app_context():
        db.session.execute(sa.text("DELETE FROM audit_event WHERE seq >= 4"))
        db.session.commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert "chain head records entry 5, but the log ends at entry 3" in result.output


def test_concurrent_writers_never_fork_the_chain(app):
    writers, per_writer = 4, 15
    errors: list[Exception] = []
    barrier = threading.Barrier(writers, timeout=30)

    def write(k: int) -> None:
        try:
            with app.app_context():
                barrier.wait()
                for i in range(per_writer):
                    record_audit(f"writer:{k}", "test.concurrent", f"n:{i}")
                    db.session.commit()
        except Exception as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    with app.app_context():
        seqs = db.session.scalars(sa.select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
        assert seqs == list(range(1, writers * per_writer + 1))
        report = verify_chain()
        assert report.intact and report.entries == writers * per_writer


def test_the_migration_links_existing_entries(empty_database):  # noqa: F811
    app = create_app(app_settings(empty_database))
    with app.app_context():
        upgrade(revision="c03ef886fbca")
        with db.engine.begin() as connection:
            for i, at in enumerate(["2026-11-01 10:00:00.123456", "2026-11-02 11:30:00"]):
                connection.execute(
                    sa.text(
                        "INSERT INTO audit_event (at, actor, action, target, detail) "
                        "VALUES (:at, 'cli', 'clinic.create', :target, :detail)"
                    ),
                    {"at": at, "target": f"clinic:{i}", "detail": '{"n": 1, "a": "é"}'},
                )
        upgrade()
        report = verify_chain()
        assert report.intact and report.entries == 2
        record_audit("cli", "after.upgrade")
        db.session.commit()
        assert verify_chain().entries == 3
        db.session.remove()
        db.engine.dispose()


def test_an_empty_log_is_an_intact_chain(app, runner):
    result = _verify(runner)
    assert result.exit_code == 0 and "0 entries" in result.output
