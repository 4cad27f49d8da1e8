"""`linkage demo` plays every party with a token of its own, through the policy."""

from linkage.interfaces.demo import SCENARIOS, run_demo
from linkage.records.audit import AuditLog
from tests.conftest import TASK_QUEUE


async def test_the_demo_closes_every_incident_with_each_party_acting_by_its_token(
    env, worker, store, monkeypatch, capsys
):
    target = env.client.service_client.config.target_host
    monkeypatch.setenv("LINKAGE_TEMPORAL_ADDRESS", target)
    monkeypatch.setenv("LINKAGE_TASK_QUEUE", TASK_QUEUE)
    monkeypatch.setenv("LINKAGE_DATABASE_URL", store.engine.url.render_as_string(False))
    assert await run_demo(pace=0, as_json=True) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert len(lines) == len(SCENARIOS) and all('"stage":"closed"' in line for line in lines)
    entries = [e for e in AuditLog(store.engine).list(limit=5000) if e.via == "demo"]
    assert {e.role for e in entries} >= {"police_bureau", "command_center", "member_unit"}
    assert all(e.allowed for e in entries) and all(e.token_id for e in entries)
