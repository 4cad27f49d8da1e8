"""Triage (非警务类警情甄别): police matter or not, which catalogue item, and which unit.

Two readers: the rules (linkage.triage.rules: the catalogue's terms in their context) and a
learned model (linkage.triage.model), both given the text with its numbers set aside
(linkage.triage.numbers: a 120 inside a phone number is no 120). The safety floor is the
rules' and cannot be outvoted: a present danger always goes to police. Where the two
disagree, or the model is unsure, or the evidence is weak, nothing is guessed at:
`needs_review` sends it to the linkage desk. The decision itself is linkage.triage.decide;
this module holds the entry points, and linkage.domain.triage_result the contract.
"""

from __future__ import annotations

import functools
import json

from pydantic import ValidationError

from linkage.domain.catalogue import Catalogue, load_catalogue
from linkage.domain.routing import RoutingTable, load_routing
from linkage.domain.triage_result import TriageRequest, TriageResult
from linkage.settings.config import format_validation_error
from linkage.settings.paths import config_dir

MODEL_FROM_FILE = object()  # the model file the catalogue names


class Triager:
    """Built once per worker (the dictionary and the model take about a second), then shared."""

    def __init__(
        self, catalogue: Catalogue, routing: RoutingTable, model=MODEL_FROM_FILE, rules=None
    ) -> None:
        from linkage.triage.model import load_model
        from linkage.triage.rules import RuleReader

        self.catalogue = catalogue
        self.routing = routing
        places = [w for name, t in routing.townships.items() for w in (name, *t.aliases)]
        self.rules = rules or RuleReader(catalogue, places)
        self._places = {name: routing.township(name) for name in places}
        # the same category and township always route alike: routed once per worker
        self.route = functools.lru_cache(maxsize=4096)(routing.route)
        if model is MODEL_FROM_FILE:
            model = load_model(config_dir() / catalogue.model.file)
        self.model = model

    @staticmethod
    def shipped_model_version() -> str:
        """The version of the model file the district's catalogue names ("" for none)."""
        from linkage.triage.model import load_model

        model = load_model(config_dir() / load_catalogue().model.file)
        return model.version if model is not None else ""

    def township_in(self, tokens: list[str]) -> str:
        places = self._places
        for token in tokens:
            place = places.get(token)
            if place:
                return place
        return ""

    def prepare(self, text: str) -> str:
        """The text as both readers take it, in training as in reading: normalised, with its
        numbers set aside (a 120 inside a phone number is no call to 120)."""
        from linkage.triage.rules import normalise

        return self.rules.numbers.set_aside(normalise(text))

    def read(self, text: str):
        """The rules' tokens and evidence for a prepared text, and the model's facts."""
        from linkage.triage.decide import facts

        tokens, lattice = self.rules.parse(text)
        found = self.rules.read(text, tokens, lattice)
        return tokens, found, facts(found, text)

    def triage(self, request: TriageRequest) -> TriageResult:
        from linkage.triage.decide import decide

        text = self.prepare(request.text)
        tokens, found, facts = self.read(text)
        township = self.routing.township(request.township) if request.township else None
        township_name = township or request.township or self.township_in(tokens)
        reading = self.model.read(text, facts, tokens) if self.model is not None else None
        return decide(self, found, reading, township_name, len(text))


def load_triager() -> Triager:
    """The triager for the district's current catalogue and routing table."""
    catalogue = load_catalogue()
    return Triager(catalogue, load_routing(catalogue))


def output_line(result: TriageResult, id_: object = None) -> dict:
    """One `linkage triage -` output line: the names users script against."""
    line: dict = {"id": id_} if id_ is not None else {}
    line.update(result.model_dump(mode="json"))
    return line


def triage_json_line(triager: Triager, raw: str, number: int) -> dict:
    """A JSON Lines input line → its result, or an error line naming the problem."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as err:
        return {"id": None, "line": number, "error": f"not valid JSON: {err.msg}"}
    if not isinstance(data, dict):
        return {"id": None, "line": number, "error": "a line must be a JSON object"}
    id_ = data.pop("id", None)
    try:
        request = TriageRequest.model_validate(data)
    except ValidationError as err:
        problem = format_validation_error(f"line {number}", err).replace("\n", "; ")
        return {"id": id_, "line": number, "error": problem}
    return output_line(triager.triage(request), id_)
