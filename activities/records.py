"""Record activities: short writes to the records store, run as local activities.

Local, because they are quick and frequent: each costs one marker in the incident's history
instead of three events and a round trip through the server.
"""

from __future__ import annotations

from temporalio import activity

from linkage.config import load_time_limits
from linkage.logs import get_logger
from linkage.models import TimeLimits
from linkage.records import IncidentRecord, OpenIncidentInput, RecordStepInput
from linkage.store import Store


class RecordActivities:
    def __init__(self, store: Store) -> None:
        self.store = store

    @activity.defn
    def open_incident(self, input: OpenIncidentInput) -> TimeLimits:
        """Write the incident and return the time-limit table it will run under."""
        limits = load_time_limits()
        record = IncidentRecord.from_report(
            input.report, stage=input.stage, limits_version=limits.version, pushes=input.pushes
        )
        self.store.save_incident(record)
        get_logger(incident_id=record.id).info(
            "incident opened",
            origin=record.origin,
            township=record.township,
            caller_name=record.caller_name,
            caller_phone=record.caller_phone,
            limits_version=limits.version,
            pushes=input.pushes,
        )
        return limits

    @activity.defn
    def time_limits(self) -> TimeLimits:
        """The district's table as it stands now (the intake reads it when it starts)."""
        return load_time_limits()

    @activity.defn
    def record_step(self, input: RecordStepInput) -> None:
        self.store.record_step(input.step, input.incident, input.case, input.order)
        get_logger(incident_id=input.step.incident_id).info(
            "step",
            loop=input.step.loop,
            step=input.step.step,
            action=input.step.action,
            actor=input.step.actor,
            note=input.step.note,
        )
