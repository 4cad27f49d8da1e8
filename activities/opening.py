"""Opening an incident: one local activity instead of three (limits, triage, the first write).

It reads the district's time-limit table as it stands now (the incident keeps that version),
triages the description, and hands the report to the intake in the records database, which
decides in one transaction whether it is new or repeats an open incident (same caller, or the
same place and category within the window) and whether its caller abuses the lines.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.records import REFUSED, refused
from linkage.domain.calendar_source import excerpt as calendar_excerpt
from linkage.domain.record_inputs import (
    IncidentRecord,
    OpenedIncident,
    OpenIncidentInput,
    TakeReportInput,
)
from linkage.domain.time_limits import load_time_limits
from linkage.domain.triage_result import TriageRequest
from linkage.domain.units import UnknownUnit, limits_with_units, load_register, route_with_code
from linkage.metrics.worker import report_taken, triage_read
from linkage.records.store import Store
from linkage.settings.config import ConfigError
from linkage.settings.logs import get_logger, tell_names
from linkage.triage.triager import Triager
from linkage.trust.keys import caller_key, place_key, report_fingerprint


def harassment_case_id(key: str, at) -> str:
    """The police case opened for a caller who abuses the lines: one per caller and minute.
    The key's letters and the minute are kept apart, so that no run of digits in the ID can
    pass for an 18-digit ID number."""
    return f"hotline-SR{key[:10].upper()}-{at:%y%m%d%H%M}"


class OpeningActivities:
    def __init__(self, store: Store, triager: Triager) -> None:
        self.store = store
        self.triager = triager

    @activity.defn
    def open_incident(self, input: OpenIncidentInput) -> OpenedIncident:
        report = input.report
        try:  # a person must mend the district's files: say so, start nothing
            limits = load_time_limits()
            register = load_register()
            limits = limits_with_units(limits, register)
            if limits.uses_working_days():  # recorded with the incident: replays count on it
                limits.calendar = calendar_excerpt(input.at)
            triage = self.triager.triage(
                TriageRequest(text=report.description, township=report.location.township)
            )
            triage_read(triage)
            triage = triage.model_copy(
                update={
                    "route": route_with_code(triage.route, register),
                    "hotline_route": route_with_code(triage.hotline_route, register),
                }
            )
        except (ConfigError, UnknownUnit) as err:
            raise ApplicationError(str(err), type="ConfigError", non_retryable=True) from None
        category = triage.category.name if triage.category else report.category
        record = IncidentRecord.from_report(
            report, stage=input.stage, limits_version=limits.version
        )
        caller = caller_key(report.caller.phone)
        take = TakeReportInput(
            record=record,
            caller_key=caller,
            place_key=place_key(report.location.township, report.location.address, category),
            fingerprint=report_fingerprint(report),
            at=input.at,
            rules=limits.intake,
            harassment_case_id=harassment_case_id(caller, input.at),
            harassment_case=input.harassment_case,
            retake=input.retake,
        )
        try:
            intake = self.store.take_report(take)
        except REFUSED as err:
            raise refused(err) from None
        report_taken(record.origin)
        tell_names(record.caller_name)  # the logs mask it wherever a note repeats it
        get_logger(incident_id=record.id).info(
            "report taken",
            origin=record.origin,
            township=record.township,
            caller_name=record.caller_name,
            caller_phone=record.caller_phone,
            joined=intake.incident_id if not intake.new else "",
            matched_by=intake.matched_by,
            direction=triage.direction,
            subcategory=triage.subcategory.code if triage.subcategory else "",
            confidence=triage.confidence,
            limits_version=limits.version,
        )
        names = {code: unit.name for code, unit in register.units.items()}
        return OpenedIncident(limits=limits, triage=triage, intake=intake, unit_names=names)
