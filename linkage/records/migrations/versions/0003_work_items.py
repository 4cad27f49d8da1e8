"""The work queues: what each workflow waits on now, and from which unit.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

One row per unit and step a workflow waits on (position 0…), and one row holding the list's
version (position -1). A unit's queue is an indexed query on `unit`.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workitem",
        sa.Column("workflow_id", sa.String(100), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("incident_id", sa.String(60), nullable=False),
        sa.Column("unit", sa.String(80), nullable=False),
        sa.Column("loop", sa.String(16), nullable=False),
        sa.Column("step", sa.String(40), nullable=False),
        sa.Column("label", sa.String(60), nullable=False),
        sa.Column("due", sa.DateTime(timezone=True), nullable=True),
        sa.Column("missed", sa.Boolean(), nullable=False),
        sa.Column("supervisions", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_workitem_incident_id", "workitem", ["incident_id"])
    op.create_index("ix_workitem_unit", "workitem", ["unit"])


def downgrade() -> None:
    op.drop_table("workitem")
