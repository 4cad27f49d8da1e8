"""Schemathesis against the committed schema (docs/openapi.json), in process: every operation
gets inputs that fit the schema and inputs that do not, sent with valid tokens of parties
allowed to act, on made-up incidents, on real ones and on the IDs of their loops and whistles;
none may answer 500. The schema holds a report and an action's payload as open objects, so
valid ones with fields made arbitrary JSON are sent too: they reach the checks a random object
never passes.

The cases are drawn in a thread (Hypothesis is synchronous) and sent on the test's own event
loop, where the app's Temporal client lives. Every 5xx is collected, not only the first, so a
failure lists each operation and input that gave one. The examples are bounded (EXAMPLES per
operation and mode) to keep the test well under two minutes.
"""

# ruff: noqa: F811  (the API fixtures are imported by name)
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from linkage.domain.action_specs import ACTIONS
from tests.conftest import make_report, open_incident, started_loop
from tests.parties import CENTRE, as_, divert_to_hotline
from tests.test_api import api, tokens  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = 25
ROLES = ("command_center", "police_bureau", "police_unit", "member_unit", "linkage_desk")


def operations():
    schema = schemathesis.openapi.from_path(ROOT / "docs" / "openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=60),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
REPORT_FIELDS = [
    *["origin", "reference", "received_at", "description", "divert_reason", "urgency"],
    *["originating_unit", "category", "joint", "caller", "location"],
    *["caller.name", "caller.phone", "caller.id_number", "location.address", "location.township"],
]


@st.composite
def mutated_report(draw) -> dict:
    """A valid report with one field (or a made-up one) replaced by arbitrary JSON."""
    report = make_report(draw(st.sampled_from(["police", "hotline"])))
    path = draw(st.sampled_from([*REPORT_FIELDS, "extra"]))
    *parents, last = path.split(".")
    where = report
    for key in parents:
        where = where[key]
    where[last] = draw(JSON | st.text(max_size=200))
    return report


@st.composite
def mutated_action(draw) -> tuple[str, dict]:
    """An action and a payload of some of its own fields, each arbitrary JSON."""
    action = draw(st.sampled_from(sorted(ACTIONS)))
    spec = ACTIONS[action]
    names = [n for n in spec.model.model_fields if n not in ("actor", "unit_name", *spec.fixed)]
    chosen = draw(st.sets(st.sampled_from(names)) if names else st.just(set()))
    return action, {name: draw(JSON | st.text(max_size=40)) for name in chosen}


def request_of(case, token: str) -> dict:
    """The generated request as httpx takes it, with a valid token instead of a made-up one."""
    sent = case.as_transport_kwargs(base_url="http://api")
    request = {
        "method": sent["method"],
        "url": sent["url"],
        "params": sent.get("params") or None,
        "headers": {"Authorization": f"Bearer {token}"},
    }
    if "json" in sent:
        request["json"] = sent["json"]
        request["headers"]["Content-Type"] = "application/json"
    elif sent.get("data") is not None:
        request["content"] = sent["data"]
        if "Content-Type" in (sent.get("headers") or {}):
            request["headers"]["Content-Type"] = sent["headers"]["Content-Type"]
    return request


BOUNDED = dict(
    deadline=None,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.timeout(300)  # well under two minutes; the margin is for a busy machine
async def test_no_generated_input_gives_a_500(api, tokens, env, linkage):
    loop = asyncio.get_running_loop()
    real = [
        await open_incident(env, linkage, "police"),
        await open_incident(env, linkage, "hotline"),
    ]
    await divert_to_hotline(linkage, real[0])  # its 12345 loop and a whistle run beside it
    await linkage.whistle(real[0], as_(CENTRE, reason="群众聚集", units=["区城管局"]))
    await started_loop(env, real[0], "hotline")
    others = [f"{real[0]}.hotline", f"{real[0]}.whistle-1"]  # IDs that are no incident's
    issued = [tokens.party(role) for role in ROLES]
    failures: list[str] = []

    def record(request: dict) -> None:
        """Send a request on the test's loop; keep it if the answer is a 5xx (or the app
        raised, which the in-process transport passes on rather than answering 500)."""
        if "json" in request:  # as sent, NaN and Infinity too (httpx would refuse them)
            body = json.dumps(request.pop("json"), ensure_ascii=False).encode("utf-8")
            request["content"] = body
            request["headers"] = {**request["headers"], "Content-Type": "application/json"}
        try:
            future = asyncio.run_coroutine_threadsafe(api.request(**request), loop)
            answer = future.result(timeout=120)
        except Exception as err:
            failed = f"500 {type(err).__name__}: {str(err)[:300]}"
        else:
            failed = f"{answer.status_code} {answer.text[:300]}"
            if answer.status_code < 500:
                return
        shown = json.dumps(request, ensure_ascii=False, default=str)[:600]
        failures.append(f"{failed}\n    for {shown}")

    def explore(operation, mode) -> None:
        @settings(**BOUNDED, max_examples=EXAMPLES)
        @given(
            case=operation.as_strategy(generation_mode=mode),
            token=st.sampled_from(issued),
            incident=st.sampled_from([None, *real, *others]),
        )
        def check(case, token, incident):
            if incident is not None and "incident_id" in (case.path_parameters or {}):
                case.path_parameters["incident_id"] = incident
            record(request_of(case, token))

        check()

    def mutate() -> None:
        @settings(**BOUNDED, max_examples=4 * EXAMPLES)
        @given(
            report=mutated_report(),
            action=mutated_action(),
            token=st.sampled_from(issued),
            incident=st.sampled_from(real),
        )
        def check(report, action, token, incident):
            bearer = {"Authorization": f"Bearer {token}"}
            name, payload = action
            record(
                {"method": "POST", "url": "http://api/reports", "json": report, "headers": bearer}
            )
            url = f"http://api/incidents/{incident}/actions/{name}"
            record({"method": "POST", "url": url, "json": payload, "headers": bearer})

        check()

    for operation in operations():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            await asyncio.to_thread(explore, operation, mode)
    await asyncio.to_thread(mutate)
    assert not failures, f"{len(failures)} answers of 5xx:\n" + "\n".join(failures)
