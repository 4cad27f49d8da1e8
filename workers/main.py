"""The linkage worker: runs the incident workflows and their record and gateway activities."""

from __future__ import annotations

import asyncio
import os
import signal
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.worker import Worker, WorkerDeploymentConfig
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.gateway import GatewayActivities
from activities.opening import OpeningActivities
from activities.records import RecordActivities
from activities.reports import ReportActivities
from activities.triage import TriageActivities
from linkage.domain.catalogue import check_emergency_units
from linkage.domain.time_limits import load_time_limits
from linkage.domain.units import check_routing, limits_with_units, load_register
from linkage.metrics.worker import worker_runtime
from linkage.records.store import Store
from linkage.settings.config import ConfigError, Settings
from linkage.settings.gateway import GatewayConfig, load_gateway_config
from linkage.settings.logs import configure, get_logger
from linkage.settings.tracing import configure_tracing
from linkage.triage.triager import Triager, load_triager
from linkage.trust.signing import CommandGuard
from linkage.trust.temporal import address, connect
from workers.health import WorkerHealth, health_address
from workers.sandbox import KeptSandboxRunner, ignores_context, keep_compiled
from workers.versioning import deployment_config, first_version_current
from workflows.contracts import slow_queue
from workflows.emergency import EmergencyLinkage
from workflows.hotline_loop import HotlineLoop
from workflows.incident import DivertedIncident
from workflows.police_loop import PoliceLoop
from workflows.reports import PeriodicReport
from workflows.whistle import Whistle

# What the sandbox passes through: third-party libraries and plain models (pydantic classes
# with no workflow code), built once per worker instead of once per workflow run. Every module
# with workflow code (the workflows, their base and mixins, the stage table) is loaded in the
# sandbox, so that a call that is not deterministic there (datetime.now(), random, I/O) is
# refused instead of going unnoticed. Modules a workflow imports under
# `workflow.unsafe.imports_passed_through()` (the activities it names) pass through as well.
PASSED_THROUGH = (
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "sqlalchemy",
    "sqlmodel",
    "httpx",
    "jieba",
    "cryptography",
    "structlog",
    "opentelemetry",  # tracing's spans, when on (linkage.settings.tracing)
    "linkage.domain",  # contracts and models: no I/O, no workflow code
    "workflows.contracts",
    "workflows.loop_contracts",
    "workflows.plain",  # plain data of the workflows' state: no workflow code
)


def workflow_runner(converter: DataConverter | None = None) -> SandboxedWorkflowRunner:
    """The sandbox (workers.sandbox); `converter`, the worker's data converter: when it ignores
    serialization contexts, no payload asks the sandbox for one."""
    keep_compiled(*SANDBOXED)  # the sandbox imports them for every run: compiled once
    return KeptSandboxRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSED_THROUGH),
        context_free=converter is not None and ignores_context(converter),
    )


SANDBOXED = ("workflows", "linkage", "activities")  # the packages imported into the sandbox
WORKFLOWS = [DivertedIncident, PoliceLoop, HotlineLoop, Whistle, EmergencyLinkage, PeriodicReport]


SHUTDOWN_GRACE = timedelta(seconds=30)  # running activities finish before the worker stops


# A worker holds about 190 MiB before it caches a run (the libraries, the triage's dictionary
# and model) and some 0.35 MiB more for each run it caches (its sandbox and the SDK core's
# state). Measured with 10,000 open incidents and 300 runs: 294 MiB (363 MiB while the triage
# read jieba's own dictionary); fewer runs cost throughput (150: the happy paths 5-10% slower,
# since runs evicted under load are replayed).
CACHED_RUNS = 300


def workflow_cache() -> int:
    """How many workflow runs a worker keeps in memory (LINKAGE_WORKFLOW_CACHE, default 300):
    one evicted is rebuilt from its history when next touched, which costs a replay. The knob
    for a worker's memory: 1000 cached runs took a worker to 590 MiB, past the chart's limit
    of 512 MiB."""
    try:
        return max(0, int(os.environ.get("LINKAGE_WORKFLOW_CACHE", CACHED_RUNS)))
    except ValueError:
        return CACHED_RUNS


class LinkageWorkers:
    """The worker of the workflows, with the quick activities every action waits for (the
    records' writes, the openings, triage), and beside it, on `<queue>-slow` with a pool of its
    own, the slow ones (HTTP posts retried for days, the periodic reports)."""

    def __init__(self, main: Worker, slow: Worker, slow_pool: ThreadPoolExecutor) -> None:
        self.main, self.slow, self._slow_pool = main, slow, slow_pool

    async def run(self) -> None:
        try:
            await asyncio.gather(self.main.run(), self.slow.run())
        finally:
            self._slow_pool.shutdown(wait=False)

    async def shutdown(self) -> None:
        await asyncio.gather(self.main.shutdown(), self.slow.shutdown())

    async def __aenter__(self) -> LinkageWorkers:
        await self.main.__aenter__()
        await self.slow.__aenter__()
        return self

    async def __aexit__(self, *exc) -> None:
        try:
            await self.slow.__aexit__(*exc)
            await self.main.__aexit__(*exc)
        finally:
            self._slow_pool.shutdown(wait=False)


def build_worker(
    client: Client,
    store: Store,
    task_queue: str,
    executor: ThreadPoolExecutor,
    gateway_config: GatewayConfig | None = None,
    triager: Triager | None = None,
    deployment: WorkerDeploymentConfig | None = None,
) -> LinkageWorkers:
    """The workers with every workflow and activity; temporal-config/ is checked first.
    `deployment`: the version of the worker deployment both run as (workers.versioning)."""
    limits = load_time_limits()  # refuse to start on a table that does not validate
    triager = triager or load_triager()  # the catalogue and the routing table, likewise
    register = load_register()  # the register of units, and every file that names units
    check_routing(triager.routing, register)
    limits = limits_with_units(limits, register)
    check_emergency_units(triager.catalogue, limits.emergency.units)
    triage = TriageActivities(triager)
    gateway = GatewayActivities(store, gateway_config or load_gateway_config())
    records = RecordActivities(store, gateway)
    opening = OpeningActivities(store, triager)
    reports = ReportActivities(store)
    main = Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(client.data_converter),
        activities=[opening.open_incident, records.record_steps, triage.override],
        activity_executor=executor,
        max_concurrent_activities=16,
        max_cached_workflows=workflow_cache(),
        graceful_shutdown_timeout=SHUTDOWN_GRACE,
        interceptors=[CommandGuard()],  # an update or signal without its proof is refused
        deployment_config=deployment,
    )
    slow_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="linkage-slow")
    slow = Worker(
        client,
        task_queue=slow_queue(task_queue),
        activities=[
            gateway.push_to_platform,
            gateway.reply_to_citizen,
            gateway.notify_emergency_unit,
            reports.produce_report,
        ],
        activity_executor=slow_pool,
        max_concurrent_activities=8,
        graceful_shutdown_timeout=SHUTDOWN_GRACE,
        deployment_config=deployment,  # the activities go with their workflows' version
    )
    return LinkageWorkers(main, slow, slow_pool)


async def run_worker(settings: Settings | None = None) -> None:
    """Run until SIGINT or SIGTERM, then shut down gracefully: running activities finish. With
    LINKAGE_WORKER_HEALTH_PORT set, /healthz and /readyz are served beside (workers.health);
    metrics at LINKAGE_METRICS_ADDRESS (linkage.metrics.worker)."""
    settings = settings or Settings()
    configure()
    configure_tracing("linkage-worker")  # spans into workflows and activities, when wanted
    log = get_logger()
    health = WorkerHealth()
    async with health.serving(settings.database_url, health_address()):
        runtime = worker_runtime()  # the SDK's Prometheus exporter at LINKAGE_METRICS_ADDRESS
        try:
            client = await connect(settings, runtime=runtime)
        except RuntimeError as err:
            raise ConfigError(
                f"cannot reach Temporal at {address(settings)}: is it running? ({err})"
            ) from None
        health.client = client
        store = Store(settings.database_url)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        with ThreadPoolExecutor(max_workers=16) as executor:
            deployment = deployment_config()  # from LINKAGE_BUILD_ID; None: unversioned
            async with build_worker(
                client, store, settings.task_queue, executor, deployment=deployment
            ) as workers:
                health.running(workers)
                log.info(
                    "worker started",
                    task_queue=settings.task_queue,
                    version=(
                        f"{deployment.version.deployment_name}:{deployment.version.build_id}"
                        if deployment
                        else "unversioned"
                    ),
                    temporal=address(settings),
                    database=store.engine.url.render_as_string(),
                )
                first = asyncio.create_task(adopt(client, deployment, log)) if deployment else None
                await stop.wait()
                if first is not None:
                    first.cancel()
                health.stopping()  # /readyz 503 while running activities finish
                log.info("worker stopping")


async def adopt(client: Client, deployment: WorkerDeploymentConfig, log) -> None:
    """A deployment's first version made current by its own workers (workers.versioning)."""
    try:
        if await first_version_current(client, deployment.version):
            log.info(
                "first version of the deployment made current", version=deployment.version.build_id
            )
    except Exception as err:  # noqa: BLE001 - a release can still be promoted by hand
        log.warning("could not look at the deployment's versions", error=str(err))


def main() -> None:
    asyncio.run(run_worker())


if __name__ == "__main__":
    main()
