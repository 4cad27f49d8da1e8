"""`linkage setup` (and `linkage up`): make a Temporal cluster and the records database ready,
the same way on a dev server and on a production cluster, in one idempotent run.

Everything is read and checked first (linkage.ops.setup_plan), so that a refusal leaves all as
it was and a second run finds nothing to do; then the namespace, its search attributes, the
report schedules and the database's migrations are made ready, in that order.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from google.protobuf.duration_pb2 import Duration
from sqlalchemy import inspect, make_url
from temporalio.api.namespace.v1 import NamespaceConfig
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    RegisterNamespaceRequest,
    UpdateNamespaceRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from linkage.client.errors import LinkageError
from linkage.ops.schedules import SCHEDULE_IDS, ensure_schedules
from linkage.ops.setup_plan import (
    DEFAULT_RETENTION_DAYS,
    NEEDED,
    Line,
    SetupRefused,
    Survey,
    check_retention,
    plan,
    refusals,
)
from linkage.records import migrations
from linkage.records.engine import make_engine

WAIT_SECONDS = 60.0  # a real cluster's services see a new namespace within a few seconds


class RecordsDatabase:
    """The records database read without being migrated (opening a Store migrates it), so that
    `--check` tells its revision and changes nothing, not even make an empty SQLite file."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)

    @property
    def shown(self) -> str:
        """The URL without its password."""
        return self.engine.url.render_as_string(hide_password=True)

    def exists(self) -> bool:
        """False for a SQLite file not made yet (connecting would make it)."""
        parsed = make_url(self.url)
        if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
            return True
        return Path(parsed.database).exists()

    def has_table(self, name: str) -> bool:
        return self.exists() and inspect(self.engine).has_table(name)

    def revision(self) -> tuple[str, ...] | None:
        """The revisions it is at (none for a database made before migrations, or empty);
        None when there is no database yet."""
        if not self.exists():
            return None
        with self.engine.connect() as connection:
            return migrations.current(connection)

    @staticmethod
    def head() -> str:
        return migrations.newest()

    @staticmethod
    def known(revisions: tuple[str, ...]) -> bool:
        known = {script.revision for script in migrations.scripts().walk_revisions()}
        return set(revisions) <= known

    def upgrade(self) -> None:
        """To the newest revision, as every Store does when it opens."""
        migrations.upgrade(self.engine)


async def survey(client: Client, records: RecordsDatabase) -> Survey:
    revision = records.revision()
    found = Survey(client.namespace, revision=revision, head=records.head())
    found.known_revision = not revision or records.known(revision)
    try:
        described = await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=client.namespace)
        )
    except RPCError as err:
        if err.status is not RPCStatusCode.NOT_FOUND:
            raise _refused("reading the namespace", err) from None
        found.schedules = dict.fromkeys(SCHEDULE_IDS.values(), False)
        return found
    found.retention = described.config.workflow_execution_retention_ttl.ToTimedelta()
    found.attributes = await _usable(client)
    for schedule_id in SCHEDULE_IDS.values():
        try:
            await client.get_schedule_handle(schedule_id).describe()
            found.schedules[schedule_id] = True
        except RPCError as err:
            if err.status is not RPCStatusCode.NOT_FOUND:
                raise _refused(f"reading schedule {schedule_id}", err) from None
            found.schedules[schedule_id] = False
    return found


async def make_ready(
    client: Client,
    task_queue: str,
    records: RecordsDatabase,
    *,
    retention_days: int | None = DEFAULT_RETENTION_DAYS,
    check: bool = False,
) -> list[Line]:
    """Survey, refuse what cannot be done, then (unless `check`) make each item ready."""
    if retention_days is not None:
        check_retention(retention_days)
    found = await survey(client, records)
    problems = refusals(found)
    if problems:
        said = "setup would be refused" if check else "setup refused, nothing was changed"
        raise SetupRefused(f"{said}:\n  " + "\n  ".join(problems))
    lines = plan(found, retention_days)
    if check:
        return lines
    namespace = client.namespace
    days = DEFAULT_RETENTION_DAYS if retention_days is None else retention_days
    retention = Duration(seconds=days * 86400)
    if found.retention is None:
        await register_namespace(client, days)
    elif lines[0].differs:
        try:
            await client.workflow_service.update_namespace(
                UpdateNamespaceRequest(
                    namespace=namespace,
                    config=NamespaceConfig(workflow_execution_retention_ttl=retention),
                )
            )
        except RPCError as err:
            raise _refused(f"setting namespace {namespace}'s retention", err) from None
    missing = {name: kind for name, kind in NEEDED.items() if name not in found.attributes}
    if missing:
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
            )
        except RPCError as err:
            raise _refused(f"adding search attributes {', '.join(missing)}", err) from None
        await _until(client, lambda listed: set(missing) <= set(listed), "its search attributes")
    if not all(found.schedules.values()):
        await _create_schedules(client, task_queue)
    if lines[-1].differs:
        records.upgrade()
    return lines


async def register_namespace(client: Client, retention_days: int) -> None:
    """Register the client's namespace, and wait until Temporal's services can use it."""
    request = RegisterNamespaceRequest(
        namespace=client.namespace,
        description="linkage: incidents between the 12345 hotline and the 110 platform",
        workflow_execution_retention_period=Duration(seconds=retention_days * 86400),
    )
    try:
        await client.workflow_service.register_namespace(request)
    except RPCError as err:
        if err.status is not RPCStatusCode.ALREADY_EXISTS:  # another setup, just now
            raise _refused(f"registering namespace {client.namespace}", err) from None
    await _usable(client)


async def _usable(client: Client) -> dict[str, int]:
    """The namespace's custom search attributes, once its services know it: describe answers
    from the database at once, the other calls only once their namespace cache has it."""
    return await _until(client, lambda _listed: True, "the namespace", describe=True)


async def _until(client: Client, ready, what: str, describe: bool = False) -> dict[str, int]:
    """Poll the namespace's search attributes until `ready(listed)`: a namespace or attribute
    just added takes a moment to reach every frontend (their namespace caches)."""
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    request = ListSearchAttributesRequest(namespace=client.namespace)
    while True:
        try:
            if describe:
                await client.workflow_service.describe_namespace(
                    DescribeNamespaceRequest(namespace=client.namespace)
                )
            listed = await client.operator_service.list_search_attributes(request)
            found = {name: int(kind) for name, kind in listed.custom_attributes.items()}
            if ready(found):
                return found
        except RPCError as err:
            if err.status is not RPCStatusCode.NOT_FOUND:
                listing = f"listing namespace {client.namespace}'s search attributes"
                raise _refused(listing, err) from None
        if asyncio.get_running_loop().time() > deadline:
            raise LinkageError(
                f"namespace {client.namespace}: {what} not seen by Temporal after "
                f"{WAIT_SECONDS:.0f}s; run linkage setup again in a moment"
            )
        await asyncio.sleep(0.25)


async def _create_schedules(client: Client, task_queue: str) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT_SECONDS
    while True:
        try:
            await ensure_schedules(client, task_queue)
            return
        except RPCError as err:
            # a frontend whose namespace cache lacks the attributes just added refuses them
            late = err.status is RPCStatusCode.INVALID_ARGUMENT
            if not late or asyncio.get_running_loop().time() > deadline:
                raise _refused("creating the report schedules", err) from None
            await asyncio.sleep(0.5)


def connect_failure(err: Exception) -> str:
    """Why connecting failed, in a few words instead of the transport's error chain."""
    text = str(err)
    if isinstance(err, RPCError):
        return f"{err.status.name}: {err.message}"
    if found := re.search(r'message: "([^"]+)"', text):
        return found.group(1)
    if any(word in text for word in ("InvalidContentType", "Tls", "certificate", "handshake")):
        return "the TLS handshake failed"
    return text.removeprefix("Failed client connect: ")[:160]


def _refused(what: str, err: RPCError) -> LinkageError:
    if err.status is RPCStatusCode.UNAVAILABLE:
        return LinkageError(f"{what}: Temporal is not reachable ({err.message})")
    return LinkageError(f"{what}: Temporal refused it: {err.status.name}: {err.message}")
