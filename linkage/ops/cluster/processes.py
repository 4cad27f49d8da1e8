"""Starting, watching and stopping the cluster's processes, each in a session of its own with
its log in the cluster's folder, recorded in `cluster.json` by PID and command line (so a
stop never hits a newcomer that was given the same PID)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from linkage.ops.cluster.parts import Part
from linkage.settings import runfile


class Processes:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.logs = folder / "logs"
        self.record_path = folder / "cluster.json"

    def read(self) -> dict:
        try:
            return json.loads(self.record_path.read_text())
        except (OSError, ValueError):
            return {}

    def _write(self, record: dict) -> None:
        temp = self.record_path.with_suffix(".tmp")
        temp.write_text(json.dumps(record, indent=1))
        os.replace(temp, self.record_path)

    def remember(self, part: Part) -> None:
        """The part's definition, so that it can be started again by name."""
        record = self.read()
        parts = record.setdefault("parts", {})
        parts[part.name] = {**parts.get(part.name, {}), "definition": part.__dict__}
        self._write(record)

    def part(self, name: str) -> Part:
        found = self.read().get("parts", {}).get(name)
        if not found:
            raise SystemExit(f"cluster: no part named {name!r}")
        return Part(**found["definition"])

    def names(self) -> list[str]:
        return list(self.read().get("parts", {}))

    def pid(self, name: str) -> int:
        found = self.read().get("parts", {}).get(name) or {}
        return int(found.get("pid") or 0) if self.alive(name) else 0

    def alive(self, name: str) -> bool:
        found = self.read().get("parts", {}).get(name) or {}
        return runfile.running(int(found.get("pid") or 0), found.get("command") or [])

    def start(self, part: Part, wait: float = 60) -> int:
        """Start the part unless it runs; wait until its port answers."""
        self.remember(part)
        if self.alive(part.name):
            return self.pid(part.name)
        self.logs.mkdir(parents=True, exist_ok=True)
        log = open(self.logs / f"{part.name}.log", "ab")  # noqa: SIM115 - the child keeps it
        env = {**os.environ, **part.env}
        process = subprocess.Popen(
            part.command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        record = self.read()
        record["parts"][part.name].update(
            pid=process.pid, command=runfile.command_line(process.pid) or part.command
        )
        self._write(record)
        if wait:
            self.wait_for_port(part, process, wait)
        return process.pid

    def wait_for_port(self, part: Part, process: subprocess.Popen, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if process.poll() is not None:
                tail = (self.logs / f"{part.name}.log").read_text(errors="replace")[-2000:]
                raise SystemExit(f"cluster: {part.name} exited ({process.returncode}):\n{tail}")
            if port_open(part.port):
                return
            time.sleep(0.2)
        raise SystemExit(f"cluster: {part.name} did not open port {part.port} in {seconds:.0f}s")

    def signal(self, name: str, signum: int = signal.SIGKILL) -> int:
        """Send a signal to a running part (the fault tests' SIGKILL); returns its PID."""
        pid = self.pid(name)
        if not pid:
            raise SystemExit(f"cluster: {name} is not running")
        os.kill(pid, signum)
        if signum == signal.SIGKILL:
            deadline = time.monotonic() + 10
            while self.alive(name) and time.monotonic() < deadline:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, os.WNOHANG)  # a child of this process: reap it
                time.sleep(0.05)
        return pid

    def stop(self, name: str) -> bool:
        found = self.read().get("parts", {}).get(name) or {}
        return runfile.stop(int(found.get("pid") or 0), found.get("command") or [], seconds=20)

    def status(self) -> list[dict]:
        rows = []
        for name, found in self.read().get("parts", {}).items():
            port = found["definition"]["port"]
            rows.append(
                {
                    "part": name,
                    "pid": self.pid(name),
                    "alive": self.alive(name),
                    "port": port,
                    "answers": port_open(port),
                }
            )
        return rows


def port_open(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
        return True
    return False
