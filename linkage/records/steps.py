"""A workflow's write (Store.record_steps) as plain SQL statements, in one transaction.

Every record write of every incident comes through here, several times an incident, so it is
written against the tables (SQLAlchemy Core) rather than through ORM sessions and objects:
the same statement shapes each time (compiled once and cached), rows inserted many at a time,
no unit of work to flush. Steps, snapshots, what the workflow waits on, the intake's release and
the outbox's messages all go in the one transaction the caller holds.

These helpers never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache

from sqlalchemy import bindparam, case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from linkage.domain.record_inputs import OutboxEntry, RecordStepInput, StepRecord
from linkage.records import intake, work
from linkage.records.tables import Incident, OutboxMessage, PoliceCase, StepEvent, WorkOrder

STEPS = StepEvent.__table__
OUTBOX = OutboxMessage.__table__
INCIDENTS = Incident.__table__


@cache
def _insert_new(dialect: str, table):
    """INSERT … ON CONFLICT DO NOTHING, built once per dialect and table."""
    return (
        (postgresql if dialect == "postgresql" else sqlite).insert(table).on_conflict_do_nothing()
    )


@cache
def _newer_snapshot(table, columns: tuple[str, ...]):
    """UPDATE of a snapshot's columns unless the row holds a newer version, built once per
    table and column set; the values are bound as `v_<column>`, the row's key as `key`."""
    column = table.c
    primary = next(iter(table.primary_key.columns))
    values = {name: bindparam(f"v_{name}") for name in columns}
    if table is INCIDENTS:  # the report count is the intake's: never lowered
        given = bindparam("v_pushes")
        values["pushes"] = case((column.pushes > given, column.pushes), else_=given)
    return (
        update(table)
        .where(primary == bindparam("key"), column.version <= bindparam("v_version"))
        .values(values)
    )


_OUTBOX_STATUS = select(OUTBOX.c.id, OUTBOX.c.status).where(
    OUTBOX.c.id.in_(bindparam("keys", expanding=True))
)


def incident_of(input: RecordStepInput) -> str | None:
    """The incident a write belongs to: as it says, else from its first step, case, order or
    work list."""
    if input.incident_id:
        return input.incident_id
    for x in (*input.steps, input.case, input.order, input.work):
        if x is not None:
            return x.incident_id
    return None


def write(conn: Connection, input: RecordStepInput, sent_steps: Sequence[StepRecord] = ()):
    """Steps (and `sent_steps`), the snapshots they changed, the work list and, on close, the
    release of the intake's claims."""
    incident_id = incident_of(input)
    if incident_id is None and (input.incident is not None or input.close):
        raise ValueError("record_steps needs a step (or a case or order) to name its incident")
    steps = [*input.steps, *sent_steps]
    if steps:
        rows = [step.model_dump() for step in steps]
        conn.execute(_insert_new(conn.dialect.name, STEPS), rows)
    for table, key, snapshot in (
        (Incident, incident_id, input.incident),
        (PoliceCase, input.case and input.case.case_no, input.case),
        (WorkOrder, input.order and input.order.order_no, input.order),
    ):
        if snapshot is not None:
            _snapshot(conn, table.__table__, key, snapshot.model_dump())
    if input.work is not None:
        work.replace(conn, input.work)
    if input.close:
        intake.release(conn, incident_id)


def _snapshot(conn: Connection, table, key: str, values: dict) -> None:
    """Apply a snapshot unless a newer one is there already (one UPDATE, which locks the row on
    PostgreSQL); a case's or order's first snapshot makes its row."""
    values = values | {"updated_at": datetime.now(UTC)}
    statement = _newer_snapshot(table, tuple(values))
    changed = conn.execute(statement, {"key": key} | {f"v_{k}": v for k, v in values.items()})
    if changed.rowcount == 0 and table is not INCIDENTS:
        conn.execute(_insert_new(conn.dialect.name, table), values)


def put_in_outbox(conn: Connection, entries: Sequence[OutboxEntry]) -> dict[str, str]:
    """Each message once (a retry with the same key adds nothing, and waits for another
    worker's attempt adding it now); the status of every row, by key."""
    if not entries:
        return {}
    rows = [
        {
            "id": e.key,
            "target": e.target,
            "kind": e.kind,
            "incident_id": e.incident_id,
            "payload": e.payload,
        }
        for e in entries
    ]
    conn.execute(_insert_new(conn.dialect.name, OUTBOX), rows)
    found = conn.execute(_OUTBOX_STATUS, {"keys": [e.key for e in entries]})
    return {key: status for key, status in found}
