"""Tracing, where it is cheap: one trace from the platform's POST through the client into the
incident's workflow and the activity that took the report; off (no interceptor, no span)
unless a collector is named."""

from __future__ import annotations

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import get_tracer_provider

from linkage.client import LinkageClient
from linkage.settings import tracing
from linkage.settings.tracing import configure_tracing, temporal_interceptors, tracing_wanted
from linkage.trust.temporal import connect
from tests.conftest import make_report, own_worker
from tests.tokens import Tokens


def test_tracing_is_off_unless_a_collector_is_named(monkeypatch):
    assert not tracing_wanted({})
    assert tracing_wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    for name in tracing.ENDPOINTS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(tracing._state, "on", False)
    assert not configure_tracing("linkage-test") and temporal_interceptors() == []


@pytest.fixture
def spans(monkeypatch):
    memory = InMemorySpanExporter()
    if not tracing.tracing_on():
        assert configure_tracing("linkage-test", exporter=memory)
    yield memory
    get_tracer_provider().force_flush()
    monkeypatch.setitem(tracing._state, "on", False)  # the rest of the suite untraced


async def test_one_trace_from_the_post_to_the_activity(env, store, spans, monkeypatch):
    from linkage.interfaces.api.app import make_app
    from linkage.settings.config import Settings

    monkeypatch.setenv("LINKAGE_TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    monkeypatch.setenv("LINKAGE_NAMESPACE", env.client.namespace)
    client = await connect(Settings())  # with the tracing interceptor, as the API's and worker's
    queue = "linkage-traced"
    tokens = Tokens(store)
    async with own_worker(env, store, queue, client=client):
        app = make_app(LinkageClient(client, queue, store=store), tokens.verifier)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as api:
            answer = await api.post(
                "/reports",
                json=make_report("police"),
                headers={"Authorization": f"Bearer {tokens.party('police_unit')}"},
            )
        assert answer.status_code == 201, answer.text
    get_tracer_provider().force_flush()
    names = {s.name: s for s in spans.get_finished_spans()}
    post = names["POST /reports"]
    trace_id = post.context.trace_id
    expected = {"RunWorkflow:DivertedIncident", "RunActivity:open_incident"}
    assert expected <= set(names), sorted(names)
    assert all(names[n].context.trace_id == trace_id for n in expected)
