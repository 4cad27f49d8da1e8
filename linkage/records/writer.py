"""The one way anything writes to the records database.

SQLite lets one writer in at a time. Every write here runs in a transaction that takes the write
lock first (BEGIN IMMEDIATE: two writers queue instead of both reading and one failing to upgrade
its lock halfway); the writers of one process take turns on a lock of their own, and a lock held
by another process (60 `linkage divert` at once, a backup) is waited out with backoff, up to
`LINKAGE_DB_WAIT` seconds (default 120), instead of refusing the write. PostgreSQL needs none
of this: its writes go straight through.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

T = TypeVar("T")
IMMEDIATE = "linkage_immediate"  # execution option: on SQLite, begin with BEGIN IMMEDIATE
DEFAULT_WAIT = 120.0

_turns: dict[str, threading.Lock] = {}
_turns_guard = threading.Lock()


def locked(err: BaseException) -> bool:
    """SQLite's answer when another connection holds the lock it needs."""
    text = str(getattr(err, "orig", err))
    return isinstance(err, OperationalError) and (
        "database is locked" in text or "database is busy" in text
    )


def wait_limit() -> float:
    try:
        return max(0.0, float(os.environ.get("LINKAGE_DB_WAIT", DEFAULT_WAIT)))
    except ValueError:
        return DEFAULT_WAIT


def turns(engine: Engine) -> threading.Lock | None:
    """The lock the writers of this process take turns on (SQLite only)."""
    if engine.dialect.name != "sqlite":
        return None
    key = engine.url.render_as_string()
    with _turns_guard:
        return _turns.setdefault(key, threading.Lock())


def waiting_out_locks(attempt: Callable[[], T], engine: Engine) -> T:
    """Run `attempt` again while SQLite says another process holds the lock, sleeping a
    little longer each time (with jitter, so that the waiters do not wake in step)."""
    if engine.dialect.name != "sqlite":
        return attempt()
    deadline = time.monotonic() + wait_limit()
    pause = 0.02
    while True:
        try:
            return attempt()
        except OperationalError as err:
            if not locked(err) or time.monotonic() + pause > deadline:
                raise
        time.sleep(pause * (0.5 + random.random()))
        pause = min(pause * 2, 1.0)


def write(engine: Engine, work: Callable[[Session], T]) -> T:
    """Run `work(session)` in one write transaction and commit it; the whole transaction is
    tried again if another process held the lock (so `work` must only touch its session)."""
    writer = engine.execution_options(**{IMMEDIATE: True})
    lock = turns(engine)

    def attempt() -> T:
        with Session(writer, expire_on_commit=False) as session, lock or nullcontext():
            result = work(session)
            session.commit()
            return result

    return waiting_out_locks(attempt, engine)


def write_plain(engine: Engine, work: Callable[[Connection], T]) -> T:
    """As `write`, on a bare connection (no ORM session): for statements on the tables
    themselves (linkage.records.steps)."""
    writer = engine.execution_options(**{IMMEDIATE: True})
    lock = turns(engine)

    def attempt() -> T:
        with lock or nullcontext(), writer.begin() as conn:
            return work(conn)

    return waiting_out_locks(attempt, engine)
