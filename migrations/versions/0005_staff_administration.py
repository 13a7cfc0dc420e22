"""staff administration: clinics and clinicians can be retired (history kept, no new
invitations), and one-time links let a colleague set up an account or reset a password

Revision ID: 0005
Revises: 0003 (the file 0003_release_blocks.py)
Create Date: 2026-12-01 22:30:00.000000

"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
# The file 0002_accounts_and_api_tokens.py.
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("clinician", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "staff_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "purpose IN ('set-up', 'reset')", name=op.f("ck_staff_link_known_purpose")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"], name=op.f("fk_staff_link_user_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_link")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_link_token_hash")),
    )
    with op.batch_alter_table("staff_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_staff_link_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("staff_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_staff_link_user_id"))
    op.drop_table("staff_link")
    with op.batch_alter_table("clinician", schema=None) as batch_op:
        batch_op.drop_column("retired_at")
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.drop_column("retired_at")
