"""The workers scripts/bench.py measures, each in a process of its own as in production, and
the profile of the project's worker while it works.

The project's worker is `linkage worker`; the raw shape's is `python bench_shapes.py worker`.
While a phase runs, py-spy samples the project's worker (without stopping it) and the bench
prints the top of what it found: the functions that held the CPU themselves, and the project's
own frames with all they called.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import time
from collections import Counter
from pathlib import Path

from bench_support import LINKAGE, dies_with_the_bench, progress
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
PY_SPY = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
OWN = ("workflows/", "activities/", "linkage/")  # the project's frames
ENTRY = ("linkage/interfaces/cli/", "linkage/settings/")  # the process's start: in every sample


async def ended(process: asyncio.subprocess.Process | None, seconds: float) -> None:
    """SIGTERM, and SIGKILL if it has not ended within `seconds`."""
    if process is None or process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), seconds)
    except TimeoutError:
        process.kill()
        await process.wait()


async def pollers(client: Client, queue: str) -> int:
    reply = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        )
    )
    return len(reply.pollers)


class WorkerProcess:
    """A worker in a process of its own, with its output in `log`; ends with the bench."""

    def __init__(self, name: str, command: list[str], env: dict, log: Path, queue: str) -> None:
        self.name, self.command, self.env, self.log, self.queue = name, command, env, log, queue
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self, client: Client, timeout: float = 60) -> WorkerProcess:
        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                *self.command, env=self.env, stdout=out, stderr=out,
                preexec_fn=dies_with_the_bench,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not await pollers(client, self.queue):
            if self.process.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} did not start; see {self.log}")
            await asyncio.sleep(0.3)
        progress(f"{self.name}: pid {self.pid}, polling {self.queue}")
        return self

    async def stop(self) -> None:
        await ended(self.process, 40)


def project_worker(env: dict, workdir: Path, queue: str, name: str = "worker") -> WorkerProcess:
    """`linkage worker` as production runs it, on the bench's dev server and records."""
    env = {**env, "LINKAGE_TASK_QUEUE": queue, "LINKAGE_LOG_LEVEL": "WARNING"}
    return WorkerProcess(name, [LINKAGE, "worker"], env, workdir / f"{name}.log", queue)


def raw_worker(env: dict, queue: str, workdir: Path, name: str = "raw worker") -> WorkerProcess:
    """The raw shape's worker (bench_shapes.py), likewise a process of its own, connected as
    the project's worker is (its Temporal address or TEMPORAL_* in `env`)."""
    command = [sys.executable, str(HERE / "bench_shapes.py"), "worker", queue]
    env = {**env, "PYTHONPATH": os.pathsep.join([str(HERE), str(PROJECT)])}
    log = workdir / f"{name.replace(' ', '-')}.log"
    return WorkerProcess(name, command, env, log, queue)


class Profile:
    """py-spy sampling one process while a phase runs: the thread holding the GIL only (the
    Python side's own cost; a thread waiting on a lock or a socket is not counted), without
    pausing the process; `top()` once it has stopped. Without py-spy (or leave to trace),
    it says so."""

    def __init__(self, pid: int, out: Path, rate: int = 100, on: bool = True) -> None:
        self.pid, self.out, self.rate, self.on = pid, out, rate, on
        self.process: asyncio.subprocess.Process | None = None
        self.error: str | None = None if PY_SPY else "py-spy is not installed"

    async def __aenter__(self) -> Profile:
        if self.error or not self.on:
            return self
        command = [
            PY_SPY, "record", "--pid", str(self.pid), "--rate", str(self.rate), "--nonblocking",
            "--gil", "--format", "raw", "--output", str(self.out),
        ]  # fmt: skip
        self.process = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=dies_with_the_bench,
        )
        await asyncio.sleep(0.5)
        if self.process.returncode is not None:
            err = (await self.process.stderr.read()).decode(errors="replace").strip()
            self.error = f"py-spy: {err.splitlines()[-1] if err else 'ended at once'}"
        return self

    async def __aexit__(self, *exc) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGINT)  # py-spy writes what it has and ends
        try:
            await asyncio.wait_for(self.process.wait(), 60)
        except TimeoutError:
            self.process.kill()
            self.error = "py-spy did not end"

    def top(self, count: int = 12) -> dict:
        """The functions that held the CPU themselves, and the project's functions with all
        they called, each as a share of the samples."""
        if self.error or not self.out.exists():
            return {"error": self.error or "no profile written"}
        own: Counter[str] = Counter()
        inclusive: Counter[str] = Counter()
        total = 0
        for line in self.out.read_text(encoding="utf-8", errors="replace").splitlines():
            stack, _, n = line.rpartition(" ")
            if not stack or not n.isdigit():
                continue
            samples = int(n)
            frames = [frame_name(f) for f in stack.split(";") if f]
            frames = [f for f in frames if not f.startswith("process ") and f != "thread"]
            if not frames:
                continue
            total += samples
            own[frames[-1]] += samples
            for frame in {f for f in frames if own_frame(f)}:
                inclusive[frame] += samples
        if not total:
            return {"error": "no samples"}

        def share(counter: Counter[str]) -> list[list]:
            return [[name, round(100 * n / total, 1)] for name, n in counter.most_common(count)]

        return {"samples": total, "self": share(own), "project_inclusive": share(inclusive)}


def own_frame(frame: str) -> bool:
    path = frame.split(" ")[-1]
    return path.startswith(OWN) and not path.startswith(ENTRY)


def frame_name(frame: str) -> str:
    """`fn (path/to/module.py:12)` as `fn module-path` relative to site-packages or the project."""
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", str(PROJECT) + "/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{name} {path}" if path else name


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used so far (its threads included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuUse:
    """CPU seconds each named process used between enter and exit."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids, self.used = pids, {}

    def __enter__(self) -> CpuUse:
        self.start = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        return self

    def __exit__(self, *exc) -> None:
        for name, pid in self.pids.items():
            try:
                self.used[name] = round(cpu_seconds(pid) - self.start[name], 2)
            except OSError:  # it ended meanwhile
                self.used[name] = None


class ApiProcess:
    """`linkage serve` in a process of its own, on the bench's Temporal and records: the API
    `linkage status` and `list` read through (LINKAGE_API_URL), as a desk's CLI does."""

    def __init__(self, env: dict, log: Path) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.env, self.log = {**env, "LINKAGE_LOG_LEVEL": "WARNING"}, log
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> ApiProcess:
        import urllib.request

        with self.log.open("ab") as out:
            self.process = await asyncio.create_subprocess_exec(
                LINKAGE, "serve", "--port", str(self.port), env=self.env, stdout=out,
                stderr=out, preexec_fn=dies_with_the_bench,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=2).close()
                break
            except OSError:
                if self.process.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the API did not start; see {self.log}") from None
                await asyncio.sleep(0.3)
        progress(f"api: pid {self.process.pid}, {self.url}")
        return self

    async def __aexit__(self, *_: object) -> None:
        await ended(self.process, 20)
