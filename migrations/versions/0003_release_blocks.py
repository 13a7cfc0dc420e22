"""release blocks: aggregates are computed only from whole blocks of settled dyad waves, so no
two selections differ by fewer than HEALING_SURVEY_MIN_CELL responses (issue 11)

Revision ID: 0003
Revises: 0004 (the file 0004_server_sessions.py)
Create Date: 2026-12-01

"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "release_block",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("clinician_id", sa.Integer(), nullable=False),
        sa.Column("wave_number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_month", sa.String(length=7), nullable=False),
        sa.Column("dyad_waves", sa.Integer(), nullable=False),
        sa.Column("patient_responses", sa.Integer(), nullable=False),
        sa.Column("clinician_responses", sa.Integer(), nullable=False),
        sa.Column("complete_pairs", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('pair', 'patient', 'clinician')", name=op.f("ck_release_block_known_kind")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_release_block_clinic_id_clinic")
        ),
        sa.ForeignKeyConstraint(
            ["clinician_id"], ["clinician.id"], name=op.f("fk_release_block_clinician_id_clinician")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release_block")),
    )
    with op.batch_alter_table("release_block", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_release_block_clinic_id"), ["clinic_id"])
        batch_op.create_index(batch_op.f("ix_release_block_clinician_id"), ["clinician_id"])
        batch_op.create_index(batch_op.f("ix_release_block_period_month"), ["period_month"])
    with op.batch_alter_table("wave", schema=None) as batch_op:
        batch_op.add_column(sa.Column("release_block_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_wave_release_block_id"), ["release_block_id"])
        batch_op.create_foreign_key(
            batch_op.f("fk_wave_release_block_id_release_block"),
            "release_block",
            ["release_block_id"],
            ["id"],
        )


def downgrade():
    with op.batch_alter_table("wave", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_wave_release_block_id_release_block"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_wave_release_block_id"))
        batch_op.drop_column("release_block_id")
    with op.batch_alter_table("release_block", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_release_block_period_month"))
        batch_op.drop_index(batch_op.f("ix_release_block_clinician_id"))
        batch_op.drop_index(batch_op.f("ix_release_block_clinic_id"))
    op.drop_table("release_block")
