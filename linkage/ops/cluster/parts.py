"""What runs in the cluster, process by process: the command line, the environment and the
port that says it is up. Temporal's services first (history before the frontends, the
frontends before Temporal's own worker service), then the project's parts."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from linkage.ops.cluster.build import binary
from linkage.ops.cluster.config import SERVER_CONFIG, SERVICES, Ports


@dataclass(frozen=True)
class Part:
    name: str
    command: list[str]
    port: int
    env: dict[str, str] = field(default_factory=dict)
    temporal: bool = False  # one of Temporal's own services


def temporal_parts(env: Callable[[str], dict[str, str]], ports: Ports) -> list[Part]:
    """Each service from the production configuration, with its environment (`env(service)`)."""
    return [
        Part(
            name=service,
            command=[
                str(binary("temporal-server")),
                *("--config-file", str(SERVER_CONFIG)),
                *("start", "--service", service),
            ],
            port=ports.grpc(service),
            env=env(service),
            temporal=True,
        )
        for service in SERVICES
    ]


def _linkage(*args: str) -> list[str]:
    return [sys.executable, "-m", "linkage.interfaces.cli.main", *args]


def project_parts(
    ports: Ports, workers: int, apis: int, env: dict[str, str], reader_env: dict[str, str]
) -> list[Part]:
    """The workers and the API instances write; the codec server only reads (its /readyz)."""
    parts = [
        Part(
            name=f"worker-{i}",
            command=_linkage("worker"),
            port=ports.worker_health(i),
            env={
                **env,
                "LINKAGE_WORKER_HEALTH_PORT": str(ports.worker_health(i)),
                "LINKAGE_METRICS_ADDRESS": f"127.0.0.1:{ports.worker_metrics(i)}",
            },
        )
        for i in range(1, workers + 1)
    ]
    parts += [
        Part(f"api-{i}", _linkage("serve", "--port", str(ports.api(i))), ports.api(i), env)
        for i in range(1, apis + 1)
    ]
    ui_origin = f"http://127.0.0.1:{ports.gate}"
    codec = _linkage(
        "codec-server",
        *("--port", str(ports.codec)),
        *("--ui-origin", ui_origin, "--ui-origin", f"http://localhost:{ports.gate}"),
    )
    parts.append(Part("codec", codec, ports.codec, reader_env))
    return parts


def ui_part(config_dir: Path, ports: Ports) -> Part:
    """Temporal's UI server, built from its Go module, reading with the supervisors' token."""
    return Part(
        name="ui",
        command=[
            str(binary("temporal-ui-server")),
            *("--root", str(config_dir), "--config", "ui", "--env", "cluster", "start"),
        ],
        port=ports.ui,
    )


def gate_part(ports: Ports, secrets: Path, env: dict[str, str]) -> Part:
    """Where people open the UI: they sign in with their own token; the reader credential
    stays in the gate."""
    command = _linkage(
        *("ui-gate", "--port", str(ports.gate)),
        *("--ui", f"http://127.0.0.1:{ports.ui}", "--codec", f"http://127.0.0.1:{ports.codec}"),
        *("--reader-token-file", str(secrets / "reader.jwt")),
    )
    return Part("gate", command, ports.gate, env)
