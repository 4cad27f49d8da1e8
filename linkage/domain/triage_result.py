"""What triage answers (the triage activity's input and result): the side, the catalogue item,
the route, the evidence, and whether the linkage desk must look first."""

from __future__ import annotations

from pydantic import BaseModel, Field

from linkage.domain.catalogue import CodeName, Direction
from linkage.domain.routing import Route


class TriageRequest(BaseModel):
    """One description to triage (the activity's input and a `linkage triage -` line)."""

    text: str = Field(min_length=1, max_length=4000)
    township: str = Field(default="", max_length=40)


class UnitNotice(BaseModel):
    """An emergency unit to notify and the words of the description its notice rests on."""

    unit: str
    evidence: list[str]


class ModelView(BaseModel):
    """What the learned model read, beside the rules."""

    direction: Direction
    direction_p: float
    category: str
    category_p: float = 0.0
    danger_p: float
    evidence: list[str] = Field(default_factory=list)
    agrees: bool = True


class TriageResult(BaseModel):
    direction: Direction
    category: CodeName | None
    subcategory: CodeName | None
    confidence: float
    evidence: list[str]
    reason: str
    route: Route
    hotline_route: Route | None = Field(
        default=None,
        description="for both sides: where 12345's part goes (the 12345 matter's "
        "unit, or the township)",
    )
    needs_review: bool
    safety: list[str] = Field(default_factory=list, description="safety-floor kinds found")
    emergency_units: list[str] = Field(default_factory=list)
    review_reasons: list[str] = Field(default_factory=list)
    catalogue_version: str
    notices: list[UnitNotice] = Field(
        default_factory=list, description="each emergency unit notified, with its evidence"
    )
    hazards: list[str] = Field(
        default_factory=list, description="danger words of a complaint: noted, not the floor"
    )
    model_version: str = Field(default="", description="the learned model's version, if any")
    model: ModelView | None = None
