"""information and consent texts per clinic and form (versioned), counts of declines and
withdrawals, each clinic's withdrawal period, and on each response the text it was shown and until
when it may be withdrawn

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-05 05:20:07

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "consent_text",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("form", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("show_information", sa.Boolean(), nullable=False),
        sa.Column("ask_consent", sa.Boolean(), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "form IN ('patient', 'clinician-dyad', 'clinician-self')",
            name=op.f("ck_consent_text_known_consent_form"),
        ),
        sa.CheckConstraint(
            "show_information OR NOT ask_consent", name=op.f("ck_consent_text_question_needs_page")
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_consent_text_consent_version_positive")),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_consent_text_clinic_id_clinic")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_text")),
        sa.UniqueConstraint("clinic_id", "form", "version", name=op.f("uq_consent_text_clinic_id")),
    )
    with op.batch_alter_table("consent_text", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_consent_text_clinic_id"), ["clinic_id"], unique=False)

    op.create_table(
        "withdrawal_count",
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("form", sa.String(length=32), nullable=False),
        sa.Column("withdrawals", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"], ["clinic.id"], name=op.f("fk_withdrawal_count_clinic_id_clinic")
        ),
        sa.PrimaryKeyConstraint("clinic_id", "form", name=op.f("pk_withdrawal_count")),
    )
    op.create_table(
        "consent_decline_count",
        sa.Column("consent_text_id", sa.Integer(), nullable=False),
        sa.Column("declines", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_text_id"],
            ["consent_text.id"],
            name=op.f("fk_consent_decline_count_consent_text_id_consent_text"),
        ),
        sa.PrimaryKeyConstraint("consent_text_id", name=op.f("pk_consent_decline_count")),
    )
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("withdrawal_days", sa.Integer(), server_default="30", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_clinic_withdrawal_days_in_range"),
            "withdrawal_days >= 0 AND withdrawal_days <= 365",
        )

    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.add_column(sa.Column("consent_text_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("consent_answer", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("withdrawable_until", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.create_index(
            batch_op.f("ix_response_consent_text_id"), ["consent_text_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_response_consent_text_id_consent_text"),
            "consent_text",
            ["consent_text_id"],
            ["id"],
        )
        batch_op.create_check_constraint(
            op.f("ck_response_known_consent_answer"),
            "consent_answer IS NULL OR consent_answer IN ('agreed', 'informed')",
        )
        batch_op.create_check_constraint(
            op.f("ck_response_consent_with_its_text"),
            "(consent_answer IS NULL) = (consent_text_id IS NULL)",
        )


def downgrade():
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_response_consent_with_its_text"), type_="check")
        batch_op.drop_constraint(op.f("ck_response_known_consent_answer"), type_="check")
        batch_op.drop_constraint(
            batch_op.f("fk_response_consent_text_id_consent_text"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_response_consent_text_id"))
        batch_op.drop_column("withdrawable_until")
        batch_op.drop_column("consent_answer")
        batch_op.drop_column("consent_text_id")

    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_clinic_withdrawal_days_in_range"), type_="check")
        batch_op.drop_column("withdrawal_days")

    op.drop_table("consent_decline_count")
    op.drop_table("withdrawal_count")
    with op.batch_alter_table("consent_text", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_text_clinic_id"))

    op.drop_table("consent_text")
