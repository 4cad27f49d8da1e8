"""A real browser (headless Chromium from the system's packages) opens an incident in the Web UI
of `linkage up`: not signed in, it gets the gate's sign-in page and no caller; signed in with the
page `linkage up` leaves for this machine's owner, the codec server decodes the caller for that
supervisor's token (and the audit says so), while the raw history holds ciphertext. The codec
server asked without a token, directly or through the gate, or by `temporal workflow show
--codec-endpoint`, decodes nothing; when `linkage up` stops, the sign-in token is revoked."""

import asyncio
import base64
import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import jwt

from linkage.client import LinkageClient
from linkage.records.audit import AuditLog
from linkage.records.store import Store
from linkage.records.tokens import TokenRecords
from linkage.trust.codec import CODEC
from linkage.trust.commands import load_command_keys
from linkage.trust.temporal import DATA_CONVERTER
from tests.conftest import chromium, make_report
from tests.parties import BUREAU, as_, police_loop

ROOT = Path(__file__).resolve().parents[1]
PHONE = "13955557777"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"{url} did not come up")


def dump_dom(browser: str, profile: Path, url: str) -> str:
    return subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-sync", "--allow-file-access-from-files",
         f"--user-data-dir={profile}", "--virtual-time-budget=10000", "--dump-dom", url],
        capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip


async def test_the_web_ui_shows_the_caller_decoded_and_the_history_ciphertext(tmp_path):
    browser = chromium()
    from temporalio.client import Client

    ports = {name: free_port() for name in ("port", "ui", "api", "codec")}
    keys = ",".join(
        f"{key_id}:{base64.b64encode(key).decode()}" for key_id, key in CODEC.keyring.keys.items()
    )
    commands = ",".join(f"{i}:{base64.b64encode(k).decode()}" for i, k in load_command_keys().keys)
    state = tmp_path / "state"
    env = {
        **os.environ,
        "LINKAGE_STATE_DIR": str(state),
        "LINKAGE_CODEC_KEYS": keys,  # the test's client and the system share the keyrings
        "LINKAGE_COMMAND_KEYS": commands,
        "LINKAGE_TEMPORAL_ADDRESS": f"localhost:{ports['port']}",
    }
    env.pop("LINKAGE_DATABASE_URL", None)
    up = subprocess.Popen(
        [sys.executable, "-m", "linkage.interfaces.cli.main", "up", "--port", str(ports["port"]),
         "--ui-port", str(ports["ui"]), "--api-port", str(ports["api"]),
         "--codec-port", str(ports["codec"])],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    ui, codec = f"http://localhost:{ports['ui']}", f"http://localhost:{ports['codec']}"
    page = state / "web-ui-sign-in.html"
    try:
        wait_for(f"{ui}/")
        wait_for(f"http://localhost:{ports['api']}/openapi.json")
        client = await Client.connect(f"localhost:{ports['port']}", data_converter=DATA_CONVERTER)
        linkage = LinkageClient(client, "linkage")
        report = make_report("hotline", caller={"name": "王小明", "phone": PHONE})
        result = await linkage.divert(report)
        iid = result.incident_id
        await linkage.act(iid, "accept", as_(BUREAU))
        await police_loop(linkage, iid)
        await asyncio.wait_for(linkage.result(iid), 60)
        run_id = (await client.get_workflow_handle(iid).describe()).run_id

        raw = await client.get_workflow_handle(iid).fetch_history()
        history = json.loads(raw.to_json())
        assert PHONE not in json.dumps(history)  # ciphertext in Temporal
        sealed = history["events"][0]["workflowExecutionStartedEventAttributes"]["input"]
        for where, headers in (
            (codec, {}),
            (codec, {"Authorization": "Basic " + base64.b64encode(b"a:b").decode()}),
            (f"{ui}/codec", {}),  # the gate: no session
        ):
            answer = httpx.post(f"{where}/decode", json=sealed, headers=headers, timeout=10)
            assert answer.status_code == 401 and PHONE not in answer.text, (where, answer.text)
        shown = subprocess.run(
            [str(Path(sys.executable).parent / "temporal"), "workflow", "show", "-w", iid,
             "--address", f"localhost:{ports['port']}", "--codec-endpoint", codec,
             "--output", "json"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert PHONE not in shown.stdout + shown.stderr

        url = f"{ui}/namespaces/default/workflows/{iid}/{run_id}/history"
        stranger = dump_dom(browser, tmp_path / "stranger", url)
        assert "/gate/login" in stranger and PHONE not in stranger  # not signed in

        assert stat.S_IMODE(page.stat().st_mode) == 0o600
        dump_dom(browser, tmp_path / "chrome", page.as_uri())  # signs in at the gate
        dom = dump_dom(browser, tmp_path / "chrome", url)
        assert iid in dom
        assert PHONE in dom and '"caller"' in dom  # the Input panel, decoded by the codec server
        token = re.search(r'name="token" value="([^"]+)"', page.read_text()).group(1)
        who = jwt.decode(token, options={"verify_signature": False})
        store = Store(f"sqlite:///{state / 'records.db'}")
        decoded = AuditLog(store.engine).list(principal=who["name"], action="decode")
        assert decoded and decoded[0].allowed and decoded[0].role == "supervisor"
        assert decoded[0].via == "codec" and decoded[0].token_id == who["jti"]
    finally:
        os.killpg(up.pid, signal.SIGINT)
        try:
            up.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
    assert not page.exists()  # the sign-in page goes with linkage up, its token revoked
    assert TokenRecords(store.engine).revoked_at(who["jti"]) is not None
