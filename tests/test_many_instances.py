"""Nothing assumes one worker, one API, one codec server: what two of them do at the same moment,
each with an engine of its own on one PostgreSQL (as two processes would), or two processes
making the same key file at once, ends as if they had taken turns.

Each race is staged, not hoped for: the first party's write is held open in a transaction of
its own while the second one starts, then committed."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import update
from sqlmodel import Session

from linkage.assessment.reports import produce
from linkage.assessment.reports.model import Report
from linkage.domain.models import WorkItem
from linkage.domain.record_inputs import OutboxEntry, RecordStepInput, WorkList
from linkage.records import work
from linkage.records.store import Store
from linkage.records.tables import OutboxMessage, ProducedReport
from linkage.records.tokens import IssuedToken, TokenRecords
from linkage.records.work import WorkRow
from linkage.trust import codec, tokens

HELD = 0.5  # how long the first party keeps its transaction open while the second one waits


@pytest.fixture(scope="module")
def two(postgres_schema) -> tuple[Store, Store]:
    """Two stores on one PostgreSQL schema, as two processes would hold them."""
    return Store(postgres_schema), Store(postgres_schema)


def while_held(first: Session, second, *args):
    """Start `second(*args)` while `first` holds its transaction; commit `first`; return what
    `second` answered (or raise what it raised)."""
    with ThreadPoolExecutor(1) as pool:
        started = pool.submit(second, *args)
        time.sleep(HELD)
        assert not started.done(), "the second party should wait for the first"
        first.commit()
        return started.result(timeout=30)


def entry(key: str) -> OutboxEntry:
    return OutboxEntry(
        key=key, target="hotline", kind="incident", incident_id="police-JJ1", payload={"n": 1}
    )


def test_a_message_put_in_the_outbox_by_two_workers_at_once_is_kept_once(two):
    store, other = two
    key = f"police-JJ1:{uuid.uuid4().hex[:8]}"
    with Session(store.engine) as first:  # an attempt still running on another worker
        first.add(OutboxMessage(id=key, **entry(key).model_dump(exclude={"key"})))
        first.flush()
        row = while_held(first, other.enqueue, entry(key))
    assert row.id == key
    assert [m.id for m in store.outbox(limit=1000) if m.id == key] == [key]


def test_a_refusal_never_overwrites_a_delivery_made_at_the_same_moment(two):
    store, other = two
    key = f"police-JJ1:{uuid.uuid4().hex[:8]}"
    store.enqueue(entry(key))
    with Session(store.engine) as delivered:  # another worker's attempt got through
        delivered.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == key)
            .values(
                status="delivered",
                delivered_at=datetime.now(UTC),
                attempts=OutboxMessage.attempts + 1,
            )
        )
        while_held(delivered, other.mark_attempt, key, "HTTP 404 Not Found", True)
    row = store.get(OutboxMessage, key)
    assert (row.status, row.attempts) == ("delivered", 2)  # both attempts counted


def test_a_work_list_written_twice_at_once_is_written_not_refused(two):
    store, other = two
    workflow = f"police-JJ{uuid.uuid4().hex[:8]}.hotline"
    items = [WorkItem(units=["dept.cgj"], loop="hotline", step="sign", label="签收时限")]
    listed = WorkList(workflow_id=workflow, incident_id="police-JJ1", items=items, version=4)
    with Session(store.engine) as first:  # a write that timed out, still running elsewhere
        work.replace(first, listed)
        first.flush()
        while_held(first, other.record_steps, RecordStepInput(work=listed))
    rows = [r for r in store.waiting(units=["dept.cgj"]) if r.workflow_id == workflow]
    assert [(r.step, r.version) for r in rows] == [("sign", 4)]
    with Session(store.engine) as session:
        assert session.get(WorkRow, (workflow, -1)).version == 4


def test_a_token_revoked_from_two_places_at_once_keeps_the_first_revocation(two):
    store, other = two
    jti = uuid.uuid4().hex
    at = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)
    with Session(store.engine) as first:
        first.add(IssuedToken(jti=jti, revoked_at=at, revoked_by="运维吴", reason="离职"))
        first.flush()
        row = while_held(first, TokenRecords(other.engine).revoke, jti, "督查周", "again")
    assert (row.revoked_at, row.revoked_by) == (at, "运维吴")
    assert TokenRecords(store.engine).revoked_at(jti) == at


def test_processes_making_the_signing_key_at_once_all_get_the_one_key(tmp_path, monkeypatch):
    path = tmp_path / "token-key"
    both_decided = threading.Barrier(2, timeout=2)
    generate = tokens.Ed25519PrivateKey.generate

    def generated():  # both have found no key and make one
        with contextlib.suppress(threading.BrokenBarrierError):
            both_decided.wait()
        return generate()

    monkeypatch.setattr(tokens.Ed25519PrivateKey, "generate", staticmethod(generated))
    with ThreadPoolExecutor(2) as pool:
        made = [pool.submit(tokens.create_key, path) for _ in range(2)]
        results = [m.result(timeout=10) for m in made]
    assert results == [path, path]
    assert path.stat().st_mode & 0o777 == 0o600
    tokens.load_key(path)  # whole, and the one both use
    assert [p.name for p in tmp_path.iterdir()] == ["token-key"]  # nothing left aside


def test_keys_rotated_from_two_places_at_once_are_both_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("LINKAGE_STATE_DIR", str(tmp_path))
    monkeypatch.delenv(codec.KEYS_ENV, raising=False)
    codec.load_keyring()
    write = codec._write_file

    def slow_write(path, entries):  # the first rotation is still writing
        time.sleep(HELD)
        write(path, entries)

    monkeypatch.setattr(codec, "_write_file", slow_write)
    with ThreadPoolExecutor(2) as pool:
        rotated = [pool.submit(codec.rotate_keys) for _ in range(2)]
        ids = sorted(r.result(timeout=10) for r in rotated)
    assert ids == ["k2", "k3"]
    assert sorted(codec.load_keyring().keys) == ["k1", "k2", "k3"]


def test_a_report_recorded_from_two_places_at_once_is_recorded_once(two):
    store, other = two
    made = datetime.now(UTC)
    report = Report("monthly", f"2026-{uuid.uuid4().hex[:6]}", "月研判", "", "v1", made)
    with Session(store.engine) as schedule:  # the schedule's run records it
        schedule.add(
            ProducedReport(id=report.id, kind="monthly", period=report.period, files={}, summary={})
        )
        schedule.flush()
        row = while_held(schedule, produce.record, other, report, {"html": "/r.html"}, "cli")
    assert (row.id, row.files, row.produced_by) == (report.id, {"html": "/r.html"}, "cli")
    assert [r.id for r in produce.list_reports(store, limit=1000)].count(report.id) == 1
