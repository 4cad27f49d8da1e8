"""A release of workflow code beside the running one: status, ramp, promote, behind a replay gate.

Workers run as versions of a Temporal worker deployment (workers.versioning). A new release's
workers start polling beside the old ones and take no work until this module moves them in:
`ramp` sends a share of new workflows to it, `promote` makes it current. Running incidents
auto-upgrade on their next task, so before either, the replay gate replays histories of the
running system's own workflows with the code of the process that asks (run it from the new
release's install): one that does not replay stops the release, naming it. Going back is
promoting the old build ID again, through the same gate.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentRequest,
    SetWorkerDeploymentCurrentVersionRequest,
    SetWorkerDeploymentRampingVersionRequest,
)
from temporalio.client import Client, WorkflowHistory
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer

from linkage.client.errors import LinkageError
from linkage.trust.signing import CommandGuard
from linkage.trust.temporal import DATA_CONVERTER
from workers.main import WORKFLOWS, workflow_runner
from workers.versioning import check_names

OLD_AFTER = timedelta(days=7)  # the gate's second sample: workflows running longer than this
MAX_SAMPLE = 1000


@dataclass
class VersionLine:
    build_id: str
    state: str  # current | ramping | draining | drained | inactive
    running: int  # running workflows on it (visibility: a few seconds behind)


@dataclass
class ReleaseStatus:
    deployment: str
    current: str  # "" before any promotion: unversioned workers take the work
    ramping: str
    ramp_percent: float
    versions: list[VersionLine] = field(default_factory=list)


@dataclass
class GateResult:
    replayed: int
    failures: dict[str, str]  # workflow ID → why it does not replay

    @property
    def passed(self) -> bool:
        return not self.failures


def _checked(deployment: str, build_id: str = "x") -> None:
    try:
        check_names(deployment, build_id)
    except Exception as err:
        raise LinkageError(str(err)) from None


async def status(client: Client, deployment: str) -> ReleaseStatus:
    _checked(deployment)
    try:
        found = await client.workflow_service.describe_worker_deployment(
            DescribeWorkerDeploymentRequest(namespace=client.namespace, deployment_name=deployment)
        )
    except RPCError as err:
        if err.status is RPCStatusCode.NOT_FOUND:
            raise LinkageError(
                f"no worker deployment {deployment!r}: no worker has polled as a version of it "
                f"(start one with LINKAGE_BUILD_ID set)"
            ) from None
        raise
    info = found.worker_deployment_info
    routing = info.routing_config
    current = routing.current_deployment_version.build_id
    ramping = routing.ramping_deployment_version.build_id
    lines = []
    for summary in info.version_summaries:
        build = summary.deployment_version.build_id
        state = {current: "current", ramping: "ramping"}.get(build) if build else None
        if state is None:
            state = _drainage(summary.drainage_status)
        running = await client.count_workflows(
            f'ExecutionStatus = "Running" AND TemporalWorkerDeploymentVersion = '
            f'"{deployment}:{build}"'
        )
        lines.append(VersionLine(build_id=build, state=state, running=running.count))
    return ReleaseStatus(
        deployment=deployment,
        current=current,
        ramping=ramping,
        ramp_percent=routing.ramping_version_percentage if ramping else 0.0,
        versions=lines,
    )


def _drainage(value: int) -> str:
    return {1: "draining", 2: "drained"}.get(value, "inactive")


async def replay_gate(
    client: Client,
    task_queue: str,
    sample: int = 100,
    workflows: list[type] | None = None,
) -> GateResult:
    """Replay up to `sample` of the newest running workflows on the task queue, and as many of
    those running longer than OLD_AFTER (the likeliest to take an old path), with this code."""
    if not 1 <= sample <= MAX_SAMPLE:
        raise LinkageError(f"sample: {sample} is not between 1 and {MAX_SAMPLE}")
    running = f'ExecutionStatus = "Running" AND TaskQueue = "{task_queue}"'
    old = (datetime.now(UTC) - OLD_AFTER).isoformat()
    seen: set[str] = set()
    histories: list[WorkflowHistory] = []
    for query in (running, f'{running} AND StartTime < "{old}"'):
        async for execution in client.list_workflows(query, limit=sample):
            if execution.run_id in seen:
                continue
            seen.add(execution.run_id)
            handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
            histories.append(await handle.fetch_history())
    return await replay(histories, workflows)


async def replay(histories: list[WorkflowHistory], workflows: list[type] | None = None):
    """The histories replayed with this code; the failures by workflow ID."""

    async def each():
        for history in histories:
            yield history

    with ThreadPoolExecutor(max_workers=2) as executor:
        replayer = Replayer(
            workflows=workflows or WORKFLOWS,
            workflow_runner=workflow_runner(),
            workflow_task_executor=executor,
            data_converter=DATA_CONVERTER,
            interceptors=[CommandGuard()],  # an unsigned signal is ignored, as the worker does
        )
        results = await replayer.replay_workflows(each(), raise_on_replay_failure=False)
    by_run = {h.run_id: h.workflow_id for h in histories}
    failures = {
        by_run.get(run_id, run_id): f"{type(err).__name__}: {err}"[:500]
        for run_id, err in results.replay_failures.items()
    }
    return GateResult(replayed=len(histories), failures=failures)


async def ramp(client: Client, deployment: str, build_id: str, percent: float) -> None:
    _checked(deployment, build_id)
    if not 0 <= percent <= 100:
        raise LinkageError(f"percent: {percent:g} is not between 0 and 100")
    await _routed(
        client.workflow_service.set_worker_deployment_ramping_version(
            SetWorkerDeploymentRampingVersionRequest(
                namespace=client.namespace,
                deployment_name=deployment,
                build_id=build_id,
                percentage=percent,
                identity="linkage release",
            )
        ),
        deployment,
        build_id,
    )


async def promote(client: Client, deployment: str, build_id: str) -> None:
    _checked(deployment, build_id)
    await _routed(
        client.workflow_service.set_worker_deployment_current_version(
            SetWorkerDeploymentCurrentVersionRequest(
                namespace=client.namespace,
                deployment_name=deployment,
                build_id=build_id,
                identity="linkage release",
            )
        ),
        deployment,
        build_id,
    )


async def _routed(call, deployment: str, build_id: str) -> None:
    """Temporal's refusals said plainly: a version no worker polls as, an unknown one."""
    try:
        await call
    except RPCError as err:
        if err.status in (
            RPCStatusCode.NOT_FOUND,
            RPCStatusCode.FAILED_PRECONDITION,
            RPCStatusCode.INVALID_ARGUMENT,
        ):
            raise LinkageError(
                f"{deployment} {build_id}: {err.message} (is a worker of that build polling, "
                f"with LINKAGE_BUILD_ID={build_id}?)"
            ) from None
        raise
