"""The sandbox checks the project's workflow code: every module with workflow code is loaded in
the sandbox afresh (where a call that is not deterministic is refused), and only third-party
libraries and plain models are passed through."""

from __future__ import annotations

import importlib
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from temporalio.worker import Worker

from tests.sandbox_probe import MARK, WhichModules
from workers.main import PASSED_THROUGH, workflow_runner

WORKFLOW_CODE = (
    "workflows.base",
    "workflows.writing",
    "workflows.deadlines",
    "workflows.sending",
    "workflows.incident",
    "workflows.incident_intake",
    "workflows.incident_reviews",
    "workflows.incident_triage",
    "workflows.incident_handling",
    "workflows.incident_escalations",
    "workflows.incident_views",
    "workflows.hotline_loop",
    "workflows.hotline_centre",
    "workflows.hotline_unit",
    "workflows.stages",
)


@pytest.mark.filterwarnings("ignore:Module .* was imported after initial workflow load")
async def test_no_module_with_workflow_code_is_passed_through(env):
    for name in WORKFLOW_CODE:  # marked in the worker's own copies
        setattr(importlib.import_module(name), MARK, True)
    queue = f"sandbox-{uuid.uuid4().hex[:6]}"
    with ThreadPoolExecutor(2) as executor:
        async with Worker(
            env.client,
            task_queue=queue,
            workflows=[WhichModules],
            workflow_runner=workflow_runner(),
            activity_executor=executor,
        ):
            with env.with_time_skipping_disabled():
                shared = await env.client.execute_workflow(
                    WhichModules.run, list(WORKFLOW_CODE), id=queue, task_queue=queue
                )
    assert shared == []


def test_only_libraries_and_plain_models_are_passed_through():
    ours = [m for m in PASSED_THROUGH if m.split(".")[0] in ("linkage", "workflows", "activities")]
    assert "linkage" not in ours and "activities" not in ours
    assert not [m for m in ours if m in WORKFLOW_CODE]
