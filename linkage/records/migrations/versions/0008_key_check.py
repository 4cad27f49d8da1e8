"""The key check: a value sealed with each codec key, so that a process whose keyring differs
from the district's is refused at start instead of failing to read what the others wrote.

Revision ID: 0008_key_check
Revises: 0005_tokens_audit
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_key_check"
down_revision = "0005_tokens_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "keycheck",
        sa.Column("key_id", sa.String(40), primary_key=True),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("keycheck")
