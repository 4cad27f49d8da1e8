"""`linkage release status | ramp | promote`: a new release of the workers, moved in safely.

Run `ramp` and `promote` from the new release's install: the replay gate replays the running
workflows' histories with the code of this process (linkage.ops.release). Authorised (an
operator moves a release; a supervisor may look) and audited before it acts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from dataclasses import asdict

from linkage.client.errors import LinkageError
from linkage.settings.config import Settings

ACTIONS = {"status": "release.status", "ramp": "release.ramp", "promote": "release.promote"}


def add_arguments(name: str, p: argparse.ArgumentParser) -> None:
    p.add_argument("release_command", choices=list(ACTIONS), help="what to do")
    p.add_argument("build_id", nargs="?", help="the release's build ID (ramp, promote)")
    p.add_argument(
        "--deployment",
        default=os.environ.get("LINKAGE_DEPLOYMENT_NAME") or "linkage",
        help="the worker deployment (LINKAGE_DEPLOYMENT_NAME, default linkage)",
    )
    p.add_argument("--percent", type=float, help="ramp: the share of new workflows, 0 to 100")
    p.add_argument(
        "--sample",
        type=int,
        default=100,
        help="the replay gate: how many of the newest running workflows (and as many of the "
        "oldest) are replayed with this code first",
    )


def run(args) -> int:
    command = args.release_command
    if command != "status" and not args.build_id:
        raise LinkageError(f"release {command}: build_id: the release's build ID is needed")
    if command == "ramp" and args.percent is None:
        raise LinkageError("release ramp: --percent: the share of new workflows is needed")
    from linkage.interfaces.cli.system import guarded

    scope = {"target": args.build_id or ""} if command != "status" else {}
    done = guarded(args, ACTIONS[command])
    try:
        code, detail = asyncio.run(_run(args))
    except Exception as err:
        done(reason=f"failed: {str(err)[:900]}", detail=scope)
        raise
    done(reason="" if code == 0 else "refused by the replay gate", detail={**scope, **detail})
    return code


async def _run(args) -> tuple[int, dict]:
    from linkage.ops import release
    from linkage.trust.temporal import connect, quiet_runtime

    settings = Settings()
    try:
        client = await connect(settings, runtime=quiet_runtime())
    except RuntimeError as err:
        raise LinkageError(f"cannot reach Temporal at {settings.temporal_address}: {err}") from None
    if args.release_command == "status":
        found = await release.status(client, args.deployment)
        _show(args, asdict(found), _status_lines(found))
        return 0, {"current": found.current, "ramping": found.ramping}
    gate = await release.replay_gate(client, settings.task_queue, args.sample)
    if not gate.passed:
        lines = [f"{wid}: {why}" for wid, why in sorted(gate.failures.items())]
        _show(
            args,
            {"gate": asdict(gate), "moved": False},
            f"replay gate: {len(gate.failures)} of {gate.replayed} running workflows do not "
            f"replay with this code; nothing moved:\n" + "\n".join(lines),
        )
        return 1, {"replayed": gate.replayed, "failed": len(gate.failures)}
    if args.release_command == "ramp":
        await release.ramp(client, args.deployment, args.build_id, args.percent)
        said = f"{args.build_id} takes {args.percent:g} % of new workflows"
    else:
        await release.promote(client, args.deployment, args.build_id)
        said = f"{args.build_id} is current: new workflows start on it, running ones move to it"
    _show(
        args,
        {"gate": asdict(gate), "moved": True},
        f"replay gate: {gate.replayed} running workflows replay with this code\n{said}",
    )
    return 0, {"replayed": gate.replayed}


def _status_lines(found) -> str:
    head = [
        f"deployment {found.deployment}: current {found.current or '(none: unversioned)'}"
        + (f", ramping {found.ramping} at {found.ramp_percent:g} %" if found.ramping else "")
    ]
    rows = [f"  {v.build_id:<24} {v.state:<9} {v.running} running" for v in found.versions]
    return "\n".join(head + rows)


def _show(args, data: dict, text: str) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2) if args.json else text)
