"""Saved histories (tests/histories) replay against the current workflow code.

Incidents stay open for weeks, so a release must go on with the histories the last one wrote:
a nondeterminism error here means a change broke them (see tests/histories/README.md).
No Temporal server is needed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from linkage.trust.commands import CommandKeys
from linkage.trust.signing import CommandGuard
from linkage.trust.temporal import DATA_CONVERTER
from workers.main import WORKFLOWS, workflow_runner

HISTORIES = Path(__file__).parent / "histories"
# the first release's files at the top, each later release's in a folder of its own
FILES = sorted(HISTORIES.rglob("*.json"))


def workflow_type_name(cls: type) -> str:
    return workflow._Definition.must_from_class(cls).name


def load(file: Path) -> tuple[str, WorkflowHistory]:
    """The history of a file and its workflow type, as the started event records them."""
    data = json.loads(file.read_text(encoding="utf-8"))
    started = data["events"][0]["workflowExecutionStartedEventAttributes"]
    workflow_id = started.get("workflowId") or file.stem
    return started["workflowType"]["name"], WorkflowHistory.from_json(workflow_id, data)


@pytest.fixture(scope="module")
async def replayed() -> dict[Path, Exception | None]:
    """Every saved history replayed by one replayer: one worker, so the sandbox checks each
    workflow class once, not once per file. The failure of each file, or None."""
    # with the workers' own interceptor: a signal's proof is checked on replay as in production
    keys = CommandKeys.parse((HISTORIES / "command-keys").read_text().strip())
    replayer = Replayer(
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
        data_converter=DATA_CONVERTER,
        interceptors=[CommandGuard(keys)],
    )
    loaded = {file: load(file)[1] for file in FILES}

    async def histories():
        for history in loaded.values():
            yield history

    results = await replayer.replay_workflows(histories(), raise_on_replay_failure=False)
    return {file: results.replay_failures.get(h.run_id) for file, h in loaded.items()}


@pytest.mark.parametrize(
    "file", FILES, ids=[str(f.relative_to(HISTORIES).with_suffix("")) for f in FILES]
)
def test_a_saved_history_replays(replayed: dict[Path, Exception | None], file: Path):
    kind, _ = load(file)
    assert file.stem.split("__")[1] == kind, f"{file.name} holds a {kind} history"
    failure = replayed[file]
    if failure is not None:
        raise failure


def test_every_workflow_type_has_a_saved_history():
    saved = {load(file)[0] for file in FILES}
    missing = sorted({workflow_type_name(cls) for cls in WORKFLOWS} - saved)
    assert not missing, f"no saved history in {HISTORIES} for: {', '.join(missing)}"


async def test_a_signals_proof_is_checked_on_replay():
    """Replayed with another district's keys, a history whose signals were signed takes them as
    unsigned, ignores them, and no longer replays: the check runs on replay, so a key stays
    listed while the histories it signed may be replayed. Histories from before signing carry
    no marker and replay with any keys."""
    other = CommandKeys.parse("x1:" + "A" * 43 + "=")
    replayer = Replayer(
        workflows=WORKFLOWS,
        workflow_runner=workflow_runner(),
        data_converter=DATA_CONVERTER,
        interceptors=[CommandGuard(other)],
    )
    signed = HISTORIES / "release-2026-12-03.3" / "police_push_approved__DivertedIncident__1.json"
    before = HISTORIES / "release-2026-12-03.2" / "police_push_approved__DivertedIncident__1.json"
    loaded = {f: load(f)[1] for f in (signed, before)}

    async def histories():
        for history in loaded.values():
            yield history

    results = await replayer.replay_workflows(histories(), raise_on_replay_failure=False)
    assert results.replay_failures.get(loaded[signed].run_id) is not None
    assert results.replay_failures.get(loaded[before].run_id) is None
