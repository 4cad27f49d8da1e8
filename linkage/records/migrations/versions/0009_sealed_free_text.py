"""Every free-text column sealed at rest, as 0005 sealed the caller's: an incident's divert
reason, an outbox message's last error, an audit entry's reason and detail, and a revoked
token's reason (any of them may quote a caller); the rows already there are sealed.

Revision ID: 0009_sealed_free_text
Revises: 0008_key_check
Create Date: 2026-12-04
"""

import json

import sqlalchemy as sa
from alembic import op

from linkage.trust.sealed import PREFIX, seal, unseal

revision = "0009_sealed_free_text"
down_revision = "0008_key_check"
branch_labels = None
depends_on = None

COLUMNS = {
    "incident": ("id", ["divert_reason"]),
    "outboxmessage": ("id", ["last_error"]),
    "auditentry": ("id", ["reason", "detail"]),
    "issuedtoken": ("jti", ["reason"]),
}
JSON_COLUMNS = {"detail"}


def _rows(bind, table: str, key: str, columns: list[str]):
    return bind.execute(sa.text(f'SELECT "{key}", {", ".join(columns)} FROM "{table}"')).fetchall()


def _update(bind, table: str, key: str, values: dict, row_key) -> None:
    assignments = ", ".join(f"{c} = :{c}" for c in values)
    bind.execute(
        sa.text(f'UPDATE "{table}" SET {assignments} WHERE "{key}" = :key'),
        {**values, "key": row_key},
    )


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    for table, (_, columns) in COLUMNS.items():
        with op.batch_alter_table(table) as batch:  # SQLite: the table is rebuilt
            for column in columns:
                using = f"{column}::text" if postgres and column in JSON_COLUMNS else None
                batch.alter_column(column, type_=sa.Text(), postgresql_using=using)
    for table, (key, columns) in COLUMNS.items():
        for row in _rows(bind, table, key, columns):
            values = {}
            for column, value in zip(columns, row[1:], strict=True):
                if value is None or (isinstance(value, str) and value.startswith(PREFIX)):
                    continue
                if column in JSON_COLUMNS:
                    value = value if isinstance(value, str) else json.dumps(value)
                    value = json.dumps(json.loads(value), ensure_ascii=False, separators=(",", ":"))
                if value:
                    values[column] = seal(value)
            if values:
                _update(bind, table, key, values, row[0])


def downgrade() -> None:
    """The rows unsealed again (the columns stay text, which every older version reads)."""
    bind = op.get_bind()
    for table, (key, columns) in COLUMNS.items():
        for row in _rows(bind, table, key, columns):
            values = {
                column: unseal(value)
                for column, value in zip(columns, row[1:], strict=True)
                if isinstance(value, str) and value.startswith(PREFIX)
            }
            if values:
                _update(bind, table, key, values, row[0])
