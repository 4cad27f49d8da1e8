"""The records as linkage made them before migrations: incidents, cases, orders, steps, outbox.

Revision ID: 0001
Revises:
Create Date: 2026-12-01

Frozen here rather than read from the models, so later changes to the models cannot change
what 0001 means. `schema()` is also what a database made before migrations is checked against
(linkage.records.migrations); a column's `default` is what such a database gets when it lacks the
column, as older versions of linkage added it.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _str(name: str, length: int | None = None, default: str | None = None, **kw) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=False, default=default, **kw)


def _bool(name: str, default: bool = False) -> sa.Column:
    return sa.Column(name, sa.Boolean(), nullable=False, default=default)


def _int(name: str, default: int = 0) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=False, default=default)


def _time(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def schema() -> sa.MetaData:
    m = sa.MetaData()
    sa.Table(
        "incident",
        m,
        sa.Column("id", sa.String(60), primary_key=True),
        _str("origin", 16, index=True),
        _str("reference", 40),
        _time("received_at"),
        _str("township", 40, index=True),
        _str("address", 200),
        _str("category", 40, default=""),
        _str("urgency", 16),
        _str("description"),
        _str("divert_reason"),
        _str("originating_unit", 80),
        _str("caller_name", 64, default=""),
        _str("caller_phone", 20),
        _str("caller_id_number", 32, default=""),
        _str("stage", 24, index=True),
        _str("owner", 16, default=""),
        _str("limits_version", 40, default=""),
        _int("pushes", default=1),
        _bool("overdue"),
        _str("category_code", 8, default=""),
        _str("subcategory", 8, default="", index=True),
        _str("direction", 8, default=""),
        sa.Column("triage_confidence", sa.Float(), nullable=True),
        _bool("needs_review"),
        _bool("safety"),
        _str("route_unit", 80, default=""),
        _str("catalogue_version", 40, default=""),
        _int("version"),
        _time("updated_at"),
    )
    sa.Table(
        "policecase",
        m,
        sa.Column("case_no", sa.String(60), primary_key=True),
        _str("incident_id", 60, index=True),
        _str("unit", 80, default=""),
        _str("step", 24),
        _bool("overdue"),
        _bool("completed"),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        _int("version"),
        _time("updated_at"),
    )
    sa.Table(
        "workorder",
        m,
        sa.Column("order_no", sa.String(60), primary_key=True),
        _str("incident_id", 60, index=True),
        _str("unit", 80, default=""),
        _str("step", 24),
        _int("returns"),
        _int("reopens"),
        _bool("overdue"),
        _bool("completed"),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        _str("satisfaction", 24, default=""),
        _int("version"),
        _time("updated_at"),
    )
    sa.Table(
        "stepevent",
        m,
        sa.Column("id", sa.String(100), primary_key=True),
        _str("incident_id", 60, index=True),
        _time("at"),
        _str("loop", 16),
        _str("step", 24),
        _str("action", 40),
        _str("actor", 200),
        _str("note", default=""),
    )
    sa.Table(
        "outboxmessage",
        m,
        sa.Column("id", sa.String(120), primary_key=True),
        _str("target", 16, index=True),
        _str("kind", 24),
        _str("incident_id", 60, index=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        _str("status", 16, default="pending", index=True),
        _int("attempts"),
        _str("last_error", default=""),
        _time("created_at"),
        _time("delivered_at", nullable=True),
    )
    return m


def upgrade() -> None:
    schema().create_all(op.get_bind(), checkfirst=False)


def downgrade() -> None:
    schema().drop_all(op.get_bind(), checkfirst=False)
