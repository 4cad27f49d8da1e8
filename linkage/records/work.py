"""The work queues' part of the records (待办): what each workflow waits on now, and from whom.

Every workflow writes what it waits on (a step, the units that owe it, by when, whether that time
has passed) with the steps it records, in the same transaction, replacing what it waited on
before. A unit's queue is then one indexed query, with no workflow asked and no history event
spent. The row at position -1 holds the list's version, so that an older write that lands late
never brings back what a newer one removed.

These helpers run inside the transaction Store.record_steps opens; they never commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, bindparam, delete, func, insert, literal
from sqlalchemy.engine import Connection
from sqlmodel import Field, Session, SQLModel, select

from linkage.domain.record_inputs import WorkList
from linkage.records.intake import UTCDateTime


class WorkRow(SQLModel, table=True):
    __tablename__ = "workitem"

    workflow_id: str = Field(primary_key=True, max_length=100)
    position: int = Field(primary_key=True)  # -1: the list's version; 0…: one unit's item
    incident_id: str = Field(index=True, max_length=60)
    unit: str = Field(index=True, max_length=80)
    loop: str = Field(max_length=16)
    step: str = Field(max_length=40)
    label: str = Field(default="", max_length=60)
    due: datetime | None = Field(default=None, sa_type=UTCDateTime)
    missed: bool = False
    supervisions: int = 0
    version: int = 0


_ROWS = WorkRow.__table__
_MINE = _ROWS.c.workflow_id == bindparam("workflow_id")
_TAKE_TURNS = select(
    func.pg_advisory_xact_lock(
        func.hashtext(literal("linkage workitem ") + bindparam("workflow_id", type_=String))
    )
)
_NEWEST = select(func.max(_ROWS.c.version)).where(_MINE)
_FORGET = delete(_ROWS).where(_MINE)
_ADD = insert(_ROWS)  # the statements of `replace`, built once


def replace(conn: Connection | Session, work: WorkList) -> None:
    """What the workflow waits on now replaces what it waited on, unless a newer list is there.

    Two writes of one workflow's list can meet (an attempt that timed out still running on one
    worker while its retry runs on another): on PostgreSQL the second waits for the first on a
    lock of the workflow's, then reads what the first wrote, instead of inserting the same rows
    beside it and failing. SQLite's writers take turns already. Plain statements on the table
    (linkage.records.steps says why)."""
    mine = {"workflow_id": work.workflow_id}
    if dialect_name(conn) == "postgresql":
        conn.execute(_TAKE_TURNS, mine)
    newest = conn.execute(_NEWEST, mine).scalar()
    if newest is not None and newest > work.version:
        return
    conn.execute(_FORGET, mine)
    first = {"workflow_id": work.workflow_id, "incident_id": work.incident_id}
    first |= {"version": work.version, "label": "", "due": None, "missed": False}
    first |= {"supervisions": 0}
    rows = [{**first, "position": -1, "unit": "", "loop": "", "step": ""}]
    for item in work.items:
        for unit in item.units:
            rows.append(
                {
                    **first,
                    "position": len(rows) - 1,
                    "unit": unit,
                    "loop": item.loop,
                    "step": item.step,
                    "label": item.label,
                    "due": item.due,
                    "missed": item.missed,
                    "supervisions": item.supervisions,
                }
            )
    conn.execute(_ADD, rows)


def dialect_name(conn: Connection | Session) -> str:
    bind = conn.get_bind() if isinstance(conn, Session) else conn
    return bind.dialect.name


def waiting(
    session: Session, incident_ids: list[str] | None = None, units: list[str] | None = None
):
    """The rows waiting now: of the given incidents, or on the given units; soonest first."""
    query = select(WorkRow).where(WorkRow.position >= 0)
    if incident_ids is not None:
        query = query.where(WorkRow.incident_id.in_(incident_ids))
    if units is not None:
        query = query.where(WorkRow.unit.in_(units))
    query = query.order_by(WorkRow.missed.desc(), WorkRow.due.is_(None), WorkRow.due)
    return list(session.exec(query))
