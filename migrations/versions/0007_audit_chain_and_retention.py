"""a hash chain over the audit log (existing entries are linked in id order), each clinic's
retention period and mode, and a mark on responses kept only de-identified

Revision ID: 0007
Revises: 0008
Create Date: 2026-12-01 22:40:00

"""

import hashlib
import json
from datetime import UTC

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0008"  # 0008_invitations_in_the_browser
branch_labels = None
depends_on = None

GENESIS = "0" * 64

audit_event = sa.table(
    "audit_event",
    sa.column("id", sa.Integer()),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("target", sa.String()),
    sa.column("detail", sa.JSON()),
    sa.column("note", sa.Text()),
    sa.column("seq", sa.Integer()),
    sa.column("hash", sa.String()),
)
audit_chain_head = sa.table(
    "audit_chain_head",
    sa.column("id", sa.Integer()),
    sa.column("seq", sa.Integer()),
    sa.column("hash", sa.String()),
)


def _link_hash(previous: str, row, seq: int) -> str:
    # A frozen copy of survey.audit.chain.link_hash as it was when this revision was written.
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=UTC)
    fields = {
        "seq": seq,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": row.actor,
        "action": row.action,
        "target": row.target,
        "detail": row.detail,
        "note": row.note,
    }
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(previous.encode("ascii") + body.encode()).hexdigest()


def _link_existing_entries() -> tuple[int, str]:
    connection = op.get_bind()
    seq, previous = 0, GENESIS
    rows = connection.execute(sa.select(audit_event).order_by(audit_event.c.id)).all()
    for row in rows:
        seq += 1
        previous = _link_hash(previous, row, seq)
        connection.execute(
            audit_event.update().where(audit_event.c.id == row.id).values(seq=seq, hash=previous)
        )
    return seq, previous


def upgrade():
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
    seq, head = _link_existing_entries()
    op.bulk_insert(audit_chain_head, [{"id": 1, "seq": seq, "hash": head}])
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column("hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_audit_event_seq"), ["seq"])

    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("retention_years", sa.Integer(), server_default="10", nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "retention_mode", sa.String(length=16), server_default="delete", nullable=False
            )
        )
        batch_op.create_check_constraint(
            op.f("ck_clinic_retention_years_positive"), "retention_years >= 1"
        )
        batch_op.create_check_constraint(
            op.f("ck_clinic_known_retention_mode"), "retention_mode IN ('delete', 'deidentify')"
        )

    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deidentified_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_column("deidentified_at")

    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_clinic_known_retention_mode"), type_="check")
        batch_op.drop_constraint(op.f("ck_clinic_retention_years_positive"), type_="check")
        batch_op.drop_column("retention_mode")
        batch_op.drop_column("retention_years")

    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_event_seq"), type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("seq")

    op.drop_table("audit_chain_head")
