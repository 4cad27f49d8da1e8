"""The records database's engine: PostgreSQL through psycopg, or SQLite set up for many writers.

On SQLite the connection waits out a busy lock, keeps a write-ahead log, and begins a
transaction as the one writer path (linkage.records.writer) asks: BEGIN IMMEDIATE for a write.
Apart from the Store so that the migrations' environment makes the same engine without it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import create_engine

from linkage.records.writer import IMMEDIATE
from linkage.settings.paths import make_private


def _sqlite_connect(database: Path | None, dbapi_connection, _record) -> None:
    if database is not None:  # SQLite has just made it with the umask's mode: 0600 before its
        make_private(database)  # WAL and journal, which copy the database file's mode
    # The driver's own transaction handling is turned off so that _sqlite_begin decides how a
    # transaction starts (and DDL stays inside the migration's transaction).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=5000")  # first, so switching to WAL waits its turn too
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection) -> None:
    # Writers take the write lock up front: two of them serialise instead of both reading,
    # deciding, and one failing to upgrade its lock halfway.
    immediate = connection.get_execution_options().get(IMMEDIATE)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def driver_url(url: str) -> str:
    """The URL with its driver named: a plain postgresql:// (or postgres://) is psycopg's."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url.removeprefix(scheme)
    return url


def make_engine(url: str) -> Engine:
    url = driver_url(url)
    if url.startswith("sqlite"):
        name = make_url(url).database
        local = name and name != ":memory:" and not name.startswith("file:")
        # hide_parameters: a failed write's error names no caller's data
        engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
        database = Path(name) if local else None

        def connect(dbapi_connection, record) -> None:
            _sqlite_connect(database, dbapi_connection, record)

        event.listen(engine, "connect", connect)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = create_engine(url, pool_pre_ping=True, hide_parameters=True)
    return engine
