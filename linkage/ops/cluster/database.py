"""PostgreSQL for the cluster: Temporal's two databases, made and upgraded by Temporal's own
schema tool from the pinned module's schema files, and the records' database beside them.

The roles and databases are made as PostgreSQL's superuser (root runs psql as `postgres`);
`scripts/cluster` installs and starts PostgreSQL first, as the tests' services script does.
"""

from __future__ import annotations

import os
import subprocess

from linkage.ops.cluster.build import binary, schema_dir
from linkage.ops.cluster.config import Database

RECORDS_ROLE = ("linkage", "linkage")


def _psql(db: Database, sql: str, database: str = "postgres") -> str:
    """As PostgreSQL's superuser over its local socket: root runs psql as `postgres`, anyone
    else through sudo."""
    command = ["psql", "-p", str(db.port), "-d", database, "-qtA", "-v", "ON_ERROR_STOP=1"]
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
    as_postgres = as_postgres or ["sudo", "-n", "-u", "postgres"]
    done = subprocess.run([*as_postgres, *command, "-c", sql], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"cluster: psql as postgres failed: {done.stderr.strip()}")
    return done.stdout.strip()


def _role(db: Database, name: str, password: str, createdb: bool) -> None:
    exists = _psql(db, f"SELECT 1 FROM pg_roles WHERE rolname = '{name}'") == "1"
    verb = "ALTER" if exists else "CREATE"
    extra = " CREATEDB" if createdb else ""
    _psql(db, f"{verb} ROLE \"{name}\" LOGIN PASSWORD '{password}'{extra}")


def _exists(db: Database, name: str) -> bool:
    return _psql(db, f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1"


def _sql_tool(db: Database, database: str, *args: str) -> None:
    command = [
        str(binary("temporal-sql-tool")),
        *("--plugin", "postgres12", "--ep", db.host, "-p", str(db.port)),
        *("-u", db.user, "-pw", db.password, "--db", database),
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"cluster: temporal-sql-tool {' '.join(args)}: {done.stderr.strip()}")


def prepare(db: Database) -> None:
    """Roles, databases and schemas; each step safe to run again (update-schema upgrades a
    database made by an older server to this one's schema)."""
    _role(db, db.user, db.password, createdb=True)
    for database, schema in ((db.temporal, "temporal"), (db.visibility, "visibility")):
        if not _exists(db, database):
            _sql_tool(db, database, "create-database")
            _sql_tool(db, database, "setup-schema", "-v", "0.0")
        versioned = schema_dir() / schema / "versioned"
        _sql_tool(db, database, "update-schema", "-d", str(versioned))
    _role(db, *RECORDS_ROLE, createdb=False)
    if not _exists(db, db.records):
        _psql(db, f'CREATE DATABASE "{db.records}" OWNER "{RECORDS_ROLE[0]}"')


def records_url(db: Database) -> str:
    user, password = RECORDS_ROLE
    return f"postgresql://{user}:{password}@{db.host}:{db.port}/{db.records}"


def drop_all(db: Database) -> None:
    """`scripts/cluster down --wipe`: a cluster that starts from nothing next time."""
    for database in (db.temporal, db.visibility, db.records):
        _psql(db, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
