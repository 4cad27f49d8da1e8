"""The triage model's version on every incident, beside the catalogue's.

Revision ID: triage_model_version
Revises: 0005
Create Date: 2026-12-02

Triage now reads each description with the rules and a learned model; an incident records the
model version it was triaged with (empty for incidents triaged before, or by the rules alone),
so that a decision can be traced to the model that made it and the desk's overrides to the
model they corrected.
"""

import sqlalchemy as sa
from alembic import op

revision = "triage_model_version"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incident") as batch:
        batch.add_column(
            sa.Column("model_version", sa.String(40), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("incident") as batch:
        batch.drop_column("model_version")
