"""The triage activity: runs first in every incident, as a local activity (one history marker).

The classifier and its dictionary are built once per worker; an override by the linkage desk
goes through here too, because the catalogue and the routing table live in the worker.
"""

from __future__ import annotations

from pydantic import BaseModel, Field
from temporalio import activity
from temporalio.exceptions import ApplicationError

from linkage.domain.catalogue import CodeName, Direction
from linkage.domain.triage_result import TriageRequest, TriageResult
from linkage.domain.units import UnknownUnit, load_register, route_with_code
from linkage.metrics.worker import triage_read
from linkage.settings.config import ConfigError
from linkage.settings.logs import get_logger
from linkage.triage.triager import Triager


class TriageInput(BaseModel):
    incident_id: str
    request: TriageRequest


class OverrideInput(BaseModel):
    """Re-derive a triage result for the direction and item a person chose."""

    incident_id: str
    triage: TriageResult
    direction: Direction
    subcategory: str = Field(default="", description="code or name; empty keeps triage's")
    township: str


class TriageActivities:
    def __init__(self, triager: Triager) -> None:
        self.triager = triager

    @activity.defn
    def triage(self, input: TriageInput) -> TriageResult:
        result = self.triager.triage(input.request)
        triage_read(result)
        get_logger(incident_id=input.incident_id).info(
            "triaged",
            direction=result.direction,
            subcategory=result.subcategory.code if result.subcategory else "",
            confidence=result.confidence,
            needs_review=result.needs_review,
            safety=result.safety,
            catalogue_version=result.catalogue_version,
            model_version=result.model_version,
            notices={n.unit: n.evidence for n in result.notices},
        )
        return result

    @activity.defn
    def override(self, input: OverrideInput) -> TriageResult:
        """The result as the desk decided it: item, route and emergency units follow the item."""
        catalogue = self.triager.catalogue
        result = input.triage.model_copy(deep=True)
        result.direction = input.direction
        result.needs_review = False
        # The notices follow the desk: none for 12345 alone; for police, the units the words
        # gave evidence for (those that waited for the desk included).
        if input.direction == "hotline":
            result.emergency_units = []
        elif not result.emergency_units and result.safety:
            result.emergency_units = [n.unit for n in result.notices]
        if input.subcategory:
            found = catalogue.find(input.subcategory)
            if found is None or found[1] is None:
                raise ApplicationError(
                    f"subcategory: {input.subcategory!r} is not a subcategory code or name of "
                    f"catalogue {catalogue.version} (e.g. H02.07 or 餐饮油烟)",
                    non_retryable=True,
                )
            category_code, sub_code = found
            side = catalogue.categories[category_code].direction
            if input.direction != "both" and side != input.direction:
                raise ApplicationError(
                    f"subcategory: {sub_code} is a {side} item, but the direction chosen is "
                    f"{input.direction}",
                    non_retryable=True,
                )
            result.category = catalogue.code_name(category_code)
            result.subcategory = CodeName(code=sub_code, name=catalogue.code_name(sub_code).name)
            route = self.triager.routing.route(category_code, sub_code, input.township)
            try:
                result.route = route_with_code(route, load_register())
            except (ConfigError, UnknownUnit) as err:
                raise ApplicationError(str(err), type="ConfigError", non_retryable=True) from None
        return result
