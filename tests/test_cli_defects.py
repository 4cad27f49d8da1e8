"""Defects a new user met on the command line, each fixed: an action that succeeded reported as a
crash, a pipe closed early, an empty timeline, a limit of 0, the SDK's own lines when the server
is down, and field names where the person typed flags."""

import asyncio
import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

from linkage.client import IncidentStatus
from linkage.interfaces.cli.display import render_status
from tests import test_cli
from tests.conftest import TASK_QUEUE, eventually, make_report, open_incident, temporal_cli
from tests.parties import BUREAU, STATION, as_

run_cli = test_cli.run_cli  # the fixture, shared with the first CLI tests

ESC = "\x1b["


def cli_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "LINKAGE_TASK_QUEUE": TASK_QUEUE, **extra}


async def test_acknowledge_prints_the_emergency_linkage_it_led_to(run_cli, env, linkage):
    iid = await open_incident(
        env,
        linkage,
        "hotline",
        category="抢险抗灾救援",
        urgency="emergency",
        description="小区门口燃气管道破裂，闻到很浓的煤气味",
    )
    await linkage.act(iid, "accept", as_(BUREAU))

    async def linked():
        assert (await linkage.status(iid)).emergencies, "emergency linkage not started yet"

    await eventually(linked)
    code, out, err = await run_cli("act", iid, "acknowledge", "--as", "emergency_unit:119")
    assert code == 0 and "Traceback" not in err and "AttributeError" not in err
    assert out.strip() == f"{iid}: acknowledge done; now at emergency linkage #1, acknowledged 1/5"
    code, out, _ = await run_cli("act", iid, "acknowledge", "--as", "emergency_unit:gas", "--json")
    assert code == 0 and set(json.loads(out)["acknowledged"]) == {"119", "gas"}


async def test_status_into_a_pipe_closed_early_ends_quietly(env, linkage):
    iid = await open_incident(env, linkage, "police")
    address = env.client.service_client.config.target_host
    for argv in (["status", iid], ["act", "sign", "--help"]):
        read, write = os.pipe()
        os.close(read)  # the reader (`head`) has gone before a line is written
        try:
            done = await asyncio.to_thread(  # the test's worker runs on this event loop
                subprocess.run,
                [sys.executable, "-m", "linkage.interfaces.cli.main", *argv],
                stdout=write,
                stderr=subprocess.PIPE,
                text=True,
                env=cli_env(LINKAGE_TEMPORAL_ADDRESS=address),
                timeout=60,
            )
        finally:
            os.close(write)
        assert done.stderr == "", done.stderr
        assert done.returncode == 128 + 13  # as a Unix tool killed by SIGPIPE


async def test_status_of_an_incident_with_no_timeline_entries(env, linkage):
    iid = await open_incident(env, linkage, "police")
    status = await linkage.status(iid)
    assert status.incident is not None and status.incident.timeline
    empty = IncidentStatus(
        incident_id=iid,
        running=True,
        stage=status.stage,
        incident=status.incident.model_copy(update={"timeline": []}),
    )
    assert empty.timeline() == []
    text = render_status(empty)
    assert f"Incident {iid}" in text and text.endswith("Timeline 时间线\n  no entries yet 暂无记录")


@pytest.mark.parametrize("command", ["list", "outbox"])
async def test_a_limit_below_one_is_refused_naming_the_flag(run_cli, command):
    for limit in ("0", "-3", "many"):
        with pytest.raises(SystemExit) as exit_info:
            await run_cli(command, "--limit", limit)
        assert exit_info.value.code == 2
    code, _, _ = await run_cli(command, "--limit", "1")
    assert code == 0


def test_a_closed_port_is_one_clear_line():
    done = subprocess.run(
        [sys.executable, "-m", "linkage.interfaces.cli.main", "status", "police-JJ1"],
        capture_output=True,
        text=True,
        env=cli_env(LINKAGE_TEMPORAL_ADDRESS="127.0.0.1:1"),
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr == "linkage: cannot reach Temporal at 127.0.0.1:1: is the system running?\n"


def test_a_server_that_stops_mid_command_prints_no_sdk_warnings(tmp_path):
    """The SDK core retries a server that has gone for about ten seconds, logging a coloured WARN
    line for each retry; the person should read our one line instead."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = tmp_path / "stops.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import asyncio, os, subprocess, sys
            from linkage.interfaces.cli import main as cli
            from linkage.client import LinkageClient
            from linkage.settings.config import Settings
            from linkage.trust.temporal import connect, quiet_runtime

            server = subprocess.Popen(
                [{temporal_cli()!r}, "server", "start-dev", "--headless", "--ip", "127.0.0.1",
                 "--port", "{port}", "--db-filename", {str(tmp_path / "t.db")!r},
                 "--log-level", "error"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )

            async def ready():
                for _ in range(150):
                    try:
                        return await connect(Settings(), runtime=quiet_runtime())
                    except RuntimeError:
                        await asyncio.sleep(0.2)

            asyncio.run(ready())
            status = LinkageClient.status

            async def status_once_the_server_has_stopped(self, incident_id):
                server.terminate()
                server.wait()
                print("server stopped", flush=True)
                return await status(self, incident_id)

            LinkageClient.status = status_once_the_server_has_stopped
            code = cli.run(["status", "police-JJ1"])
            sys.stderr.flush()
            os._exit(code)
            """
        )
    )
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        env=cli_env(LINKAGE_TEMPORAL_ADDRESS=f"127.0.0.1:{port}"),
        timeout=80,
    )
    assert done.stdout == "server stopped\n"
    assert done.returncode == 1
    assert "WARN" not in done.stderr and ESC not in done.stderr, done.stderr
    assert done.stderr == (
        f"linkage: cannot reach Temporal at 127.0.0.1:{port}: is the system running?\n"
    )


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["reply"], "reply: --message is required"),
        (["reply", "--message", "好"], "reply: --message: must have at least 2 characters"),
        (
            ["extend", "--hours", "0", "--reason", "材料未齐"],
            "extend: --hours: must be greater than 0",
        ),
        (["extend", "--reason", "材料未齐"], "extend: --hours is required"),
        (["resubmit"], "resubmit: --divert-reason is required"),
        (["send-back"], "send-back: --reason is required"),
        (["whistle-plan"], "whistle-plan: --note is required"),
        (
            ["emergency-linkage", "--units", ","],
            "emergency-linkage: --units: must have at least 1 item",
        ),
    ],
)
async def test_errors_name_the_flag_the_person_typed(run_cli, argv, error):
    action, *flags = argv
    code, out, err = await run_cli(
        "act", "police-JJ1", action, "--as", "command_center:区集成指挥中心", *flags
    )
    assert (code, out) == (1, "")
    assert err.startswith(f"linkage: {error}"), err


async def test_diverting_the_report_of_an_ended_incident_again_prints_no_traceback(
    env, linkage, tmp_path
):
    """The SDK keeps the refused start in a future of its own; left unread, asyncio printed
    "Future exception was never retrieved" and 40 lines of traceback after the right answer."""
    report = make_report("police")
    with env.with_time_skipping_disabled():
        iid = (await linkage.divert(report)).incident_id
    await linkage.act(iid, "send-back", as_(BUREAU, reason="属治安案件"))
    await linkage.act(iid, "withdraw", as_(STATION))
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    address = env.client.service_client.config.target_host
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "linkage.interfaces.cli.main", "divert", str(path)],
        capture_output=True,
        text=True,
        env=cli_env(LINKAGE_TEMPORAL_ADDRESS=address),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(iid) and "已撤回" in done.stdout, done.stdout
    assert done.stderr == "", done.stderr


async def test_status_says_yes_or_no_in_words_never_true_or_false(env, linkage):
    from tests.parties import police_loop

    iid = await open_incident(env, linkage, "hotline")
    await linkage.act(iid, "accept", as_(BUREAU))
    await linkage.act(iid, "command", as_(BUREAU, unit="黄埭派出所"))
    text = render_status(await linkage.status(iid))
    assert "未到场 not arrived" in text and "False" not in text and "True" not in text
    await linkage.act(iid, "arrive", as_(STATION))
    assert "已到场 arrived" in render_status(await linkage.status(iid))
    other = await open_incident(env, linkage, "hotline")
    await linkage.act(other, "accept", as_(BUREAU))
    await police_loop(linkage, other)
    await linkage.result(other)
    text = render_status(await linkage.status(other))
    assert "办结 是 yes" in text and "False" not in text and "True" not in text, text
