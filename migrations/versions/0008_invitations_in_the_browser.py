"""invitations in the browser: appointment dates on waves, printed cards with short codes,
attempt counters for typed codes, appointment lists kept encrypted between preview and confirm

Revision ID: 0008
Revises: 0005 (the file 0005_staff_administration.py)
Create Date: 2026-12-01 22:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("wave", schema=None) as batch_op:
        batch_op.add_column(sa.Column("appointment_on", sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f("ix_wave_appointment_on"), ["appointment_on"])
    op.create_table(
        "invitation_card",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("token_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["invitation.id"],
            name=op.f("fk_invitation_card_invitation_id_invitation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation_card")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_invitation_card_code_hash")),
        sa.UniqueConstraint("invitation_id", name=op.f("uq_invitation_card_invitation_id")),
    )
    op.create_table(
        "attempt_counter",
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("minute", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", "minute", name=op.f("pk_attempt_counter")),
    )
    op.create_table(
        "invitation_upload",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("content_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinic.id"],
            name=op.f("fk_invitation_upload_clinic_id_clinic"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_invitation_upload_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation_upload")),
    )


def downgrade():
    op.drop_table("invitation_upload")
    op.drop_table("attempt_counter")
    op.drop_table("invitation_card")
    with op.batch_alter_table("wave", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wave_appointment_on"))
        batch_op.drop_column("appointment_on")
