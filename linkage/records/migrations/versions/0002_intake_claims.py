"""The intake in the database: claims, the reports taken, and outbox messages that failed.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

A claim (`caller:…`, `place:…`, `harassment:…`) names the open incident that owns it; its key
is the primary key, so two reports racing to open an incident for the same caller or place
cannot both win. Reports keep the decision taken for them, so a retried take answers the same.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "intakeclaim",
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("incident_id", sa.String(60), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_intakeclaim_incident_id", "intakeclaim", ["incident_id"])
    op.create_table(
        "intakereport",
        sa.Column("id", sa.String(60), primary_key=True),
        sa.Column("incident_id", sa.String(60), nullable=False),
        sa.Column("matched_by", sa.String(8), nullable=False),
        sa.Column("reports", sa.Integer(), nullable=False),
        sa.Column("harassment_case", sa.String(60), nullable=False),
        sa.Column("is_harassment_case", sa.Boolean(), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("caller_key", sa.String(64), nullable=False),
        sa.Column("place_key", sa.String(64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("caller_name", sa.String(64), nullable=False),
        sa.Column("caller_phone", sa.String(20), nullable=False),
        sa.Column("caller_id_number", sa.String(32), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
    )
    op.create_index("ix_intakereport_incident_id", "intakereport", ["incident_id"])
    op.create_index("ix_intakereport_caller_taken", "intakereport", ["caller_key", "taken_at"])
    op.add_column(
        "outboxmessage", sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("outboxmessage", "failed_at")
    op.drop_table("intakereport")
    op.drop_table("intakeclaim")
