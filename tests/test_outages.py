"""Incidents outlive every outage: a records database that does not answer for a day, or a
table missing while a deploy is under way, makes an incident wait (a few dozen history events,
not thousands) and it resumes by itself; a write refused for its data summons the duty desks
and the incident goes on."""

from __future__ import annotations

import tempfile
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, OperationalError
from temporalio.client import WorkflowExecutionStatus

from linkage.records.store import Store
from tests.conftest import eventually, history_length, make_report, own_worker
from tests.parties import BUREAU, as_

DAY = timedelta(days=1)


class Outage(Store):
    """The records store, with a switch that makes every write fail as a database that does not
    answer (or, `refusing`, as one that refuses the data of a step)."""

    down = False
    refusing = ""  # a step action whose write the database refuses for its data

    def record_steps(self, input, *more):
        if self.down:
            raise OperationalError("INSERT", {}, Exception("could not connect to server"))
        if self.refusing and any(step.action == self.refusing for step in input.steps):
            raise IntegrityError("INSERT", {}, Exception("value violates a constraint"))
        return super().record_steps(input, *more)

    def take_report(self, input):
        if self.down:
            raise OperationalError("INSERT", {}, Exception("could not connect to server"))
        return super().take_report(input)


def outage_store() -> Outage:
    return Outage(f"sqlite:///{tempfile.mkdtemp()}/records.db")


async def open_on(env, client, origin: str = "police") -> str:
    with env.with_time_skipping_disabled():
        return (await client.divert(make_report(origin))).incident_id


def patient_config(tmp_path, monkeypatch, minutes: int = 720) -> None:
    """The district's table, with a waiting write tried again at most every `minutes`: the
    time-skipping server advances a day in a handful of attempts instead of hundreds."""
    import shutil

    from linkage.settings.paths import config_dir

    shutil.copytree(config_dir(), tmp_path / "config")
    table = tmp_path / "config" / "time-limits.toml"
    text = table.read_text(encoding="utf-8")
    table.write_text(
        text.replace("records_retry_minutes = 5 ", f"records_retry_minutes = {minutes} "),
        encoding="utf-8",
    )
    monkeypatch.setenv("LINKAGE_CONFIG_DIR", str(tmp_path / "config"))


async def test_a_day_without_the_records_database_costs_a_few_dozen_events(
    env, tmp_path, monkeypatch
):
    patient_config(tmp_path, monkeypatch)
    store = outage_store()
    async with own_worker(env, store, "linkage-outage") as client:
        iid = await open_on(env, client)
        handle = client.client.get_workflow_handle(iid)
        before = await history_length(env, iid)
        store.down = True
        # the bureau's review deadline passes (2 h): a supervision to write, with nowhere to go
        await env.fast_forward(handle, timedelta(hours=2, minutes=1))
        await env.fast_forward(handle, DAY)
        during = await history_length(env, iid)
        assert during - before <= 40, f"{during - before} events for a day's outage"
        assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
        assert not [e for e in store.timeline(iid) if e.action == "supervise"]

        store.down = False  # the database is back: the waiting write goes through by itself
        await env.fast_forward(handle, timedelta(hours=12, minutes=1))

        def written() -> None:
            assert [e for e in store.timeline(iid) if e.action == "supervise"]

        await eventually(written, seconds=30)
        done = await client.act(iid, "review", as_(BUREAU))
        assert done.stage.value == "receiving_review"


async def test_a_table_missing_while_a_deploy_is_under_way_makes_the_incident_wait(
    env, postgres_schema, tmp_path, monkeypatch
):
    """On PostgreSQL a table not there yet (a migration not yet run) is a ProgrammingError:
    the incident waits for it instead of failing, and resumes once it is there."""
    patient_config(tmp_path, monkeypatch, minutes=60)
    store = Store(postgres_schema)
    async with own_worker(env, store, "linkage-deploy") as client:
        iid = await open_on(env, client)
        handle = client.client.get_workflow_handle(iid)
        with store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE stepevent RENAME TO stepevent_moved"))
        await env.fast_forward(handle, timedelta(hours=2, minutes=1))
        await env.fast_forward(handle, timedelta(hours=6))
        assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
        with store.engine.begin() as conn:
            conn.execute(text("ALTER TABLE stepevent_moved RENAME TO stepevent"))
        await env.fast_forward(handle, timedelta(hours=1, minutes=1))

        def resumed() -> None:
            assert [e for e in store.timeline(iid) if e.action == "supervise"]

        await eventually(resumed, seconds=30)
        assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING


async def test_a_write_refused_for_its_data_summons_the_duty_desks_and_goes_on(env):
    store = outage_store()
    store.refusing = "approve"  # the bureau's approval cannot be written
    async with own_worker(env, store, "linkage-refused") as client:
        iid = await open_on(env, client)
        done = await client.act(iid, "review", as_(BUREAU))
        assert done.stage.value == "receiving_review"  # the incident went on

        async def summoned() -> None:
            state = (await client.status(iid)).incident
            assert [w for w in state.whistles if "记录写入被数据库拒绝" in w.reason]
            assert "record_refused" in [e.action for e in state.timeline]

        await eventually(summoned, seconds=20)
        handle = client.client.get_workflow_handle(iid)
        assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
        assert not [e for e in store.timeline(iid) if e.action == "approve"]


async def test_the_steps_of_a_run_after_a_reset_are_written_too(env, linkage, store):
    """Steps are keyed by their run as well: after an operator resets an incident, the new
    run's steps (numbered again from the reset point) are written, not taken for the first
    run's and dropped."""
    import uuid

    from temporalio.api.common.v1 import WorkflowExecution
    from temporalio.api.enums.v1 import EventType
    from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest

    iid = await open_on(env, linkage)
    await linkage.act(iid, "review", as_(BUREAU, note="第一次审核"))
    handle = linkage.client.get_workflow_handle(iid)
    history = await handle.fetch_history()
    opened = next(  # the reset point: the workflow task that opened it
        e.event_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    )
    run_id = (await handle.describe()).run_id
    await linkage.client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace=linkage.client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=iid, run_id=run_id),
            reason="test: an operator resets the incident",
            workflow_task_finish_event_id=opened,
            request_id=str(uuid.uuid4()),
        )
    )

    async def written_for_both_runs() -> None:  # (the reset run applies the review again)
        approvals = [e for e in store.timeline(iid) if e.action == "approve"]
        runs = {e.id.split("#")[0] for e in approvals}
        assert len(approvals) == 2 and len(runs) == 2, [e.id for e in approvals]

    await eventually(written_for_both_runs, seconds=20)


async def test_a_report_that_comes_during_an_outage_opens_once_the_database_is_back(
    env, monkeypatch
):
    monkeypatch.setenv("LINKAGE_ANSWER_SECONDS", "3")
    store = outage_store()
    store.down = True  # the intake cannot take the report
    async with own_worker(env, store, "linkage-outage-open") as client:
        with env.with_time_skipping_disabled():
            answer = await client.divert(make_report("police"))
        assert answer.queued and not answer.new  # durably started, answered in seconds
        handle = client.client.get_workflow_handle(answer.incident_id)
        await env.fast_forward(handle, timedelta(hours=1))  # (a retry every five minutes)
        assert (await handle.describe()).status is WorkflowExecutionStatus.RUNNING
        assert store.incidents([answer.incident_id]) == []

        store.down = False  # back: the waiting opening goes through by itself
        await env.fast_forward(handle, timedelta(minutes=6))

        async def opened() -> None:
            assert store.incidents([answer.incident_id])

        await eventually(opened, seconds=30)
        done = await client.act(answer.incident_id, "review", as_(BUREAU))
        assert done.stage.value == "receiving_review"
