"""Schema migrations (Alembic, configured here; no alembic.ini): run by Store at start.

`upgrade(engine)` brings a records database to the newest revision in one transaction: it
checks the revision the database is at, adopts a database made before migrations (stamping it
0001 once its tables have 0001's shape) and applies the newer revisions. Processes that start
together queue on a lock (PostgreSQL: an advisory lock; SQLite: BEGIN IMMEDIATE), so the second
finds the work done; a database already at the newest revision is only read, so the many short
processes of a busy day (every CLI call opens the store) never queue for that lock.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, inspect, literal, select, text
from sqlalchemy import func as sql
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError

from linkage.records.writer import IMMEDIATE, waiting_out_locks
from linkage.settings.config import ConfigError

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

HERE = Path(__file__).parent


class SchemaMismatch(ConfigError):
    """The database holds tables of a shape this version of linkage cannot take over."""


class SchemaTooNew(ConfigError):
    """The database was migrated by a newer linkage than this one."""


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.attributes["connection"] = connection
    return config


@functools.cache
def scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config())


def head() -> str:
    return scripts().get_current_head()


@functools.cache
def newest() -> str:
    """The newest revision, read from the revision files' `revision` and `down_revision` alone:
    the check every short process makes needs no Alembic (loading it costs a CLI call about
    0.3 s). The chain is linear; a test holds this equal to Alembic's head."""
    revisions, parents = set(), set()
    for path in (HERE / "versions").glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                name = node.targets[0].id if isinstance(node.targets[0], ast.Name) else ""
                if name == "revision":
                    revisions.add(node.value.value)
                elif name == "down_revision" and node.value.value is not None:
                    parents.add(node.value.value)
    (found,) = revisions - parents
    return found


def current(connection: Connection) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_heads()


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest revision (nothing to do, and no lock taken, when it is
    there already)."""
    if _at_head(engine):
        return
    waiting_out_locks(lambda: _upgrade(engine), engine)


def _at_head(engine: Engine) -> bool:
    def read() -> bool:
        with engine.connect() as connection:
            try:
                found = connection.execute(text("SELECT version_num FROM alembic_version"))
            except (OperationalError, ProgrammingError):  # no such table: a new database
                return False
            return tuple(row[0] for row in found) == (newest(),)

    return waiting_out_locks(read, engine)


def _upgrade(engine: Engine) -> None:
    from alembic import command

    where = engine.url.render_as_string()
    connection = engine.connect().execution_options(**{IMMEDIATE: True})
    with connection, connection.begin():
        if connection.dialect.name == "postgresql":
            # per schema, so databases side by side in one server do not wait for each other
            key = sql.hashtext(literal("linkage migrations ") + sql.current_schema())
            connection.execute(select(sql.pg_advisory_xact_lock(key)))
        config = alembic_config(connection)
        known = {script.revision for script in scripts().walk_revisions()}
        revisions = current(connection)
        unknown = [r for r in revisions if r not in known]
        if unknown:
            raise SchemaTooNew(
                f"the records database {where} is at revision {', '.join(unknown)}, which "
                f"this version of linkage does not know (its newest is {head()}): it was "
                f"upgraded by a newer linkage; run that version, or point "
                f"LINKAGE_DATABASE_URL at another database"
            )
        if not revisions and _has_legacy_tables(connection):
            _adopt(connection, where)
            command.stamp(config, "0001")
        command.upgrade(config, "head")


def _legacy_schema():
    return scripts().get_revision("0001").module.schema()


def _has_legacy_tables(connection: Connection) -> bool:
    present = set(inspect(connection).get_table_names())
    return bool(present & set(_legacy_schema().tables))


def _adopt(connection: Connection, where: str) -> None:
    """Bring a database made before migrations to 0001's shape, as older linkage did at start:
    missing tables are made, missing columns with a default are added; any other difference is
    refused, naming the columns, rather than left to fail writes later."""
    schema = _legacy_schema()
    inspector = inspect(connection)
    present_tables = set(inspector.get_table_names())
    schema.create_all(
        connection, tables=[t for t in schema.sorted_tables if t.name not in present_tables]
    )
    missing = []
    for table in schema.sorted_tables:
        if table.name not in present_tables:
            continue
        present = {column["name"] for column in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            default = column.default.arg if column.default is not None else None
            if default is None and not column.nullable:
                missing.append(f"{table.name}.{column.name}")
                continue
            kind = column.type.compile(connection.dialect)
            literal_default = "" if default is None else f" DEFAULT {_sql_literal(default)}"
            null = "" if column.nullable else " NOT NULL"
            connection.execute(
                text(
                    f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" '
                    f"{kind}{literal_default}{null}"
                )
            )
    if missing:
        raise SchemaMismatch(
            f"the records database {where} lacks columns {', '.join(missing)}: it was made by "
            f"an older version of linkage that cannot be migrated in place; point "
            f"LINKAGE_DATABASE_URL at a new database"
        )


def _sql_literal(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"
