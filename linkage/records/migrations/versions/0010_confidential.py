"""An incident's report may be confidential (保密): no handling unit sees its caller. The
incidents already there were not.

Revision ID: 0010_confidential
Revises: 0009_sealed_free_text
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_confidential"
down_revision = "0009_sealed_free_text"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incident") as batch:
        batch.add_column(
            sa.Column("confidential", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("incident") as batch:
        batch.drop_column("confidential")
