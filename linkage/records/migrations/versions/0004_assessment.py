"""双考核: whom each step counts for or against, and the reports produced.

Revision ID: 0004_assessment
Revises: 0003
Create Date: 2026-12-02

Step events gain `unit` (the unit a step counts for or against; "" for the platforms' own
steps and for steps written before this revision). Reports produced (月研判, 季会商, 年总结) are
recorded once per kind, period and unit. Indicators select incidents by the time they were
received, and steps by their kind: both get an index.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_assessment"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("stepevent") as batch:
        batch.add_column(sa.Column("unit", sa.String(80), nullable=False, server_default=""))
    op.create_index("ix_stepevent_action", "stepevent", ["action"])
    op.create_index("ix_incident_received_at", "incident", ["received_at"])
    op.create_table(
        "producedreport",
        sa.Column("id", sa.String(120), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("unit", sa.String(80), nullable=False),
        sa.Column("assessment_version", sa.String(40), nullable=False),
        sa.Column("files", sa.JSON(), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("produced_by", sa.String(120), nullable=False),
        sa.Column("produced_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_producedreport_kind", "producedreport", ["kind"])
    op.create_index("ix_producedreport_period", "producedreport", ["period"])


def downgrade() -> None:
    op.drop_table("producedreport")
    op.drop_index("ix_incident_received_at", "incident")
    op.drop_index("ix_stepevent_action", "stepevent")
    with op.batch_alter_table("stepevent") as batch:
        batch.drop_column("unit")
