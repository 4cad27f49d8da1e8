"""The records store on SQLite (the default) and PostgreSQL (what a district deploys)."""

import os
import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from sqlalchemy import inspect

from linkage.models import IncidentReport, TimelineEntry
from linkage.records import (
    IncidentProgress,
    IncidentRecord,
    OutboxEntry,
    StepRecord,
    WorkOrderRecord,
)
from linkage.store import Incident, SchemaMismatch, Store, WorkOrder
from tests.conftest import make_report, own_worker, police_handles_a_12345_push

POSTGRES = os.environ.get("LINKAGE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="module")
def postgres_schema():
    """A schema of its own for this run, dropped afterwards."""
    schema = f"linkage_test_{uuid.uuid4().hex[:8]}"
    try:
        conn = psycopg.connect(POSTGRES, autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as err:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL at {POSTGRES}: {err}")
    conn.execute(f"CREATE SCHEMA {schema}")
    yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    conn.execute(f"DROP SCHEMA {schema} CASCADE")
    conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request, tmp_path) -> Store:
    if request.param == "sqlite":
        return Store(f"sqlite:///{tmp_path / 'records.db'}")
    return Store(request.getfixturevalue("postgres_schema"))


def report_record(stage: str = "sending_review") -> IncidentRecord:
    report = IncidentReport.model_validate(make_report("police"))
    return IncidentRecord.from_report(report, stage=stage, limits_version="v1")


def step(incident_id: str, seq: int, action: str = "dispatch") -> StepRecord:
    entry = TimelineEntry(
        at=datetime.now(UTC),
        loop="hotline",
        step="dispatch",
        action=action,
        actor="command_center:区集成指挥中心",
        note="派遣至 区城管局",
    )
    return StepRecord.of(f"{incident_id}.hotline", seq, incident_id, entry)


def test_an_incident_written_again_keeps_its_progress(any_store):
    record = report_record()
    any_store.save_incident(record)
    progress = IncidentProgress(
        stage="receiving_review", owner="", pushes=2, overdue=False, version=3
    )
    any_store.record_step(step(record.id, 3), progress)
    any_store.save_incident(record)  # the opening write, retried
    row = any_store.get(Incident, record.id)
    assert row.stage == "receiving_review" and row.pushes == 2
    assert row.caller_phone.startswith("139") and row.township == "黄埭镇"
    # A write from an earlier step that lands late changes nothing.
    stale = progress.model_copy(update={"stage": "sending_review", "pushes": 1, "version": 2})
    any_store.record_step(step(record.id, 2), stale)
    assert any_store.get(Incident, record.id).pushes == 2


def test_a_retried_step_write_adds_nothing(any_store):
    record = report_record()
    any_store.save_incident(record)
    order = WorkOrderRecord(
        order_no=f"GD-{record.reference}",
        incident_id=record.id,
        unit="区城管局",
        step="sign",
        returns=0,
        reopens=0,
        overdue=False,
        completed=False,
    )
    for _ in range(3):  # an activity retried after a lost acknowledgement
        progress = IncidentProgress(stage="handling", owner="hotline", pushes=2, overdue=True)
        any_store.record_step(step(record.id, 1), progress, order=order)
    any_store.record_step(
        step(record.id, 2, "sign"), order=order.model_copy(update={"step": "handle"})
    )
    events = any_store.timeline(record.id)
    assert [e.action for e in events] == ["dispatch", "sign"]
    assert any_store.get(WorkOrder, order.order_no).step == "handle"
    incident = any_store.get(Incident, record.id)
    assert (incident.stage, incident.owner, incident.pushes, incident.overdue) == (
        "handling",
        "hotline",
        2,
        True,
    )


def test_outbox_keeps_each_message_once_until_it_is_taken(any_store):
    entry = OutboxEntry(
        key="police-JJ1:result",
        target="police",
        kind="result",
        incident_id="police-JJ1",
        payload={"owner": "hotline"},
    )
    first = any_store.enqueue(entry)
    again = any_store.enqueue(entry.model_copy(update={"payload": {"changed": True}}))
    assert first.id == again.id and again.payload == {"owner": "hotline"}
    any_store.mark_attempt(entry.key, "ConnectError: refused")
    pending = any_store.outbox(target="police", status="pending")
    assert [m.id for m in pending] == [entry.key]
    assert pending[0].attempts == 1 and "refused" in pending[0].last_error
    assert any_store.acknowledge(entry.key)
    assert not any_store.acknowledge("no-such-key")
    assert any_store.outbox(status="pending") == []
    assert any_store.outbox(status="delivered")[0].delivered_at is not None


async def test_an_incident_runs_with_its_records_in_postgresql(env, postgres_schema):
    store = Store(postgres_schema)
    async with own_worker(env, store, "linkage-postgres") as client:
        iid, summary = await police_handles_a_12345_push(env, client)
    assert store.get(Incident, iid).stage == "closed"
    assert len(store.timeline(iid)) == len(summary.timeline)
    assert {m.kind for m in store.outbox(limit=100)} == {"incident", "result"}


def test_a_database_of_an_older_shape_is_refused_at_start(tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE workorder (order_no TEXT PRIMARY KEY, incident_id TEXT)")
    with pytest.raises(SchemaMismatch, match="lacks columns workorder.step, workorder.updated_at"):
        Store(f"sqlite:///{path}")


def test_columns_a_newer_version_added_with_defaults_are_added_to_an_old_database(tmp_path):
    import sqlite3

    path = tmp_path / "before-triage.db"
    Store(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:  # as the records looked before triage existed
        conn.execute("ALTER TABLE incident DROP COLUMN route_unit")
        conn.execute("ALTER TABLE incident DROP COLUMN safety")
    store = Store(f"sqlite:///{path}")
    columns = {c["name"] for c in inspect(store.engine).get_columns("incident")}
    assert {"route_unit", "safety"} <= columns
