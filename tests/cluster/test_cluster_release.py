"""A release of the workers from v1 to v2 on the cluster, with incidents in flight (Worker
Versioning on the real server, docs/releases.md): v1 workers are promoted, an incident opens on
v1, v2 workers start beside them, `linkage release` ramps v2 and promotes it through the replay
gate; a new incident starts on v2, the v1 incident's next action runs on v2, and it still
answers once the v1 workers are gone.

The release has a deployment and a task queue of its own: once a task queue has a current
version, its unversioned pollers get no new work, and the cluster's own workers (unversioned,
on `linkage`) serve the tier's other tests."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import signal
import socket
import sys
import time
import uuid

import httpx
from temporalio.client import Client
from temporalio.service import RPCError

from linkage.client import LinkageClient
from linkage.ops.cluster.parts import Part
from linkage.trust.codec import EncryptionCodec, load_keyring
from linkage.trust.commands import load_command_keys
from linkage.trust.signing import CommandSigner
from linkage.trust.temporal import DATA_CONVERTER, secured_connection
from tests.cluster.conftest import linkage_command, wait_until
from tests.conftest import make_report
from tests.parties import BUREAU, as_

POLLERS_UNKNOWN = "is a worker of that build polling"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class VersionWorkers:
    """`linkage worker` processes of one deployment, started as the cluster starts its own (a
    session of their own, a log in its folder, recorded in cluster.json), on the release's own
    task queue, each as one build."""

    def __init__(self, cluster, queue: str, deployment: str) -> None:
        self.cluster, self.queue, self.deployment = cluster, queue, deployment
        self.ports: dict[str, int] = {}

    def name(self, build: str) -> str:
        return f"release-{build}"

    async def start(self, build: str) -> None:
        port = self.ports[build] = _free_port()
        part = Part(
            name=self.name(build),
            command=[sys.executable, "-m", "linkage.interfaces.cli.main", "worker"],
            port=port,
            env={
                **self.cluster.env(),
                "LINKAGE_TASK_QUEUE": self.queue,
                "LINKAGE_DEPLOYMENT_NAME": self.deployment,
                "LINKAGE_BUILD_ID": build,
                "LINKAGE_METRICS_ADDRESS": "",  # the cluster's workers keep theirs
                "LINKAGE_WORKER_HEALTH_PORT": str(port),
            },
        )
        await asyncio.to_thread(self.cluster.processes.start, part, 120)
        assert await wait_until(lambda: self.ready(build), 60), f"{part.name} not ready"

    async def ready(self, build: str) -> bool:
        async with httpx.AsyncClient(timeout=5) as http:
            try:
                answer = await http.get(f"http://127.0.0.1:{self.ports[build]}/readyz")
            except httpx.HTTPError:
                return False
        return answer.status_code == 200

    def stop(self, build: str) -> None:
        """SIGTERM, and the worker's grace for what runs (SIGKILL after 20 s)."""
        self.cluster.processes.stop(self.name(build))

    def kill_all(self) -> None:
        for build in self.ports:
            if self.cluster.processes.alive(self.name(build)):
                self.cluster.processes.signal(self.name(build), signal.SIGKILL)


async def _linkage(cluster, queue: str, monkeypatch) -> LinkageClient:
    """The front door's client on the release's queue, with the cluster's codec keyring and
    command keys (read from its state directory, as its processes read them): the payloads its
    workers open and the proofs they check."""
    with monkeypatch.context() as here:
        here.setenv("LINKAGE_STATE_DIR", cluster.env()["LINKAGE_STATE_DIR"])
        keyring, keys = load_keyring(), load_command_keys()
    client = await Client.connect(
        **secured_connection(cluster.env("writer")),
        data_converter=dataclasses.replace(DATA_CONVERTER, payload_codec=EncryptionCodec(keyring)),
        interceptors=[CommandSigner(keys)],
    )
    return LinkageClient(client, queue)


async def _released(
    cluster, env: dict[str, str], *args: str, seconds: float = 60
) -> tuple[str, int]:
    """`linkage release …`, again while the server does not yet know the build's pollers; its
    output and how many times it was asked."""
    deadline, asked = time.monotonic() + seconds, 0
    while True:
        asked += 1
        try:
            out = await asyncio.to_thread(linkage_command, cluster, "release", *args, env=env)
            return out, asked
        except AssertionError as refused:
            if POLLERS_UNKNOWN not in str(refused) or time.monotonic() > deadline:
                raise
        await asyncio.sleep(1)


async def _build_of(linkage: LinkageClient, workflow_id: str) -> str:
    described = await linkage.client.get_workflow_handle(workflow_id).describe()
    info = described.raw_description.workflow_execution_info.versioning_info
    return info.deployment_version.build_id


async def _opened(linkage: LinkageClient, origin: str) -> str:
    result = await linkage.divert(make_report(origin))
    assert result.new
    return result.incident_id


async def test_a_release_moves_incidents_in_flight_from_v1_to_v2(cluster, monkeypatch):
    deployment = f"tier-release-{uuid.uuid4().hex[:8]}"
    queue = f"linkage-{deployment}"
    env = {"LINKAGE_TASK_QUEUE": queue, "LINKAGE_DEPLOYMENT_NAME": deployment}
    workers = VersionWorkers(cluster, queue, deployment)
    linkage = await _linkage(cluster, queue, monkeypatch)
    took: dict[str, float] = {}
    seen: dict[str, object] = {"took": took}  # printed at the end (RELEASE {...})
    began = lap = time.monotonic()

    def timed(step: str) -> None:
        nonlocal lap
        took[step] = round(time.monotonic() - lap, 1)
        lap = time.monotonic()

    opened: list[str] = []
    try:
        await workers.start("v1")
        timed("v1 worker ready")
        out, seen["promote v1 asked"] = await _released(cluster, env, "promote", "v1")
        assert "v1 is current" in out, out
        timed("promote v1")

        first = await _opened(linkage, "police")
        opened.append(first)
        assert await wait_until(lambda: _build_of(linkage, first), 10) == "v1"
        timed("incident on v1")

        await workers.start("v2")
        timed("v2 worker ready")
        out, seen["ramp v2 asked"] = await _released(cluster, env, "ramp", "v2", "--percent", "50")
        assert "v2 takes 50 % of new workflows" in out, out
        timed("ramp v2 50 %")
        found = json.loads(linkage_command(cluster, "release", "status", "--json", env=env))
        assert (found["current"], found["ramping"], found["ramp_percent"]) == ("v1", "v2", 50)
        assert {v["build_id"]: v["state"] for v in found["versions"]} == {
            "v1": "current",
            "v2": "ramping",
        }
        timed("status")

        out, seen["promote v2 asked"] = await _released(cluster, env, "promote", "v2")
        gate, said = seen["promote v2 said"] = out.splitlines()[:2]
        replayed = int(gate.removeprefix("replay gate: ").split()[0])
        assert gate.endswith("running workflows replay with this code") and replayed >= 1, out
        assert said.startswith("v2 is current"), out
        timed("promote v2 (gate)")

        second = await _opened(linkage, "hotline")
        opened.append(second)
        assert await wait_until(lambda: _build_of(linkage, second), 10) == "v2"
        timed("new incident on v2")

        # it moves on its next task (its sending review's timer, 36 s after it opened, is one)
        seen["v1 incident before its action"] = await _build_of(linkage, first)
        state = await linkage.act(first, "review", as_(BUREAU))
        assert state.stage.value == "receiving_review"  # v1's incident goes on, on v2
        assert await _build_of(linkage, first) == "v2"
        timed("v1 incident acted on, on v2")
        found = json.loads(linkage_command(cluster, "release", "status", "--json", env=env))
        assert (found["current"], found["ramping"]) == ("v2", "")
        seen["versions after"] = {v["build_id"]: v["state"] for v in found["versions"]}
        assert seen["versions after"]["v2"] == "current"

        await asyncio.to_thread(workers.stop, "v1")
        timed("v1 worker stopped")
        shown = json.loads(linkage_command(cluster, "status", first, "--json", env=env))
        assert shown["running"] and shown["stage"] == "receiving_review", shown
        timed("v1 incident answers without v1")
    finally:
        workers.kill_all()
        for incident in opened:  # nothing of the release's is left running in the tier
            with contextlib.suppress(RPCError):
                await linkage.client.get_workflow_handle(incident).terminate("release test over")
    took["total"] = round(time.monotonic() - began, 1)
    print("\nRELEASE " + json.dumps(seen, ensure_ascii=False))
