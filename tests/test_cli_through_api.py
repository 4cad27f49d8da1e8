"""`linkage status` and `linkage list` read through the HTTP API when one is named (or runs under
this machine's `linkage up`): the API verifies the token, authorises, masks and audits; the CLI
shows its answer as it shows its own, and says plainly what went wrong."""

from __future__ import annotations

import asyncio
import json
import os
import socket

import httpx
import pytest
import uvicorn

from linkage.interfaces.api.app import make_app
from linkage.interfaces.cli import main as cli
from linkage.records.audit import AuditLog
from linkage.settings import runfile
from tests.conftest import TASK_QUEUE, eventually, open_incident
from tests.parties import divert_to_hotline
from tests.tokens import Tokens

DEAD = "127.0.0.1:9"  # nothing listens there: a command that reached for it directly would fail


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def said(err: str) -> str:
    """The CLI's own error line (the in-process worker's log lines go to stderr too)."""
    return "\n".join(line for line in err.splitlines() if line.startswith("linkage: "))


@pytest.fixture(scope="module")
def tokens(store) -> Tokens:
    return Tokens(store)


@pytest.fixture
async def served(linkage, tokens):
    """The API on a port of its own, in this test's event loop (where its client lives)."""
    port = free_port()
    config = uvicorn.Config(
        make_app(linkage, tokens.verifier), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "the API did not start"
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture
def run_cli(served, monkeypatch, capsys):
    """`linkage ARGS...` with the API named and no way to reach Temporal directly."""
    monkeypatch.setenv("LINKAGE_API_URL", served)
    monkeypatch.setenv("LINKAGE_TEMPORAL_ADDRESS", DEAD)

    async def run(*args: str):
        code = await asyncio.to_thread(cli.run, list(args))
        out, err = capsys.readouterr()
        return code, out, said(err)

    return run


async def test_status_and_list_read_through_the_api_as_the_token_sees_them(
    run_cli, served, tokens, linkage, env, store, monkeypatch
):
    iid = await open_incident(env, linkage, "police")
    await divert_to_hotline(linkage, iid)
    token = tokens.party("command_center")
    monkeypatch.setenv("LINKAGE_TOKEN", token)

    code, out, err = await run_cli("status", iid)
    assert code == 0, err
    assert iid in out and "Timeline 时间线" in out and "12345" in out
    assert "13812345678" not in out and "王小明" not in out  # the caller, masked for a desk

    code, out, err = await run_cli("status", iid, "--json")
    assert code == 0, err
    async with httpx.AsyncClient(base_url=served) as http:
        answer = await http.get(f"/incidents/{iid}", headers={"Authorization": f"Bearer {token}"})
    assert json.loads(out) == answer.json()  # what the API answers, shown as it is

    async def listed():
        code, out, err = await run_cli("list", "--running", "--stage", "handling", "--json")
        assert code == 0, err
        assert iid in [row["incident_id"] for row in json.loads(out)]

    await eventually(listed)
    reads = AuditLog(store.engine).list(incident_id=iid, action="status")
    assert reads and {entry.via for entry in reads[:2]} == {"api"}
    assert reads[0].principal == tokens.principal(*_party("command_center")).name


def _party(role: str) -> tuple[str, str, str]:
    from tests.tokens import PARTIES

    return PARTIES[role]


async def test_what_goes_wrong_through_the_api_is_said_plainly(
    run_cli, tokens, linkage, env, monkeypatch
):
    iid = await open_incident(env, linkage, "police")
    monkeypatch.setenv("LINKAGE_TOKEN", tokens.party("member_unit"))
    code, _, err = await run_cli("status", iid)
    assert code == 1 and err.startswith("linkage: refused: status: ") and "has no part" in err

    monkeypatch.setenv("LINKAGE_TOKEN", tokens.party("supervisor"))
    code, _, err = await run_cli("status", "police-JJ19990101999")
    assert code == 1 and "no incident police-JJ19990101999" in err
    code, _, err = await run_cli("list", "--since", "yesterday")
    assert code == 1 and "--since" in err  # refused before anything is sent
    code, _, err = await run_cli("list", "--limit", "5000")
    assert code == 1 and "--limit: at most 1000 through the API (got 5000)" in err

    monkeypatch.setenv("LINKAGE_TOKEN", "not-a-token")
    code, _, err = await run_cli("status", iid)
    assert code == 1 and err.startswith("linkage: not signed in: ")

    monkeypatch.setenv("LINKAGE_TOKEN", tokens.party("supervisor"))
    monkeypatch.setenv("LINKAGE_API_URL", f"http://127.0.0.1:{free_port()}")
    code, _, err = await run_cli("status", iid)
    assert code == 1 and "cannot reach the API at http://127.0.0.1:" in err
    monkeypatch.setenv("LINKAGE_API_URL", "api.example:8380")
    code, _, err = await run_cli("list")
    assert code == 1 and "LINKAGE_API_URL: must be an http:// or https:// address" in err


async def test_a_profile_names_the_api_it_reads_through(
    run_cli, served, tokens, linkage, env, monkeypatch, tmp_path
):
    iid = await open_incident(env, linkage, "police")
    profiles = tmp_path / "profiles.toml"
    profiles.write_text(
        f'[profiles.desk]\ntoken = "{tokens.party("supervisor")}"\napi = "{served}"\n'
        '[profiles.broken]\ntoken = "x"\napi = "ftp://example"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("LINKAGE_PROFILES", str(profiles))
    monkeypatch.delenv("LINKAGE_API_URL")
    code, out, err = await run_cli("--profile", "desk", "status", iid, "--json")
    assert code == 0 and json.loads(out)["incident_id"] == iid, err
    code, _, err = await run_cli("--profile", "broken", "status", iid)
    assert code == 1 and "profiles.broken.api: must be an http:// or https:// address" in err


async def test_a_stopped_up_is_read_around_and_none_reads_directly(
    env, worker, store, linkage, monkeypatch, capsys, tmp_path
):
    """The API of a `linkage up` that is recorded as running but answers no more: the command
    reads Temporal and the records itself, as it does when another Temporal is named or
    LINKAGE_API_URL is none."""
    from linkage.trust.tokens import issue_token

    iid = await open_incident(env, linkage, "police")
    target = env.client.service_client.config.target_host
    monkeypatch.setenv("LINKAGE_STATE_DIR", str(tmp_path))
    up = {"command": runfile.command_line(os.getpid()) or []}
    stopped_api = f"http://127.0.0.1:{free_port()}"
    record = {"temporal": {"address": target}, "api": {"url": stopped_api}}
    runfile.write({"pid": os.getpid(), "up": up, **record})
    assert runfile.api_url() == stopped_api
    host_signed, _ = issue_token(Tokens(store).principal("supervisor", name="督查周"), 1)
    monkeypatch.setenv("LINKAGE_TOKEN", host_signed)
    monkeypatch.setenv("LINKAGE_TASK_QUEUE", TASK_QUEUE)
    monkeypatch.setenv("LINKAGE_DATABASE_URL", store.url)
    monkeypatch.delenv("LINKAGE_TEMPORAL_ADDRESS", raising=False)

    async def status() -> None:
        code = await asyncio.to_thread(cli.run, ["status", iid, "--json"])
        out, err = capsys.readouterr()
        assert code == 0 and json.loads(out)["incident_id"] == iid, err

    await status()  # the up's API is gone: read directly, from the up's Temporal
    monkeypatch.setenv("LINKAGE_TEMPORAL_ADDRESS", target)
    await status()  # another Temporal named: never the up's API
    monkeypatch.setenv("LINKAGE_API_URL", "none")
    await status()
    reads = AuditLog(store.engine).list(incident_id=iid, action="status")
    assert [entry.via for entry in reads[:3]] == ["cli", "cli", "cli"]


def test_a_redirect_is_refused_and_the_token_goes_nowhere_else():
    """An API address that redirects (to a sign-in page, another host) is an error naming
    where it pointed; the token is not sent on."""
    import http.server
    import threading

    from linkage.client.errors import LinkageError
    from linkage.client.remote import ApiClient

    seen: list[str | None] = []

    class Redirecting(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            seen.append(self.headers.get("Authorization"))
            self.send_response(302)
            self.send_header("Location", "http://elsewhere.example/incidents")
            self.end_headers()

        def log_message(self, *_):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Redirecting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        api = ApiClient(f"http://127.0.0.1:{server.server_port}", "secret-token", timeout=5)
        with pytest.raises(LinkageError, match="a redirect to http://elsewhere.example"):
            api.status("police-JJ20261129001")
    finally:
        server.shutdown()
    assert seen == ["Bearer secret-token"]  # asked once, at the address named
