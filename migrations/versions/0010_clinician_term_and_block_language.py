"""each clinic's word for the clinician on its forms, and the patient's language of each release
block, so that the dashboards can split by language through whole blocks

Existing blocks get the language their members share (the patient's answer, else the patient's
invitation); a block whose members differ or have none keeps NULL and is left out of every
language-filtered view.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 05:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"  # 0009_consent_texts_withdrawal
branch_labels = None
depends_on = None

release_block = sa.table("release_block", sa.column("id"), sa.column("language"))
wave = sa.table("wave", sa.column("id"), sa.column("release_block_id"))
invitation = sa.table(
    "invitation",
    sa.column("id"),
    sa.column("wave_id"),
    sa.column("form"),
    sa.column("language"),
)
response = sa.table(
    "response",
    sa.column("invitation_id"),
    sa.column("language"),
    sa.column("submitted_at"),
)


def _block_languages() -> dict[int, str | None]:
    """Each released block's one patient language, or None when its members disagree."""
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(wave.c.release_block_id, invitation.c.language, response.c.language)
        .select_from(wave)
        .join(invitation, invitation.c.wave_id == wave.c.id)
        .outerjoin(
            response,
            sa.and_(
                response.c.invitation_id == invitation.c.id,
                response.c.submitted_at.is_not(None),
            ),
        )
        .where(wave.c.release_block_id.is_not(None), invitation.c.form == "patient")
    )
    languages: dict[int, set] = {}
    for block_id, invited, answered in rows:
        languages.setdefault(block_id, set()).add(answered or invited)
    return {
        block_id: next(iter(found)) if len(found) == 1 else None
        for block_id, found in languages.items()
    }


def upgrade():
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "clinician_term",
                sa.String(length=32),
                server_default="clinician",
                nullable=False,
            )
        )
    with op.batch_alter_table("release_block", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_release_block_language"), ["language"], unique=False)
    connection = op.get_bind()
    for block_id, language in _block_languages().items():
        if language is not None:
            connection.execute(
                release_block.update()
                .where(release_block.c.id == block_id)
                .values(language=language)
            )


def downgrade():
    with op.batch_alter_table("release_block", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_release_block_language"))
        batch_op.drop_column("language")
    with op.batch_alter_table("clinic", schema=None) as batch_op:
        batch_op.drop_column("clinician_term")
