"""The Prometheus server, built like promtool, to render the dashboards from a real one.

Grafana may not be used (AGPL), so `linkage.ops.dashboards` draws the dashboards itself from
Prometheus' HTTP query API. The server is the same module and version as promtool
(`github.com/prometheus/prometheus/cmd/prometheus@v0.316.0`), built through the Go module proxy
into the tools folder (`tools.tool`). The module carries no web UI assets (they are built with
npm and embedded only under the `builtinassets` tag), so the server's pages answer with an error,
but its API (`/api/v1/query_range`, `/api/v1/targets`) is whole, and that is all the renderer
reads. With promtool built, the module cache already holds every dependency, but the compile
is the cost: with an empty build cache it took 14 minutes on 2 cores busy with other work (load
5 to 6), against promtool's 15 cold; with the build cache warm, 11 seconds.

    python -m linkage.ops.deploy.prometheus          # build it (once) and print its path
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from linkage.ops.deploy.promtool import PROMTOOL
from linkage.ops.deploy.tools import tool

PROMETHEUS = ("prometheus", "github.com/prometheus/prometheus/cmd/prometheus", PROMTOOL[2])
READY_SECONDS = 60


def prometheus() -> Path:
    """The server's binary, built on first use."""
    return tool(*PROMETHEUS)


@dataclass
class Server:
    """A Prometheus process started by `start`, with its API's base URL."""

    process: subprocess.Popen
    url: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *_) -> None:
        self.stop()


def start(config: Path, *, port: int, data: Path, log: Path) -> Server:
    """Start Prometheus on 127.0.0.1:`port` with `config`, its TSDB in `data`; wait until ready."""
    data.mkdir(parents=True, exist_ok=True)
    command = [
        str(prometheus()),
        f"--config.file={config}",
        f"--storage.tsdb.path={data}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=2d",
        "--log.level=warn",
    ]
    with open(log, "ab") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(process, f"http://127.0.0.1:{port}")
    try:
        wait_ready(server)
    except BaseException:
        server.stop()
        raise
    return server


def wait_ready(server: Server, timeout: float = READY_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"prometheus exited with {server.process.returncode}")
        try:
            with urllib.request.urlopen(f"{server.url}/-/ready", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"prometheus at {server.url} not ready after {timeout:.0f} s")


def targets(url: str) -> list[dict]:
    """The active scrape targets: job, instance, health and last error of each."""
    with urllib.request.urlopen(f"{url}/api/v1/targets?state=active", timeout=10) as answer:
        found = json.load(answer)["data"]["activeTargets"]
    return [
        {
            "job": t["labels"].get("job", ""),
            "instance": t["labels"].get("instance", ""),
            "health": t["health"],
            "error": t.get("lastError", ""),
            "last": t.get("lastScrape", ""),
        }
        for t in found
    ]


def wait_scrapes(url: str, *, timeout: float) -> list[dict]:
    """Wait until every target has been scraped once (up or down), or `timeout`; the targets."""
    deadline = time.monotonic() + timeout
    while True:
        found = targets(url)
        scraped = found and all(t["health"] != "unknown" for t in found)
        if scraped or time.monotonic() > deadline:
            return found
        time.sleep(1)


def main(argv: list[str]) -> int:
    if argv:
        print("usage: python -m linkage.ops.deploy.prometheus   (builds it, prints its path)")
        return 2
    began = time.monotonic()
    path = prometheus()
    print(f"{path}  ({time.monotonic() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
