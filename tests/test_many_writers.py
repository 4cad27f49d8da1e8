"""Many processes writing the embedded SQLite records database at once (the CLI, the API and the
worker of one machine): none is refused for a lock another holds, however long it holds it."""

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from sqlmodel import Session, select

from linkage.records.audit import AuditEntry
from linkage.records.store import Store
from linkage.records.tables import OutboxMessage

ROOT = Path(__file__).resolve().parents[1]
WRITER = """
import sys
from linkage.records.audit import AuditLog
from linkage.trust.principals import Principal, PrincipalRole
from linkage.domain.record_inputs import OutboxEntry
from linkage.records.store import Store

url, n = sys.argv[1], sys.argv[2]
print("ready", flush=True)
store = Store(url)  # at the newest revision: only read
AuditLog(store.engine).record(Principal(name=f"p{n}", role=PrincipalRole.supervisor), "status")
store.enqueue(OutboxEntry(key=f"k{n}", target="sms", kind="reply", incident_id=f"i{n}", payload={}))
"""


def test_writers_wait_out_a_lock_held_longer_than_sqlites_own_patience(tmp_path):
    url = f"sqlite:///{tmp_path / 'records.db'}"
    store = Store(url)
    holder = sqlite3.connect(tmp_path / "records.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # a long write elsewhere (a backup, a big report)
    holder.execute("CREATE TABLE held (x INTEGER)")
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, url, str(n)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(24)
    ]
    for process in writers:  # each has started, and is about to wait for the lock
        assert process.stdout.readline().strip() == "ready"
    time.sleep(7)  # longer than the busy timeout SQLite waits by itself (5 s)
    holder.execute("COMMIT")
    holder.close()
    failures = []
    for process in writers:
        _, err = process.communicate(timeout=120)
        if process.returncode:
            failures.append(err.strip().splitlines()[-1])
    assert failures == []
    with Session(store.engine) as session:
        assert len(session.exec(select(AuditEntry)).all()) == 24
        assert len(session.exec(select(OutboxMessage)).all()) == 24


def test_a_database_at_the_newest_revision_is_opened_without_the_write_lock(tmp_path):
    """Opening the store is a read when there is nothing to migrate: a process starting while
    another writes does not queue behind it."""
    url = f"sqlite:///{tmp_path / 'records.db'}"
    Store(url)
    holder = sqlite3.connect(tmp_path / "records.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("CREATE TABLE held (x INTEGER)")
    try:
        started = time.monotonic()
        Store(url)
        assert time.monotonic() - started < 2
    finally:
        holder.execute("ROLLBACK")
        holder.close()
