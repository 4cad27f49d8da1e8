"""The linkage worker: runs the incident workflows and their record and gateway activities."""

from __future__ import annotations

import asyncio
import signal
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.gateway import GatewayActivities
from activities.opening import OpeningActivities
from activities.records import RecordActivities
from activities.reports import ReportActivities
from activities.triage import TriageActivities
from linkage.catalogue import check_emergency_units
from linkage.config import (
    ConfigError,
    GatewayConfig,
    Settings,
    load_gateway_config,
    load_time_limits,
)
from linkage.logs import configure, get_logger
from linkage.store import Store
from linkage.temporal import connect
from linkage.triage import Triager, load_triager
from linkage.units import check_routing, limits_with_units, load_register
from workflows.emergency import EmergencyLinkage
from workflows.hotline_loop import HotlineLoop
from workflows.incident import DivertedIncident
from workflows.police_loop import PoliceLoop
from workflows.reports import PeriodicReport
from workflows.whistle import Whistle

# The parts the workflow classes are made of (base classes and mixins). They hold no state of
# their own, so they are imported once per worker rather than once per workflow run: with them
# re-imported in every sandbox a burst of reports spent its time building classes. Only the
# modules that define the workflows run in the sandbox afresh; saved histories replayed in CI
# guard the determinism of all of them.
SHARED_WORKFLOW_PARTS = (
    "workflows.base",
    "workflows.deadlines",
    "workflows.sending",
    "workflows.incident_intake",
    "workflows.incident_reviews",
    "workflows.incident_handling",
    "workflows.incident_escalations",
    "workflows.incident_views",
    "workflows.hotline_unit",
)


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox, with the modules that hold no workflow code passed through: the project's
    models, activities and the workflows' contracts (pydantic classes, built once per worker
    instead of once per workflow run, which is what a workflow's memory and start-up cost)."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(
            "linkage",
            "activities",
            "workflows.contracts",
            "workflows.loop_contracts",
            "workflows.stages",
            "workflows.assessment",
            *SHARED_WORKFLOW_PARTS,
            "pydantic",
            "sqlalchemy",
            "sqlmodel",
            "httpx",
            "jieba",
        )
    )


WORKFLOWS = [DivertedIncident, PoliceLoop, HotlineLoop, Whistle, EmergencyLinkage, PeriodicReport]


def build_worker(
    client: Client,
    store: Store,
    task_queue: str,
    executor: ThreadPoolExecutor,
    gateway_config: GatewayConfig | None = None,
    triager: Triager | None = None,
) -> Worker:
    """A worker with every workflow and activity; temporal-config/ is checked first."""
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
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
        activities=[
            opening.open_incident,
            records.record_steps,
            triage.override,
            gateway.push_to_platform,
            gateway.reply_to_citizen,
            gateway.notify_emergency_unit,
            reports.produce_report,
        ],
        activity_executor=executor,
        max_concurrent_activities=16,
    )


async def run_worker(settings: Settings | None = None) -> None:
    """Run until SIGINT or SIGTERM, then shut down gracefully: running activities finish."""
    settings = settings or Settings()
    configure()
    log = get_logger()
    try:
        client = await connect(settings)
    except RuntimeError as err:
        raise ConfigError(
            f"cannot reach Temporal at {settings.temporal_address}: is it running? ({err})"
        ) from None
    store = Store(settings.database_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    with ThreadPoolExecutor(max_workers=16) as executor:
        async with build_worker(client, store, settings.task_queue, executor):
            log.info(
                "worker started",
                task_queue=settings.task_queue,
                temporal=settings.temporal_address,
                database=store.engine.url.render_as_string(),
            )
            await stop.wait()
            log.info("worker stopping")


def main() -> None:
    asyncio.run(run_worker())


if __name__ == "__main__":
    main()
