"""The linkage catalogue (附件2), as validated district data.

It lives in temporal-config/ and is edited by the district. Loading checks every code, every
cross-reference and every term, and names the file, the field and the problem, so that a worker
never classifies with a half-understood table. The routing table, checked against it, is in
linkage.domain.routing.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from linkage.domain.district_data import Strict, load_table
from linkage.settings.config import ConfigError
from linkage.settings.paths import config_dir

Direction = Literal["police", "hotline", "both"]
Side = Literal["police", "hotline"]

_CATEGORY_CODE = re.compile(r"^[HP]\d{2}$")
_SUBCATEGORY_CODE = re.compile(r"^([HP]\d{2})\.\d{2}$")


def _clean_terms(terms: list[str]) -> list[str]:
    cleaned = []
    for term in terms:
        term = term.strip()
        if not term:
            raise ValueError("a term is empty")
        if any(ch.isspace() for ch in term):
            raise ValueError(f"term {term!r} contains a space; write it as one word")
        cleaned.append(term)
    duplicates = sorted({t for t in cleaned if cleaned.count(t) > 1})
    if duplicates:
        raise ValueError(f"term(s) listed twice: {', '.join(duplicates)}")
    return cleaned


class Subcategory(Strict):
    name: str = Field(min_length=2, max_length=40)
    terms: list[str] = Field(default_factory=list)
    weak_terms: list[str] = Field(
        default_factory=list, description="context words that count for little on their own"
    )
    joint: bool = Field(default=False, description="police act and 12345 departments join")
    safety: bool = Field(default=False, description="its matters are on the safety floor")
    lasting: bool = Field(
        default=False,
        description="its danger can be a lasting condition: in a complaint, a hazard noted",
    )
    retired: bool = Field(default=False, description="kept for old incidents, never chosen")

    _terms = field_validator("terms", "weak_terms")(_clean_terms)

    @model_validator(mode="after")
    def _has_terms(self) -> Subcategory:
        if not self.retired and not self.terms:
            raise ValueError("terms: a subcategory in use needs at least one term")
        return self


class Category(Strict):
    name: str = Field(min_length=2, max_length=40)
    direction: Side
    description: str = ""
    subcategories: dict[str, Subcategory] = Field(min_length=1)


class SafetyGroup(Strict):
    """One kind of danger of the safety floor (安全底线)."""

    name: str = Field(min_length=2, max_length=40)
    subcategory: str = Field(description="the police subcategory it falls under")
    terms: list[str] = Field(min_length=1)
    emergency: list[str] = Field(default_factory=list, description="emergency unit codes")
    lasting: bool = Field(
        default=False,
        description="a condition that can last (a building that may collapse, a lift that traps "
        "people): described in a complaint, it is a hazard noted, not a present danger",
    )

    _terms = field_validator("terms")(_clean_terms)


class ReviewSettings(Strict):
    min_confidence: float = Field(gt=0, lt=1)
    min_score: float = Field(gt=0)
    both_ratio: float = Field(gt=0, le=1)
    caution: list[str] = Field(
        default_factory=list,
        description="signs of a person in trouble: a description with one is never sent to "
        "12345 without a person's look",
    )
    danger_cues: list[str] = Field(
        default_factory=list,
        description="generic or weak signs of danger (很危险, 气味很大): the desk decides, and "
        "no emergency unit is notified on them",
    )

    _terms = field_validator("caution", "danger_cues")(_clean_terms)


class ModelSettings(Strict):
    """How far the learned model is trusted beside the rules."""

    file: str = Field(default="triage-model/model.json", min_length=1)
    sure: float = Field(default=0.8, gt=0, lt=1, description="a reading this sure may decide")
    unsure: float = Field(default=0.5, gt=0, lt=1, description="below this: the model is unsure")
    alone: float = Field(
        default=0.9, gt=0, lt=1, description="where the rules found nothing: this sure to read"
    )
    danger: float = Field(
        default=0.5, gt=0, lt=1, description="a danger this likely, unseen by the rules: the desk"
    )
    complaint_danger: float = Field(
        default=0.7, gt=0, lt=1, description="the same, for a complaint with nothing said to be now"
    )
    lift_danger: float = Field(
        default=0.1,
        gt=0,
        lt=1,
        description="weak rules' evidence for 12345 alone is let through only below this danger",
    )
    no_danger: float = Field(
        default=0.1, gt=0, lt=1, description="a rules' danger the model puts below this: the desk"
    )
    notice_danger: float = Field(
        default=0.3,
        gt=0,
        lt=1,
        description="a rules' danger the model puts below this: its notices wait for the desk",
    )
    whole_text: int = Field(
        default=100, gt=0, description="characters from which a text is weighed as a whole"
    )
    whole_sure: float = Field(
        default=0.8, gt=0, lt=1, description="a long text read as 12345 this surely is 12345"
    )
    whole_danger: float = Field(
        default=0.1,
        gt=0,
        lt=1,
        description="… when the model puts its danger below this (the rules' words then only "
        "noted, unless said to happen now: then the desk)",
    )


class Notice(Strict):
    """An emergency unit and the evidence it is notified on: the danger kinds of its own, and
    words that show its kind of danger (a gas smell for the gas company, an injury for 120)."""

    groups: list[str] = Field(default_factory=list, description="safety groups of its kind")
    terms: list[str] = Field(default_factory=list)

    _terms = field_validator("terms")(_clean_terms)


class LanguageSettings(Strict):
    negations: list[str] = Field(default_factory=list, description="negate the next 2 words")
    hypotheticals: list[str] = Field(
        default_factory=list, description="make the rest of the clause hypothetical or past"
    )

    complaint: list[str] = Field(
        default_factory=list,
        description="markers of a complaint, proposal or request about a lasting condition",
    )
    present: list[str] = Field(default_factory=list, description="markers of something now")
    urgent: list[str] = Field(
        default_factory=list,
        description="markers of a danger happening this moment: a long text read as a whole "
        "keeps a danger word in such a sentence with 110, for the desk",
    )

    _terms = field_validator("negations", "hypotheticals", "complaint", "present", "urgent")(
        _clean_terms
    )


class CodeName(BaseModel):
    code: str
    name: str

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Catalogue(Strict):
    """附件2 with stable codes, the safety floor and the thresholds for human review."""

    version: str = Field(min_length=1, max_length=40)
    review: ReviewSettings
    language: LanguageSettings = LanguageSettings()
    model: ModelSettings = ModelSettings()
    safety: dict[str, SafetyGroup] = Field(min_length=1)
    notices: dict[str, Notice] = Field(
        default_factory=dict, description="emergency unit code → the evidence it needs"
    )
    categories: dict[str, Category] = Field(min_length=1)

    @model_validator(mode="after")
    def _codes(self) -> Catalogue:
        for code, category in self.categories.items():
            if not _CATEGORY_CODE.match(code):
                raise ValueError(f"categories.{code}: a category code is H or P and two digits")
            expected = "hotline" if code.startswith("H") else "police"
            if category.direction != expected:
                raise ValueError(
                    f"categories.{code}.direction: {code} is a {expected} code, "
                    f"not {category.direction}"
                )
            for sub_code, sub in category.subcategories.items():
                match = _SUBCATEGORY_CODE.match(sub_code)
                if not match or match.group(1) != code:
                    raise ValueError(
                        f"categories.{code}.subcategories.{sub_code}: a subcategory code is its "
                        f"category's code, a dot and two digits (e.g. {code}.01)"
                    )
                if (sub.joint or sub.safety) and category.direction != "police":
                    raise ValueError(
                        f"categories.{code}.subcategories.{sub_code}: only police items can be "
                        "joint or on the safety floor"
                    )
        for key, group in self.safety.items():
            sub = self.subcategory(group.subcategory)
            if sub is None or not group.subcategory.startswith("P"):
                raise ValueError(
                    f"safety.{key}.subcategory: {group.subcategory!r} is not a police "
                    "subcategory of this catalogue"
                )
        for unit, notice in self.notices.items():
            unknown = [g for g in notice.groups if g not in self.safety]
            if unknown:
                raise ValueError(
                    f"notices.{unit}.groups: no safety group {', '.join(unknown)} "
                    f"(groups: {', '.join(self.safety)})"
                )
        return self

    def subcategory(self, code: str) -> Subcategory | None:
        category = self.categories.get(code.split(".")[0])
        return category.subcategories.get(code) if category else None

    def category_of(self, sub_code: str) -> Category:
        return self.categories[sub_code.split(".")[0]]

    def code_name(self, code: str) -> CodeName:
        if "." in code:
            sub = self.subcategory(code)
            return CodeName(code=code, name=sub.name if sub else code)
        category = self.categories.get(code)
        return CodeName(code=code, name=category.name if category else code)

    def find(self, code_or_name: str) -> tuple[str, str | None] | None:
        """A person's category: a code (P04, P04.05) or a Chinese name, as (category, sub)."""
        text = code_or_name.strip()
        for code, category in self.categories.items():
            if text in (code, category.name):
                return code, None
            for sub_code, sub in category.subcategories.items():
                if text in (sub_code, sub.name):
                    return code, sub_code
        return None


def load_catalogue(path: Path | None = None) -> Catalogue:
    return load_table(Catalogue, path or config_dir() / "catalogue.toml")


def check_emergency_units(catalogue: Catalogue, known_units: dict[str, str]) -> None:
    """Every emergency unit the safety floor calls on exists in the time-limit table."""
    places = [
        (f"safety.{key}.emergency", group.emergency) for key, group in catalogue.safety.items()
    ]
    places.append(("notices", list(catalogue.notices)))
    for where, codes in places:
        unknown = [code for code in codes if code not in known_units]
        if unknown:
            raise ConfigError(
                f"catalogue.toml: {where}: unknown unit(s) {', '.join(unknown)}; "
                f"time-limits.toml [emergency.units] has {', '.join(known_units)}"
            )
