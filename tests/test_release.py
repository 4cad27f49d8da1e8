"""A release of the workers from v1 to v2 with incidents in flight (Worker Versioning): the new
version takes work only once promoted, and only after the replay gate has replayed the running
incidents with its code; incidents started on v1 move to v2 on their next task and go on; a
history that the new code does not replay stops the release, naming the incident."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import pytest
from temporalio.common import WorkerDeploymentVersion

from linkage.client import LinkageClient
from linkage.client.errors import LinkageError
from linkage.ops import release
from tests.changed_incident import ChangedIncident
from tests.conftest import open_incident
from tests.parties import BUREAU, as_
from workers.main import WORKFLOWS, build_worker
from workers.versioning import check_names, deployment_config, deployment_version


@asynccontextmanager
async def version_worker(env, store, queue: str, name: str, build: str):
    version = WorkerDeploymentVersion(deployment_name=name, build_id=build)
    with ThreadPoolExecutor(max_workers=16) as executor:
        worker = build_worker(
            env.client, store, queue, executor, deployment=deployment_config(version)
        )
        running = asyncio.create_task(worker.run())
        try:
            yield worker
        finally:
            await worker.shutdown()
            await running


async def promoted(env, name: str, build: str) -> None:
    """Promoted once the version's pollers are known to the server (a second or so)."""
    for _ in range(100):
        try:
            return await release.promote(env.client, name, build)
        except LinkageError:
            await asyncio.sleep(0.2)
    await release.promote(env.client, name, build)


async def build_of(env, workflow_id: str) -> str:
    described = await env.client.get_workflow_handle(workflow_id).describe()
    info = described.raw_description.workflow_execution_info.versioning_info
    return info.deployment_version.build_id


async def test_incidents_started_on_v1_go_on_on_v2_once_the_gate_has_replayed_them(env, store):
    name = f"release-{uuid.uuid4().hex[:8]}"
    queue = f"linkage-{name}"
    linkage = LinkageClient(env.client, queue, store=store)
    async with version_worker(env, store, queue, name, "v1"):
        await promoted(env, name, "v1")
        first = await open_incident(env, linkage, "police")
        assert await build_of(env, first) == "v1"
        async with version_worker(env, store, queue, name, "v2"):
            gate = await release.replay_gate(env.client, queue, sample=20)
            assert gate.passed and gate.replayed >= 1, gate.failures
            await release.ramp(env.client, name, "v2", 25)
            found = await release.status(env.client, name)
            assert (found.current, found.ramping, found.ramp_percent) == ("v1", "v2", 25)
            await promoted(env, name, "v2")

            second = await open_incident(env, linkage, "hotline")
            assert await build_of(env, second) == "v2"  # new incidents start on v2
            with env.with_time_skipping_disabled():
                state = await linkage.act(first, "review", as_(BUREAU))
            assert state.stage.value == "receiving_review"  # v1's incident goes on, on v2
            assert await build_of(env, first) == "v2"
            found = await release.status(env.client, name)
            assert found.current == "v2" and not found.ramping
            assert {v.build_id: v.state for v in found.versions}["v2"] == "current"


async def test_a_history_the_new_code_does_not_replay_stops_the_release(env, linkage):
    iid = await open_incident(env, linkage, "police")
    history = await env.client.get_workflow_handle(iid).fetch_history()
    others = [w for w in WORKFLOWS if w.__name__ != "DivertedIncident"]
    gate = await release.replay([history], workflows=[ChangedIncident, *others])
    assert not gate.passed and iid in gate.failures
    assert "Nondeterminism" in gate.failures[iid] or "nondeterminism" in gate.failures[iid]
    same = await release.replay([history])
    assert same.passed and same.replayed == 1


def test_a_worker_is_unversioned_without_a_build_id_and_refuses_bad_names():
    assert deployment_version({}) is None
    version = deployment_version({"LINKAGE_BUILD_ID": "2026.12.1"})
    assert (version.deployment_name, version.build_id) == ("linkage", "2026.12.1")
    with pytest.raises(Exception, match="LINKAGE_DEPLOYMENT_NAME: 'a.b' is no deployment name"):
        deployment_version({"LINKAGE_BUILD_ID": "1", "LINKAGE_DEPLOYMENT_NAME": "a.b"})
    with pytest.raises(Exception, match="LINKAGE_BUILD_ID: 'x y' is no build ID"):
        check_names("linkage", "x y")


async def test_the_release_command_is_the_operators_and_audited(env, store, monkeypatch, capsys):
    """`linkage release`: a member unit is refused (audited); the operator (the host's, here)
    sees the deployment, is told plainly what is missing, and a promotion passes the gate."""
    from linkage.interfaces.cli import main as cli
    from linkage.records.audit import AuditLog
    from tests.test_cli_policy import token

    name = f"release-{uuid.uuid4().hex[:8]}"
    queue = f"linkage-{name}"
    monkeypatch.setenv("LINKAGE_TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    monkeypatch.setenv("LINKAGE_TASK_QUEUE", queue)
    monkeypatch.setenv("LINKAGE_DATABASE_URL", store.url)
    monkeypatch.setenv("LINKAGE_DEPLOYMENT_NAME", name)

    async def run(*args: str) -> tuple[int, str, str]:
        code = await asyncio.to_thread(cli.run, list(args))
        out, err = capsys.readouterr()
        return code, out, err

    monkeypatch.setenv("LINKAGE_TOKEN", token("member_unit", "区城管局", "钱科长"))
    code, _, err = await run("release", "status")
    assert code == 1 and "refused: release.status: a member_unit may not take it" in err
    monkeypatch.delenv("LINKAGE_TOKEN")

    code, _, err = await run("release", "status")
    assert code == 1 and f"no worker deployment '{name}'" in err
    code, _, err = await run("release", "promote")
    assert code == 1 and "build_id: the release's build ID is needed" in err
    async with version_worker(env, store, queue, name, "v1"):
        for _ in range(100):  # the version's pollers reach the server in a second or so
            code, out, err = await run("release", "promote", "v1")
            if code == 0:
                break
            await asyncio.sleep(0.2)
        assert code == 0 and "v1 is current" in out, err
        code, out, _ = await run("release", "status", "--json")
        assert code == 0 and '"current": "v1"' in out
    entries = AuditLog(store.engine).list(action="release.promote")
    assert entries[0].allowed and entries[0].detail["target"] == "v1"
    refused = AuditLog(store.engine).list(action="release.status", refused=True)
    assert refused and refused[0].principal == "钱科长"


async def test_a_deployments_first_version_becomes_current_by_itself_and_only_the_first(env, store):
    """Its first workers would otherwise take no work until someone promoted them; a later
    version waits for `linkage release`, behind the gate."""
    from workers.versioning import first_version_current

    name = f"release-{uuid.uuid4().hex[:8]}"
    queue = f"linkage-{name}"
    v1 = WorkerDeploymentVersion(deployment_name=name, build_id="v1")
    v2 = WorkerDeploymentVersion(deployment_name=name, build_id="v2")
    async with version_worker(env, store, queue, name, "v1"):
        assert await first_version_current(env.client, v1)
        async with version_worker(env, store, queue, name, "v2"):
            assert not await first_version_current(env.client, v2)
            found = await release.status(env.client, name)
            assert found.current == "v1" and not found.ramping
            linkage = LinkageClient(env.client, queue, store=store)
            iid = await open_incident(env, linkage, "police")
            assert await build_of(env, iid) == "v1"
