"""The worker as a version of its deployment (Worker Versioning), named by the environment.

LINKAGE_BUILD_ID (the release, e.g. `2026.12.1`) turns it on, with LINKAGE_DEPLOYMENT_NAME
(default `linkage`): a new version takes work only once `linkage release` ramps or promotes it
(linkage.ops.release). Without a build ID the worker is unversioned, as the single-machine
trial runs: every worker on the task queue takes every task.

Every workflow type auto-upgrades: on its next workflow task a running workflow moves to the
deployment's current version.
- An incident (DivertedIncident) and its police loop, 12345 loop, whistles and emergency
  linkages stay open for weeks: pinning them would mean keeping each old release's workers
  running until its last incident closed, and a fix would never reach the incidents that need
  it. Moving is safe because every change of their code is guarded by `workflow.patched`, the
  saved histories replay in CI, and `linkage release` replays the running workflows' own
  histories with the new code before it ramps or promotes it.
- A periodic report (PeriodicReport) runs for minutes and is patched like the rest; pinning it
  would buy nothing but old workers kept for its sake.
The behaviour is the worker's default rather than each type's own (`@workflow.defn(
versioning_behavior=...)`): Temporal refuses a declared behaviour from an unversioned worker,
and the same code runs both ways.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Mapping

from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentRequest,
    SetWorkerDeploymentCurrentVersionRequest,
)
from temporalio.client import Client
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import WorkerDeploymentConfig

from linkage.settings.config import ConfigError

DEPLOYMENT_VARIABLE = "LINKAGE_DEPLOYMENT_NAME"
BUILD_VARIABLE = "LINKAGE_BUILD_ID"
DEFAULT_DEPLOYMENT = "linkage"
# Temporal joins them as `<deployment>.<build>` in places: no dot in the deployment's name
DEPLOYMENT_NAME = re.compile(r"[A-Za-z0-9_-]{1,100}")
BUILD_ID = re.compile(r"[A-Za-z0-9_.+-]{1,100}")
# not yet: the version's pollers unknown to the server, or another worker changed the routing
RETRIED = (
    RPCStatusCode.NOT_FOUND,
    RPCStatusCode.FAILED_PRECONDITION,
    RPCStatusCode.ABORTED,
    RPCStatusCode.INVALID_ARGUMENT,
)


def deployment_version(environ: Mapping[str, str] | None = None) -> WorkerDeploymentVersion | None:
    """The version this worker runs as; None when no build ID is set (unversioned)."""
    environ = os.environ if environ is None else environ
    build = environ.get(BUILD_VARIABLE, "").strip()
    if not build:
        return None
    name = environ.get(DEPLOYMENT_VARIABLE, "").strip() or DEFAULT_DEPLOYMENT
    check_names(name, build)
    return WorkerDeploymentVersion(deployment_name=name, build_id=build)


def check_names(name: str, build: str) -> None:
    if not DEPLOYMENT_NAME.fullmatch(name):
        raise ConfigError(
            f"{DEPLOYMENT_VARIABLE}: {name!r} is no deployment name (letters, digits, - and _, "
            f"at most 100)"
        )
    if not BUILD_ID.fullmatch(build):
        raise ConfigError(
            f"{BUILD_VARIABLE}: {build!r} is no build ID (letters, digits, ., +, - and _, "
            f"at most 100)"
        )


def deployment_config(
    version: WorkerDeploymentVersion | None = None,
) -> WorkerDeploymentConfig | None:
    """The worker's deployment options; None when unversioned."""
    version = version or deployment_version()
    if version is None:
        return None
    return WorkerDeploymentConfig(
        version=version,
        use_worker_versioning=True,
        default_versioning_behavior=VersioningBehavior.AUTO_UPGRADE,
    )


async def first_version_current(
    client: Client, version: WorkerDeploymentVersion, attempts: int = 120
) -> bool:
    """Make this worker's version current if its deployment has none yet (its first release,
    or the switch from unversioned workers): otherwise no worker of it would get work until
    someone ran `linkage release promote`. A deployment with a current version is left as it
    is: a new release goes through the replay gate. True when this call made it current."""
    for _ in range(attempts):
        token = b""
        try:
            found = await client.workflow_service.describe_worker_deployment(
                DescribeWorkerDeploymentRequest(
                    namespace=client.namespace, deployment_name=version.deployment_name
                )
            )
            if found.worker_deployment_info.routing_config.current_deployment_version.build_id:
                return False
            token = found.conflict_token
        except RPCError as err:
            if err.status is not RPCStatusCode.NOT_FOUND:  # not yet: our pollers make it
                raise
        if token:
            try:
                await client.workflow_service.set_worker_deployment_current_version(
                    SetWorkerDeploymentCurrentVersionRequest(
                        namespace=client.namespace,
                        deployment_name=version.deployment_name,
                        build_id=version.build_id,
                        conflict_token=token,  # another worker first: we see its version next
                        identity="linkage worker: the deployment's first version",
                    )
                )
                return True
            except RPCError as err:
                if err.status not in RETRIED:
                    raise
        await asyncio.sleep(0.5)
    return False
