"""A Prometheus beside the cluster on this machine (`scripts/cluster`), scraping what it runs,
so that the dashboards can be drawn from real data (`scripts/dashboards`):

    scripts/dashboards up          # start Prometheus (built once) on the cluster's parts
    scripts/dashboards demo        # up, `linkage demo --pace 0.2` on the cluster, then render
    scripts/dashboards render      # both dashboards, HTML and PNG, since Prometheus started
    scripts/dashboards status | down

Its jobs are the production scrape config's, the targets read from the cluster's record
(`cluster.json`): each API instance (`/metrics` on its port), the codec server, each Temporal
service (`PROMETHEUS_ENDPOINT`, the cluster's metrics ports) and each worker's SDK exporter
(its LINKAGE_METRICS_ADDRESS, a port of its own). Everything is kept in
`.linkage/cluster/dashboards/`: the scrape config, the TSDB, the log, and the pages and
screenshots in `out/`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

from linkage.metrics.records import CACHE_SECONDS
from linkage.metrics.worker import ADDRESS_ENV, DEFAULT_ADDRESS
from linkage.ops.cluster.cluster import Cluster, cluster_dir
from linkage.ops.cluster.config import SERVICES, Ports
from linkage.ops.dashboards.source import seconds
from linkage.ops.deploy import prometheus
from linkage.settings import runfile

PORT = 19090  # clear of the cluster's ports at either base (17233…18400, 27233…28400)
SCRAPE = "2s"  # a demo at --pace 0.2 lasts seconds: a few points of it


def folder() -> Path:
    return cluster_dir() / "dashboards"


def targets(record: dict) -> dict[str, list[str]]:
    """job → host:port of each, from the cluster's record of its parts."""
    parts = {name: p["definition"] for name, p in record.get("parts", {}).items()}
    if "frontend" not in parts:
        raise SystemExit("dashboards: no cluster recorded here; start one: bash scripts/cluster up")
    ports = Ports(base=parts["frontend"]["port"])
    workers = {
        p["env"].get(ADDRESS_ENV, DEFAULT_ADDRESS)
        for name, p in parts.items()
        if name.startswith("worker-")
    }
    apis = [p["port"] for name, p in sorted(parts.items()) if name.startswith("api-")]
    jobs = {
        "linkage-worker": sorted(a for a in workers if a),
        "linkage-api": [f"127.0.0.1:{port}" for port in apis],
        "linkage-codec": [f"127.0.0.1:{parts['codec']['port']}"] if "codec" in parts else [],
    }
    for service in SERVICES:
        jobs[f"temporal-{service}"] = [f"127.0.0.1:{ports.metrics(service)}"]
    return jobs


def scrape_config(jobs: dict[str, list[str]]) -> dict:
    return {
        "global": {"scrape_interval": SCRAPE, "scrape_timeout": SCRAPE},
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": found}]}
            for job, found in jobs.items()
            if found
        ],
    }


def _record() -> dict:
    try:
        return json.loads((folder() / "prometheus.json").read_text())
    except (OSError, ValueError):
        return {}


def running() -> dict | None:
    found = _record()
    return found if runfile.running(found.get("pid", 0), found.get("command", [])) else None


def up(port: int = PORT) -> dict:
    """Start Prometheus on the cluster's parts unless it runs; its record."""
    if found := running():
        return found
    record = Cluster.here().processes.read()
    config = folder() / "prometheus.yml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(yaml.safe_dump(scrape_config(targets(record)), sort_keys=False))
    began = time.monotonic()
    binary = prometheus.prometheus()
    built = time.monotonic() - began
    server = prometheus.start(
        config, port=port, data=folder() / "data", log=folder() / "prometheus.log"
    )
    found = {
        "pid": server.process.pid,
        "command": runfile.command_line(server.process.pid) or [str(binary)],
        "url": server.url,
        "started": time.time(),
        "build_seconds": round(built),
    }
    (folder() / "prometheus.json").write_text(json.dumps(found, indent=1))
    prometheus.wait_scrapes(server.url, timeout=30)
    return found


def down() -> bool:
    found = _record()
    return runfile.stop(found.get("pid", 0), found.get("command", []), seconds=30)


def status(url: str) -> list[dict]:
    return prometheus.targets(url)


def render(range_text: str | None = None) -> list[Path]:
    """Both dashboards since Prometheus started (at least 2 minutes), with screenshots."""
    from linkage.ops.dashboards.__main__ import render_all

    found = running()
    if not found:
        raise SystemExit("dashboards: Prometheus is not running: scripts/dashboards up")
    since = time.time() - found["started"]
    range_seconds = seconds(range_text) if range_text else max(120.0, since + 10)
    out = folder() / "out"
    (out / "targets.json").parent.mkdir(parents=True, exist_ok=True)
    (out / "targets.json").write_text(json.dumps(status(found["url"]), indent=1))
    return render_all(found["url"], out, range_seconds=range_seconds, shots=True)


def demo(pace: float) -> None:
    """`linkage demo --pace` against the cluster, as `eval "$(scripts/cluster env)"` would."""
    env = {**os.environ, **Cluster.here().env()}
    command = [sys.executable, "-m", "linkage.interfaces.cli.main", "demo", "--pace", str(pace)]
    subprocess.run(command, env=env, check=True)


def _say_targets(url: str) -> None:
    for t in status(url):
        said = f"  {t['error']}" if t["error"] else ""
        print(f"  {t['job']:<28} {t['instance']:<18} {t['health']}{said}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/dashboards", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("up", help="start Prometheus on the cluster's parts (built once)")
    start.add_argument("--port", type=int, default=PORT)
    both = sub.add_parser("demo", help="up, the demo on the cluster, a few scrapes, render")
    both.add_argument("--pace", type=float, default=0.2, help="seconds between actions (0.2)")
    draw = sub.add_parser("render", help="both dashboards as HTML and PNG into out/")
    draw.add_argument("--range", help="how far back (since Prometheus started)")
    sub.add_parser("status", help="Prometheus and each target's health")
    sub.add_parser("down", help="stop Prometheus (its data stays)")
    args = parser.parse_args(argv)

    if args.command == "down":
        print(f"dashboards: {'stopped' if down() else 'nothing ran'}")
        return 0
    if args.command == "status":
        found = running()
        if not found:
            print("dashboards: Prometheus is not running")
            return 1
        print(f"dashboards: Prometheus at {found['url']}, pid {found['pid']}")
        _say_targets(found["url"])
        return 0
    if args.command in ("up", "demo"):
        found = up(getattr(args, "port", PORT))
        print(f"dashboards: Prometheus at {found['url']} (built in {found['build_seconds']} s)")
        _say_targets(found["url"])
        if args.command == "up":
            return 0
        demo(args.pace)
        time.sleep(CACHE_SECONDS + 2 * seconds(SCRAPE))  # the records' last figures, scraped
    for path in render(getattr(args, "range", None)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
