"""A real browser (headless Chromium from the system's packages) opens an incident in the Web UI
of `linkage up`: the codec server decodes the caller for the host's supervisor, while the raw
history holds ciphertext."""

import asyncio
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from linkage.client import LinkageClient
from linkage.trust.codec import CODEC
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


async def test_the_web_ui_shows_the_caller_decoded_and_the_history_ciphertext(tmp_path):
    browser = chromium()
    from temporalio.client import Client

    ports = {name: free_port() for name in ("port", "ui", "api", "codec")}
    keys = ",".join(
        f"{key_id}:{base64.b64encode(key).decode()}" for key_id, key in CODEC.keyring.keys.items()
    )
    env = {
        **os.environ,
        "LINKAGE_STATE_DIR": str(tmp_path / "state"),
        "LINKAGE_CODEC_KEYS": keys,  # the test's client and the system share the keyring
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
    try:
        wait_for(f"http://localhost:{ports['ui']}/")
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
        assert PHONE not in json.dumps(json.loads(raw.to_json()))  # ciphertext in Temporal

        url = f"http://localhost:{ports['ui']}/namespaces/default/workflows/{iid}/{run_id}/history"
        dom = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-sync",
             f"--user-data-dir={tmp_path / 'chrome'}", "--virtual-time-budget=10000",
             "--dump-dom", url],
            capture_output=True, text=True, timeout=120,
        ).stdout  # fmt: skip
        assert iid in dom
        assert PHONE in dom and '"caller"' in dom  # the Input panel, decoded by the codec server
    finally:
        os.killpg(up.pid, signal.SIGINT)
        try:
            up.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
