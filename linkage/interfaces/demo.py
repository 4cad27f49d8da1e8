"""`linkage demo`: realistic incidents in both directions, with every party played.

Each scenario diverts one incident and then acts for the bureau, the command centre, the units
and the citizen with short pauses, so a person watching the Web UI sees incidents move through
review, negotiation, both loops and the push back. The paths cover send-back, dispute, return,
extension, rejected feedback, reopening after dissatisfaction, an unreachable citizen, joint
handling, a whistle (双哨联处) and police linkage (派警联动): they are in
linkage.interfaces.demo_scenarios; this module plays them.
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import datetime, timedelta, timezone

from linkage.client import ActionRefused, LinkageClient
from linkage.client.authorized import AuthorizedClient
from linkage.domain.models import Stage
from linkage.domain.units import load_register
from linkage.interfaces.demo_scenarios import DESK, ORIGIN_ROLE, SCENARIOS
from linkage.trust.principals import make_principal
from linkage.trust.tokens import TokenVerifier, issue_token
from workflows.contracts import IncidentSummary

CST = timezone(timedelta(hours=8))


def build_report(spec: dict, run: str, index: int) -> dict:
    origin = spec["origin"]
    return {
        "origin": origin,
        "reference": f"{'JJ' if origin == 'police' else 'GD'}DEMO{run}{index:02d}",
        "received_at": datetime.now(CST).isoformat(timespec="seconds"),
        "caller": {"name": "演示来电人", "phone": f"139{run[-4:]}{index:04d}"},
        # a place of this run's own: a demo run again never joins the open incidents of the last
        "location": {"address": f"{spec['address']}（演示 {run}）", "township": spec["township"]},
        "description": spec["description"],
        "divert_reason": spec["reason"],
        "urgency": spec.get("urgency", "routine"),
        "originating_unit": spec["from"],
        "category": spec["category"],
    }


PARTIES: Parties | None = None  # set when the demo runs


class Parties:
    """Every party of the demo with a token of its own: issued with the host's key, verified
    back to its principal, and acting through the policy (the audit names each one)."""

    def __init__(self, client: LinkageClient) -> None:
        self.client = client
        self.register = load_register()
        self.verifier = TokenVerifier(register=self.register)
        self._as: dict[tuple[str, str, str], AuthorizedClient] = {}

    def of(self, actor: dict) -> AuthorizedClient:
        key = (actor["role"], actor["unit"], actor.get("person") or actor["unit"])
        if key not in self._as:
            principal = make_principal(
                self.register, name=key[2], role=key[0], unit=key[1], what="demo: "
            )
            token, _ = issue_token(principal, days=1)
            self._as[key] = AuthorizedClient(self.client, self.verifier.verify(token), via="demo")
        return self._as[key]


async def desk_review(client: LinkageClient, incident: str, spec: dict, say) -> None:
    """Once triage has read the report: where it is unsure or disagrees with the push, the
    linkage desk looks at it and, in this demo, confirms the push's direction."""
    while True:
        status = await client.status(incident)
        if status.incident is None or status.incident.triage is not None:
            break
        await asyncio.sleep(0.1)
    if status.stage is not Stage.triage_review:
        return
    triage = status.incident.triage
    say(f"[{incident}] triage: {triage.reason}")
    receiver = "hotline" if spec["origin"] == "police" else "police"
    await PARTIES.of(DESK).act(
        incident, "triage-decide", {"direction": receiver, "reason": "专席核实：按推送方向流转"}
    )
    say(f"[{incident}] {DESK['unit']}: triage-decide ({receiver})")


async def play(client: LinkageClient, index: int, run: str, pace: float, say) -> IncidentSummary:
    spec, steps = SCENARIOS[index]
    pusher = {"role": ORIGIN_ROLE[spec["origin"]], "unit": spec["from"], "person": "推送专席"}
    result = await PARTIES.of(pusher).divert(build_report(spec, run, index))
    incident = result.incident_id
    if not result.new:  # the intake joined it to an incident someone else has open
        raise ActionRefused(
            f"[{incident}] the report joined an open incident ({result.matched_by}); "
            f"this scenario is skipped"
        )
    say(f"[{incident}] diverted: {spec['description']}")
    await desk_review(client, incident, spec, say)
    for actor, action, fields in steps:
        await asyncio.sleep(pace)
        try:
            party = PARTIES.of(actor)
            if action == "whistle":
                await party.whistle(incident, fields)
            else:
                await party.act(incident, action, fields)
        except ActionRefused as err:
            say(f"[{incident}] {err}")
            raise
        say(f"[{incident}] {actor['unit']}: {action}")
    return await client.result(incident)


async def run_demo(pace: float = 2.0, as_json: bool = False) -> int:
    """Play every scenario at once; with as_json, print one JSON summary line per incident."""

    def say(line: str) -> None:
        if not as_json:
            print(line, flush=True)

    global PARTIES
    client = await LinkageClient.connect()
    PARTIES = Parties(client)
    run = datetime.now(CST).strftime("%m%d%H%M%S")
    started = time.monotonic()
    from linkage.settings import runfile

    where = runfile.ui_url() or "the Temporal Web UI"
    say(f"Feeding {len(SCENARIOS)} incidents; watch them in the Web UI ({where})")
    results = await asyncio.gather(
        *(play(client, i, run, pace, say) for i in range(len(SCENARIOS))),
        return_exceptions=True,
    )
    failed = [r for r in results if isinstance(r, BaseException)]
    for summary in results:
        if isinstance(summary, BaseException):
            continue
        if as_json:
            print(summary.model_dump_json(exclude={"timeline"}), flush=True)
        else:
            say(f"[{summary.incident_id}] {summary.stage.value}: {summary.outcome}")
    say(
        f"{len(results) - len(failed)} of {len(results)} incidents closed in "
        f"{time.monotonic() - started:.0f}s. Try: linkage list, linkage status ID, linkage outbox"
    )
    for err in failed:
        print(f"linkage demo: failed: {err}", file=sys.stderr)
    return 1 if failed else 0
