"""The cluster is closed to strangers: Temporal's own JWT authorization refuses a forged
update, signal or terminate without a credential, and the supervisors' read-only one cannot
write either; the workers and the API hold the credential that may."""

from __future__ import annotations

import json
import os
import socket
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from linkage.trust.temporal import DATA_CONVERTER, secured_connection
from tests.cluster.conftest import ROOT, api_urls, linkage_command
from tests.conftest import make_report


async def _client(cluster, role: str | None) -> Client:
    """TLS as every client has it (the CA is public); a token only when a role is given."""
    env = cluster.env(role or "writer")
    if role is None:
        del env["TEMPORAL_API_KEY"]
    return await Client.connect(**secured_connection(env), data_converter=DATA_CONVERTER)


@pytest.fixture
async def incident(platform) -> str:
    answer = await platform.send("divert", "/reports", "station", make_report("police"))
    assert answer is not None and answer.status_code == 201, answer and answer.text
    return answer.json()["incident_id"]


@pytest.mark.parametrize("role", [None, "reader"])
async def test_a_forged_update_signal_or_terminate_is_refused(cluster, incident, role):
    client = await _client(cluster, role)
    handle = client.get_workflow_handle(incident)
    forged = {"actor": {"role": "police_bureau", "unit": "区公安分局", "person": "假冒"}}
    attempts = [
        handle.execute_update("review", forged),
        handle.signal("blow_whistle", {"reason": "forged", "units": ["区城管局"]}),
        handle.terminate("forged"),
    ]
    for attempt in attempts:
        with pytest.raises(RPCError) as refused:
            await attempt
        assert refused.value.status == RPCStatusCode.PERMISSION_DENIED
    writer = await _client(cluster, "writer")
    description = await writer.get_workflow_handle(incident).describe()
    assert description.status.name == "RUNNING"  # nothing of it was applied


def test_the_temporal_cli_without_a_token_is_refused(cluster, incident):
    temporal = str(ROOT / ".venv" / "bin" / "temporal")
    base = ["--address", cluster.address, "--namespace", "default", "--tls"]
    base += ["--tls-ca-path", str(cluster.secrets / "ca.pem"), "--tls-server-name", "localhost"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
    for command in (
        ["workflow", "terminate", "--workflow-id", incident, "--reason", "forged"],
        ["workflow", "update", "execute", "--workflow-id", incident, "--name", "feedback",
         "--input", '{"result": "forged"}'],
        ["workflow", "list"],
    ):  # fmt: skip
        done = subprocess.run(
            [temporal, *command, *base], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode != 0
        assert "unauthorized" in (done.stdout + done.stderr).lower()


async def test_the_web_ui_reads_only_with_the_supervisors_credential(cluster, incident):
    ui = f"http://127.0.0.1:{cluster.ports.ui}/api/v1/namespaces/default/workflows"
    reader = cluster.env("reader")["TEMPORAL_API_KEY"]
    async with httpx.AsyncClient(timeout=30) as http:
        stranger = await http.get(ui)
        assert stranger.status_code in (401, 403), stranger.text
        supervisor = await http.get(ui, headers={"Authorization": f"Bearer {reader}"})
        assert supervisor.status_code == 200
        assert incident in supervisor.text
        terminate = await http.post(
            f"http://127.0.0.1:{cluster.ports.ui}/api/v1/namespaces/default/workflows/"
            f"{incident}/terminate",
            headers={"Authorization": f"Bearer {reader}"},
            json={"reason": "from the UI"},
        )
        assert terminate.status_code >= 400
    writer = await _client(cluster, "writer")
    assert (await writer.get_workflow_handle(incident).describe()).status.name == "RUNNING"


async def test_every_part_is_ready_and_both_workers_poll(cluster):
    urls = [*api_urls(cluster), f"http://127.0.0.1:{cluster.ports.codec}"]
    urls.append(f"http://127.0.0.1:{cluster.ports.gate}")
    urls += [
        f"http://127.0.0.1:{cluster.ports.worker_health(i)}" for i in range(1, cluster.workers + 1)
    ]
    async with httpx.AsyncClient(timeout=10) as http:
        for url in urls:
            assert (await http.get(f"{url}/healthz")).status_code == 200, url
            ready = await http.get(f"{url}/readyz")
            assert ready.status_code == 200, f"{url}: {ready.text}"
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

    client = await _client(cluster, "writer")
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace="default",
            task_queue=TaskQueue(name="linkage"),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    assert len({p.identity for p in described.pollers}) >= cluster.workers


def _speaks_http2(port: int, ca: Path, cert: Path | None = None, key: Path | None = None) -> bool:
    """Whether a TLS connection (with this client certificate, or none) gets the server's
    HTTP/2 settings back: a service that requires a certificate ends it instead."""
    context = ssl.create_default_context(cafile=str(ca))
    context.set_alpn_protocols(["h2"])
    if cert:
        context.load_cert_chain(str(cert), str(key))
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        with raw, context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes(9))
            return len(tls.recv(9)) == 9
    except (ssl.SSLError, OSError):
        return False


def test_the_services_among_themselves_want_the_internode_certificate(cluster):
    """History, matching and the internal frontend (which authorises no token: it trusts its
    callers) answer only a process that holds the internode certificate."""
    ca, secrets = cluster.secrets / "ca.pem", cluster.secrets
    for service in ("internal-frontend", "history", "matching"):
        port = cluster.ports.grpc(service)
        assert not _speaks_http2(port, ca), service
        assert _speaks_http2(port, ca, secrets / "internode.pem", secrets / "internode-key.pem")
    assert _speaks_http2(cluster.ports.grpc("frontend"), ca)  # the frontend: TLS, then a token


async def test_people_open_the_web_ui_through_the_gate_with_their_own_token(
    cluster, incident, tokens
):
    gate = f"http://127.0.0.1:{cluster.ports.gate}"
    workflows = f"{gate}/api/v1/namespaces/default/workflows"
    async with httpx.AsyncClient(timeout=30) as http:
        assert (await http.get(workflows)).status_code == 401  # not signed in
        page = await http.get(f"{gate}/namespaces/default/workflows")
        assert page.status_code == 303 and page.headers["location"] == "/gate/login"
        refused = await http.post(f"{gate}/gate/login", data={"token": tokens["station"]})
        assert refused.status_code == 403  # a police station does not watch every incident
        assert (await http.post(f"{gate}/gate/login", data={"token": "forged"})).status_code == 401
        signed_in = await http.post(f"{gate}/gate/login", data={"token": tokens["supervisor"]})
        assert signed_in.status_code == 303 and "linkage_session" in signed_in.cookies
        listed = await http.get(workflows)
        assert listed.status_code == 200 and incident in listed.text
        history = await http.get(
            f"{gate}/api/v1/namespaces/default/workflows/{incident}/history?maximumPageSize=5"
        )
        payload = history.json()["history"]["events"][0]["workflowExecutionStartedEventAttributes"]
        encrypted = payload["input"]["payloads"][0]
        decoded = await http.post(
            f"{gate}/codec/decode",
            json={"payloads": [encrypted]},
            headers={"X-Namespace": "default", "X-Workflow-Id": incident},
        )
        assert decoded.status_code == 200, decoded.text  # decoded for the supervisor, audited
    # read as the host's operator reads it: the audit is sealed with the cluster's own keys
    out = linkage_command(cluster, "audit", "--json", "--incident", incident, "--action", "decode")
    entries = json.loads(out)
    assert any(e["principal"] == "督查席" and e["via"] == "codec" for e in entries), entries
