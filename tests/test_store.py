"""The records store on SQLite (the default) and PostgreSQL (what a district deploys)."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from linkage.domain.models import IncidentReport, TimelineEntry
from linkage.domain.record_inputs import (
    IncidentProgress,
    IncidentRecord,
    OutboxEntry,
    RecordStepInput,
    StepRecord,
    TakeReportInput,
    WorkOrderRecord,
)
from linkage.domain.time_limits import IntakeLimits
from linkage.records.migrations import SchemaMismatch
from linkage.records.store import Store
from linkage.records.tables import Incident, OutboxMessage, WorkOrder
from linkage.trust.keys import caller_key, place_key, report_fingerprint
from tests.conftest import make_report, own_worker, police_handles_a_12345_push


@pytest.fixture(params=["sqlite", "postgresql"])
def any_store(request, tmp_path) -> Store:
    if request.param == "sqlite":
        return Store(f"sqlite:///{tmp_path / 'records.db'}")
    return Store(request.getfixturevalue("postgres_schema"))


RULES = IntakeLimits(repeat_window_hours=24, harassment_reports=8, harassment_window_hours=24)
SECRET = b"store tests"


def report_record(
    stage: str = "sending_review", origin: str = "police", **overrides
) -> IncidentRecord:
    report = IncidentReport.model_validate(make_report(origin, **overrides))
    return IncidentRecord.from_report(report, stage=stage, limits_version="v1")


def take_input(
    record: IncidentRecord, at: datetime | None = None, rules: IntakeLimits = RULES, **extra
) -> TakeReportInput:
    """What the intake activity sends for a report: its record, its keys and the rules."""
    report = IncidentReport(
        origin=record.origin,
        reference=record.reference,
        received_at=record.received_at,
        caller={"name": record.caller_name, "phone": record.caller_phone},
        location={"address": record.address, "township": record.township},
        description=record.description,
        divert_reason=record.divert_reason,
        urgency=record.urgency,
        originating_unit=record.originating_unit,
        category=record.category,
    )
    return TakeReportInput(
        record=record,
        caller_key=caller_key(record.caller_phone, SECRET),
        place_key=place_key(record.township, record.address, record.category, SECRET),
        fingerprint=report_fingerprint(report),
        at=at or record.received_at,
        rules=rules,
        **extra,
    )


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


def test_an_incident_taken_again_keeps_its_progress(any_store):
    record = report_record()
    assert any_store.take_report(take_input(record)).new
    progress = IncidentProgress(
        stage="receiving_review", owner="", pushes=2, overdue=False, version=3
    )
    any_store.record_steps(RecordStepInput(steps=[step(record.id, 3)], incident=progress))
    again = any_store.take_report(take_input(record))  # the opening take, retried
    assert again.new and again.incident_id == record.id and again.reports == 1
    row = any_store.get(Incident, record.id)
    assert row.stage == "receiving_review" and row.pushes == 2
    assert row.caller_phone.startswith("139") and row.township == "黄埭镇"
    # A write from an earlier step that lands late changes nothing.
    stale = progress.model_copy(update={"stage": "sending_review", "pushes": 1, "version": 2})
    any_store.record_steps(RecordStepInput(steps=[step(record.id, 2)], incident=stale))
    row = any_store.get(Incident, record.id)
    assert (row.stage, row.pushes) == ("receiving_review", 2)
    assert len(any_store.timeline(record.id)) == 2


def test_a_snapshot_never_lowers_the_count_of_reports_the_intake_keeps(any_store):
    record = report_record()
    any_store.take_report(take_input(record))
    joined = report_record(caller={"name": "李四", "phone": record.caller_phone})
    assert any_store.take_report(take_input(joined)).reports == 2
    progress = IncidentProgress(stage="handling", owner="police", pushes=1, overdue=False)
    any_store.record_steps(RecordStepInput(steps=[step(record.id, 5)], incident=progress))
    row = any_store.get(Incident, record.id)
    assert (row.stage, row.pushes) == ("handling", 2)


def test_several_steps_are_written_in_one_call(any_store):
    record = report_record()
    any_store.take_report(take_input(record))
    steps = [step(record.id, n, action) for n, action in enumerate(["accept", "dispatch"], 1)]
    for _ in range(2):  # retried
        any_store.record_steps(RecordStepInput(steps=steps))
    assert [e.action for e in any_store.timeline(record.id)] == ["accept", "dispatch"]


def test_a_retried_step_write_adds_nothing(any_store):
    record = report_record()
    any_store.take_report(take_input(record))
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
        any_store.record_steps(
            RecordStepInput(steps=[step(record.id, 1)], incident=progress, order=order)
        )
    later = order.model_copy(update={"step": "handle", "version": 2})
    any_store.record_steps(RecordStepInput(steps=[step(record.id, 2, "sign")], order=later))
    # an order's snapshot of an earlier step, landing late, changes nothing
    any_store.record_steps(RecordStepInput(order=order.model_copy(update={"version": 1})))
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


def test_messages_and_the_steps_saying_where_they_went_are_written_together(any_store):
    record = report_record()
    any_store.take_report(take_input(record))
    entry = OutboxEntry(
        key=f"{record.id}:result",
        target="police",
        kind="result",
        incident_id=record.id,
        payload={"owner": "hotline"},
    )
    progress = IncidentProgress(stage="handling", owner="hotline", pushes=1, overdue=False)
    write = RecordStepInput(steps=[step(record.id, 1)], incident=progress)

    def sent_but_broken(statuses):
        raise ValueError("the step saying where it went could not be made")

    with pytest.raises(ValueError):
        any_store.record_steps(write, [entry], sent_but_broken)
    assert entry.key not in [m.id for m in any_store.outbox(target="police")]
    assert any_store.timeline(record.id) == []

    def sent(statuses):
        return [step(record.id, 2, f"sent {statuses[entry.key]}")]

    for _ in range(2):  # retried: the same rows, the status as it stands
        assert any_store.record_steps(write, [entry], sent) == {entry.key: "pending"}
    assert [e.action for e in any_store.timeline(record.id)] == ["dispatch", "sent pending"]
    any_store.acknowledge(entry.key)
    assert any_store.record_steps(write, [entry], sent) == {entry.key: "delivered"}
    assert entry.key in [m.id for m in any_store.outbox(status="delivered")]


def test_a_message_that_can_never_be_delivered_fails_and_says_why(any_store):
    entry = OutboxEntry(
        key="hotline-GD1:incident",
        target="police",
        kind="incident",
        incident_id="hotline-GD1",
        payload={},
    )
    any_store.enqueue(entry)
    any_store.mark_attempt(entry.key, "HTTP 503")  # may succeed later: stays pending
    assert any_store.get(OutboxMessage, entry.key).status == "pending"
    any_store.mark_attempt(entry.key, "HTTP 422: reference malformed", final=True)
    failed = any_store.outbox(status="failed")
    assert [m.id for m in failed] == [entry.key]
    assert failed[0].attempts == 2 and failed[0].last_error == "HTTP 422: reference malformed"
    assert failed[0].failed_at is not None and failed[0].delivered_at is None
    assert any_store.outbox(status="pending") == []


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


def test_personal_data_is_sealed_in_the_raw_columns(any_store: Store):
    """The caller, the description, step notes and outbox payloads are ciphertext in the
    database and plain text through the store."""
    record = report_record(caller={"name": "欧阳明月", "phone": "13987654321"})
    any_store.take_report(take_input(record))
    sms = OutboxEntry(
        key=f"{record.id}:reply:0",
        target="sms",
        kind="reply",
        incident_id=record.id,
        payload={"phone": "13987654321", "message": "您反映的问题已处理"},
    )
    any_store.enqueue(sms)
    with any_store.engine.connect() as conn:
        raw = conn.execute(
            text("SELECT caller_name, caller_phone, description FROM incident WHERE id = :id"),
            {"id": record.id},
        ).one()
        reports = conn.execute(
            text("SELECT caller_phone FROM intakereport WHERE incident_id = :id"),
            {"id": record.id},
        ).all()
        payload = conn.execute(
            text("SELECT payload FROM outboxmessage WHERE id = :id"), {"id": sms.key}
        ).scalar_one()
    for value in (*raw, *(r[0] for r in reports), payload):
        assert value.startswith("enc:") and "13987654321" not in value and "欧阳" not in value
    incident = any_store.get(Incident, record.id)
    assert incident.caller_phone == "13987654321" and incident.caller_name == "欧阳明月"
    assert any_store.get(OutboxMessage, sms.key).payload["phone"] == "13987654321"
