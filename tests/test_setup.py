"""`linkage setup` against the test session's real dev server, each test in a namespace (and a
records database) of its own: it makes everything ready, a second run changes nothing, --check
changes nothing, an attribute of another type or a type without a free slot is refused before
anything changes, and only an operator may run it (a supervisor only --check), audited."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.namespace.v1 import NamespaceConfig
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, UpdateNamespaceRequest
from temporalio.common import SearchAttributeIndexedValueType as T
from temporalio.service import RPCError, RPCStatusCode

from linkage.interfaces.cli import main as cli
from linkage.ops.schedules import SCHEDULE_IDS
from linkage.ops.setup import RecordsDatabase, register_namespace
from linkage.ops.setup_plan import NEEDED
from linkage.records import migrations
from linkage.records.audit import AuditLog
from linkage.settings.config import Settings
from linkage.trust.temporal import connect
from tests.conftest import fresh_schema
from tests.test_web_ui_codec import free_port


@pytest.fixture
def fresh(env, monkeypatch, capsys, tmp_path):
    """A namespace and a records database no one has touched; `fresh.run(*args)` runs
    `linkage ARGS` against them and returns (exit code, stdout, stderr)."""

    class Fresh:
        namespace = f"setup-{uuid.uuid4().hex[:10]}"
        address = env.client.service_client.config.target_host
        database = tmp_path / "records.db"
        url = f"sqlite:///{database}"

        async def run(self, *args: str):
            try:
                code = await asyncio.to_thread(cli.run, list(args))
            except SystemExit as usage:  # argparse's: a usage mistake
                code = usage.code
            out, err = capsys.readouterr()
            return code, out, err

        async def client(self):
            return await connect(Settings(temporal_address=self.address, namespace=self.namespace))

        async def attributes(self) -> dict[str, int]:
            client = await self.client()
            listed = await client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace=self.namespace)
            )
            return dict(listed.custom_attributes)

        async def retention(self) -> timedelta | None:
            client = await self.client()
            try:
                described = await client.workflow_service.describe_namespace(
                    DescribeNamespaceRequest(namespace=self.namespace)
                )
            except RPCError as err:
                assert err.status is RPCStatusCode.NOT_FOUND
                return None
            return described.config.workflow_execution_retention_ttl.ToTimedelta()

        async def schedules(self) -> list[str]:
            client = await self.client()
            present = []
            for schedule_id in SCHEDULE_IDS.values():
                try:
                    await client.get_schedule_handle(schedule_id).describe()
                    present.append(schedule_id)
                except RPCError:
                    pass
            return present

    monkeypatch.setenv("LINKAGE_TEMPORAL_ADDRESS", Fresh.address)
    monkeypatch.setenv("LINKAGE_NAMESPACE", Fresh.namespace)
    monkeypatch.setenv("LINKAGE_DATABASE_URL", Fresh.url)
    monkeypatch.setenv("LINKAGE_TASK_QUEUE", "linkage-setup-test")
    return Fresh()


def items(out: str) -> dict[str, dict]:
    return {line["item"]: line for line in json.loads(out)["items"]}


async def test_setup_makes_a_fresh_namespace_ready_and_a_second_run_changes_nothing(fresh):
    code, out, err = await fresh.run("setup", "--json")
    assert code == 0, err
    done = items(out)
    assert done[f"namespace {fresh.namespace}"]["change"] == "registered, retention 90 days"
    assert done["search attribute LinkageOverdue"] == {
        "item": "search attribute LinkageOverdue",
        "before": "missing",
        "change": "added as Bool",
        "differs": True,
    }
    assert all(line["differs"] for line in done.values())
    assert done["records database"]["change"] == f"created at {migrations.head()}"

    assert await fresh.retention() == timedelta(days=90)
    assert await fresh.attributes() == {name: int(kind) for name, kind in NEEDED.items()}
    assert await fresh.schedules() == list(SCHEDULE_IDS.values())
    records = RecordsDatabase(fresh.url)
    assert records.revision() == (records.head(),)

    code, out, err = await fresh.run("setup", "--json")
    assert code == 0 and not any(line["differs"] for line in items(out).values()), err
    code, out, _ = await fresh.run("setup", "--check")
    assert code == 0 and out.rstrip().endswith("all ready")
    assert f"namespace {fresh.namespace}" in out and "retention 90 days" in out

    # another retention: reported by --check, then updated
    code, out, _ = await fresh.run("setup", "--check", "--retention-days", "30")
    assert code == 1 and "would be updated: retention 30 days" in out
    assert await fresh.retention() == timedelta(days=90)
    code, out, _ = await fresh.run("setup", "--retention-days", "30")
    assert code == 0 and "updated: retention 30 days" in out and "ready (1 changed)" in out
    assert await fresh.retention() == timedelta(days=30)

    entries = AuditLog(records.engine).list(action="setup")
    assert [e.allowed for e in entries] == [True, True, True] and entries[0].via == "cli"


async def test_check_on_a_fresh_namespace_reports_every_difference_and_changes_nothing(fresh):
    code, out, err = await fresh.run("setup", "--check", "--json")
    assert code == 1
    report = json.loads(out)
    assert report["namespace"] == fresh.namespace and not report["ready"]
    found = items(out)
    assert len(found) == 1 + len(NEEDED) + len(SCHEDULE_IDS) + 1
    assert all(line["differs"] and line["before"] != "" for line in found.values())
    assert found[f"namespace {fresh.namespace}"]["before"] == "missing"
    assert found["records database"]["before"].startswith(f"none yet (head {migrations.head()}")
    assert "has no audit table yet" in err  # nothing at all was written, the audit neither

    code, out, _ = await fresh.run("setup", "--check")
    assert code == 1 and "would be registered, retention 90 days" in out
    assert "search attribute LinkageUnits" in out and "would be added as KeywordList" in out
    assert f"{len(found)} of {len(found)} differ" in out
    assert await fresh.retention() is None
    assert not fresh.database.exists()


async def _preregistered(fresh, attributes: dict[str, int]) -> None:
    """The namespace registered (by setup's own code) with other search attributes in it."""
    client = await fresh.client()
    await register_namespace(client, 7)
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(namespace=fresh.namespace, search_attributes=attributes)
    )


async def test_an_attribute_of_another_type_is_refused_and_nothing_is_added(fresh):
    await _preregistered(fresh, {"LinkageOverdue": T.KEYWORD, "LinkageStage": T.KEYWORD})
    code, out, err = await fresh.run("setup")
    assert code == 1 and out == ""
    assert "setup refused, nothing was changed" in err
    assert (
        f"search attribute LinkageOverdue is registered in namespace {fresh.namespace} as "
        "Keyword; linkage needs Bool" in err
    )
    assert "LinkageStage" not in err  # present with the right type: no problem
    assert await fresh.attributes() == {"LinkageOverdue": T.KEYWORD, "LinkageStage": T.KEYWORD}
    assert await fresh.retention() == timedelta(days=7)  # not set to 90 either
    assert await fresh.schedules() == [] and not fresh.database.exists()
    code, _, err = await fresh.run("setup", "--check")
    assert code == 1 and "setup would be refused" in err and "linkage needs Bool" in err


async def test_a_type_without_free_slots_is_refused_naming_the_type_and_who_uses_it(fresh):
    others = {"OtherFlagA": T.BOOL, "OtherFlagB": T.BOOL, "OtherFlagC": T.BOOL}
    await _preregistered(fresh, others)
    code, _, err = await fresh.run("setup")
    assert code == 1
    assert (
        "no room for LinkageOverdue, LinkageWhistle, LinkageSafety (Bool): a namespace has 3 "
        f"Bool search attributes (SQL visibility), and {fresh.namespace} uses 3: OtherFlagA, "
        "OtherFlagB, OtherFlagC" in err
    )
    assert await fresh.attributes() == others
    assert await fresh.schedules() == []


async def test_only_an_operator_sets_up_and_a_supervisor_may_check_audited(fresh, monkeypatch):
    assert (await fresh.run("setup"))[0] == 0  # as the host's operator

    async def token(role: str, unit: str, name: str) -> str:
        args = ["token", "issue", "--role", role, "--name", name, "--json"]
        code, out, err = await fresh.run(*args, *(["--unit", unit] if unit else []))
        assert code == 0, err
        return json.loads(out)["token"]

    supervisor = await token("supervisor", "", "督查周")
    member = await token("member_unit", "区城管局", "钱科长")
    monkeypatch.setenv("LINKAGE_TOKEN", supervisor)
    code, out, err = await fresh.run("setup", "--retention-days", "30")
    assert code == 1 and out == ""
    assert "refused: setup: a supervisor may not take it; it is for operator" in err
    assert await fresh.retention() == timedelta(days=90)
    code, out, err = await fresh.run("setup", "--check")
    assert code == 0 and "all ready" in out, err

    monkeypatch.setenv("LINKAGE_TOKEN", member)
    code, _, err = await fresh.run("setup", "--check")
    assert code == 1 and "refused: setup.check: a member_unit may not take it" in err

    audit = AuditLog(RecordsDatabase(fresh.url).engine)
    entries = [e for e in audit.list(limit=20) if e.action.startswith("setup")]
    assert [(e.principal, e.action, e.allowed, e.via) for e in entries[:3]] == [
        ("钱科长", "setup.check", False, "cli"),
        ("督查周", "setup.check", True, "cli"),
        ("督查周", "setup", False, "cli"),
    ]
    assert "a supervisor may not take it" in entries[2].reason


async def test_an_api_key_from_the_environment_reaches_both_services(fresh, monkeypatch):
    """TEMPORAL_API_KEY rides on the client's connection: temporalio sends it as
    `authorization: Bearer` with every call, the workflow and operator services' included (the
    dev server checks no key; a cluster that does is scripts/cluster's)."""
    monkeypatch.setenv("LINKAGE_TEMPORAL_ADDRESS", "localhost:1")  # the environment wins
    monkeypatch.setenv("TEMPORAL_ADDRESS", fresh.address)
    monkeypatch.setenv("TEMPORAL_NAMESPACE", fresh.namespace)
    monkeypatch.setenv("TEMPORAL_API_KEY", "district-key-1")
    monkeypatch.setenv("TEMPORAL_TLS", "false")  # the dev server speaks plain gRPC
    client = await connect()
    assert client.service_client.config.api_key == "district-key-1"
    code, out, err = await fresh.run("setup", "--json")
    assert code == 0 and json.loads(out)["namespace"] == fresh.namespace, err
    assert (await fresh.run("setup", "--check"))[0] == 0


async def test_bad_input_and_an_unreachable_temporal_are_one_line_and_change_nothing(
    fresh, monkeypatch
):
    code, _, err = await fresh.run("setup", "--retention-days", "0")
    assert code == 2 and "argument --retention-days: must be 1 to 3650 days (got 0)" in err
    code, _, err = await fresh.run("setup", "--check", "--retention-days", "ninety")
    assert code == 2 and "--retention-days: must be a whole number of days (got 'ninety')" in err
    assert await fresh.retention() is None and not fresh.database.exists()
    monkeypatch.setenv("LINKAGE_TEMPORAL_ADDRESS", f"localhost:{free_port()}")
    code, out, err = await fresh.run("setup")
    assert code == 1 and out == ""
    assert err.startswith("linkage: cannot reach Temporal at localhost:") and err.count("\n") == 1
    assert not fresh.database.exists()


async def test_linkage_up_makes_its_namespace_ready_with_the_same_code(fresh):
    from linkage.ops.devserver import _namespace_ready

    settings = Settings(
        temporal_address=fresh.address, namespace=fresh.namespace, database_url=fresh.url
    )
    changed = await _namespace_ready(settings)
    assert f"namespace {fresh.namespace}: registered, retention 90 days" in changed
    assert "search attribute LinkageUnits: added as KeywordList" in changed
    assert await fresh.schedules() == list(SCHEDULE_IDS.values())
    one_day = NamespaceConfig(workflow_execution_retention_ttl=Duration(seconds=86400))
    await (await fresh.client()).workflow_service.update_namespace(
        UpdateNamespaceRequest(namespace=fresh.namespace, config=one_day)
    )
    assert await _namespace_ready(settings) == []  # the dev server's retention is its own
    assert await fresh.retention() == timedelta(days=1)


async def test_a_postgresql_records_database_is_reported_then_migrated(fresh, monkeypatch):
    with fresh_schema("linkage_setup") as url:
        monkeypatch.setenv("LINKAGE_DATABASE_URL", url)
        code, out, _ = await fresh.run("setup", "--check", "--json")
        head = RecordsDatabase.head()
        assert code == 1
        assert items(out)["records database"]["before"] == f"not migrated, head {head}"
        assert RecordsDatabase(url).revision() == ()
        code, out, err = await fresh.run("setup", "--json")
        assert code == 0 and items(out)["records database"]["change"] == f"upgraded to {head}"
        assert RecordsDatabase(url).revision() == (head,)
        assert AuditLog(RecordsDatabase(url).engine).list(action="setup")[0].allowed
