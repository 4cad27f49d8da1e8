"""`scripts/cluster up|down|status|env|kill|start|build` (python -m linkage.ops.cluster)."""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import sys

from linkage.ops.cluster.cluster import Cluster


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/cluster", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="build once, prepare PostgreSQL, start every part")
    up.add_argument("--workers", type=int, default=2, help="the project's workers")
    up.add_argument("--apis", type=int, default=2, help="the project's API instances")
    down = sub.add_parser("down", help="stop every part")
    down.add_argument("--wipe", action="store_true", help="drop the cluster's databases too")
    sub.add_parser("status", help="each part: running, and answering on its port")
    env = sub.add_parser("env", help="the environment a linkage command needs (eval it)")
    env.add_argument("--role", choices=["writer", "reader", "admin"], default="writer")
    kill = sub.add_parser("kill", help="signal one part (SIGKILL by default)")
    kill.add_argument("part")
    kill.add_argument("--signal", default="KILL")
    start = sub.add_parser("start", help="start one part again")
    start.add_argument("part")
    sub.add_parser("build", help="build the pinned binaries (once; cached)")
    args = parser.parse_args(argv)

    if args.command == "up":
        cluster = Cluster.here(workers=args.workers, apis=args.apis)
        cluster.up()
        print(banner(cluster))
        return 0
    cluster = Cluster.here()
    if args.command == "down":
        stopped = cluster.down()
        print(f"cluster: stopped {', '.join(stopped) or 'nothing (nothing ran)'}")
        if args.wipe:
            from linkage.ops.cluster.database import drop_all

            drop_all(cluster.db)
            print("cluster: databases dropped")
        return 0
    if args.command == "status":
        rows = cluster.processes.status()
        for row in rows:
            state = "up" if row["alive"] and row["answers"] else "DOWN"
            print(f"{row['part']:<18} {state:<5} pid {row['pid'] or '-':<8} port {row['port']}")
        return 0 if rows and all(r["alive"] and r["answers"] for r in rows) else 1
    if args.command == "env":
        for key, value in cluster.env(args.role).items():
            print(f"export {key}={shlex.quote(value)}")
        return 0
    if args.command == "kill":
        signum = getattr(signal, f"SIG{args.signal.upper().removeprefix('SIG')}")
        print(json.dumps({"part": args.part, "pid": cluster.processes.signal(args.part, signum)}))
        return 0
    if args.command == "start":
        print(
            json.dumps(
                {
                    "part": args.part,
                    "pid": cluster.processes.start(cluster.processes.part(args.part)),
                }
            )
        )
        return 0
    from linkage.ops.cluster.build import build

    print(json.dumps(build(), indent=2))
    return 0


def banner(cluster: Cluster) -> str:
    p = cluster.ports
    apis = ", ".join(f"http://127.0.0.1:{p.api(i)}" for i in range(1, cluster.apis + 1))
    return (
        f"\n  Temporal frontend: {cluster.address} (JWT required: tokens in "
        f"{cluster.secrets})\n"
        f"  Temporal Web UI:   http://127.0.0.1:{p.gate} (read-only; sign in with a token)\n"
        f"  HTTP API:          {apis}\n"
        f"  Codec server:      http://127.0.0.1:{p.codec}\n"
        f"  Workers:           {cluster.workers}\n"
        f'  Use it:            eval "$(scripts/cluster env)"; .venv/bin/linkage demo\n'
    )


if __name__ == "__main__":
    sys.exit(main())
