"""What the rules found in a description: catalogue terms by subcategory, dangers and the context
they stand in (a complaint, now, this moment). Filled by linkage.triage.rules, weighed by
linkage.triage.verdict and linkage.triage.decide."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Evidence:
    subs: dict[str, dict[str, float]] = field(default_factory=dict)  # sub → term → weight
    safety: dict[str, list[str]] = field(default_factory=dict)  # present dangers: group → terms
    hazards: list[str] = field(default_factory=list)  # danger words of a complaint: noted
    negated_safety: list[str] = field(default_factory=list)
    caution: list[str] = field(default_factory=list)  # signs of a person in trouble
    cues: list[str] = field(default_factory=list)  # generic danger cues (很危险, 气味很大)
    complaint: list[str] = field(default_factory=list)  # complaint markers found
    present: list[str] = field(default_factory=list)  # markers of now found
    notice_words: dict[str, list[str]] = field(default_factory=dict)  # unit → evidence words
    urgent: list[str] = field(default_factory=list)  # danger words said to happen this moment
    is_complaint: bool = False
