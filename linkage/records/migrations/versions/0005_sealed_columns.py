"""Personal data sealed at rest: the caller's name, phone and ID number, descriptions, step notes
and outbox payloads become sealed text (linkage.trust.sealed),
and the rows already there are sealed.

Revision ID: 0005
Revises: 0004_assessment
Create Date: 2026-12-02
"""

import json

import sqlalchemy as sa
from alembic import op

from linkage.trust.sealed import PREFIX, seal, unseal

revision = "0005"
down_revision = "0004_assessment"
branch_labels = None
depends_on = None

COLUMNS = {
    "incident": ("id", ["caller_name", "caller_phone", "caller_id_number", "description"]),
    "intakereport": ("id", ["caller_name", "caller_phone", "caller_id_number", "description"]),
    "stepevent": ("id", ["note"]),
    "outboxmessage": ("id", ["payload"]),
}


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    for table, (_, columns) in COLUMNS.items():
        with op.batch_alter_table(table) as batch:  # SQLite: the table is rebuilt
            for column in columns:
                using = f"{column}::text" if postgres and column == "payload" else None
                batch.alter_column(column, type_=sa.Text(), postgresql_using=using)
    for table, (key, columns) in COLUMNS.items():
        rows = bind.execute(sa.text(f'SELECT "{key}", {", ".join(columns)} FROM "{table}"'))
        for row in rows.fetchall():
            values = {}
            for column, value in zip(columns, row[1:], strict=True):
                if value is None or (isinstance(value, str) and value.startswith(PREFIX)):
                    continue
                if column == "payload":
                    value = value if isinstance(value, str) else json.dumps(value)
                    value = json.dumps(json.loads(value), ensure_ascii=False, separators=(",", ":"))
                values[column] = seal(value) if value else value
            if values:
                assignments = ", ".join(f"{c} = :{c}" for c in values)
                bind.execute(
                    sa.text(f'UPDATE "{table}" SET {assignments} WHERE "{key}" = :key'),
                    {**values, "key": row[0]},
                )


def downgrade() -> None:
    """The rows unsealed again (the columns stay text, which every older version reads)."""
    bind = op.get_bind()
    for table, (key, columns) in COLUMNS.items():
        rows = bind.execute(sa.text(f'SELECT "{key}", {", ".join(columns)} FROM "{table}"'))
        for row in rows.fetchall():
            values = {
                column: unseal(value)
                for column, value in zip(columns, row[1:], strict=True)
                if isinstance(value, str) and value.startswith(PREFIX)
            }
            if values:
                assignments = ", ".join(f"{c} = :{c}" for c in values)
                bind.execute(
                    sa.text(f'UPDATE "{table}" SET {assignments} WHERE "{key}" = :key'),
                    {**values, "key": row[0]},
                )
