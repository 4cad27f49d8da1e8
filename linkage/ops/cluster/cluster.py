"""The cluster as a whole: `up` builds what is missing, prepares PostgreSQL, writes the
configuration and the credentials, starts Temporal's services, makes the namespace ready with
`linkage setup`, then starts the project's workers, API instances, codec server and the UI.
Each step is safe to run again: `up` on a running cluster starts only what is not running."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from linkage.ops.cluster import build, credentials, database
from linkage.ops.cluster.certificates import SERVER_NAME, ensure_certificates
from linkage.ops.cluster.config import Database, Ports, server_env
from linkage.ops.cluster.parts import Part, gate_part, project_parts, temporal_parts, ui_part
from linkage.ops.cluster.processes import Processes
from linkage.settings.paths import state_dir

NAMESPACE = "default"
OPERATOR = "from linkage.ops.devserver import host_credentials; host_credentials()"


def cluster_dir() -> Path:
    return Path(os.environ.get("LINKAGE_CLUSTER_DIR", state_dir() / "cluster"))


@dataclass
class Cluster:
    folder: Path
    ports: Ports = Ports()
    db: Database = Database()
    workers: int = 2
    apis: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. LINKAGE_CONFIG_DIR

    @classmethod
    def here(cls, **kwargs) -> Cluster:
        return cls(folder=cluster_dir(), **kwargs)

    @property
    def processes(self) -> Processes:
        return Processes(self.folder)

    @property
    def secrets(self) -> Path:
        return self.folder / "secrets"

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.ports.grpc('frontend')}"

    def env(self, role: str = "writer") -> dict[str, str]:
        """What a linkage process needs to work against this cluster (`scripts/cluster env`)."""
        return {
            "TEMPORAL_ADDRESS": self.address,
            "TEMPORAL_NAMESPACE": NAMESPACE,
            "TEMPORAL_API_KEY": (self.secrets / f"{role}.jwt").read_text().strip(),
            "TEMPORAL_TLS": "true",
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(self.secrets / "ca.pem"),
            "TEMPORAL_TLS_SERVER_NAME": SERVER_NAME,
            "LINKAGE_DATABASE_URL": database.records_url(self.db),
            "LINKAGE_STATE_DIR": str(self.folder / "linkage"),
            **self.extra_env,
        }

    def prepare(self, say=print) -> None:
        costs = build.build(say)
        say(f"cluster: binaries ready ({json.dumps(costs)})")
        database.prepare(self.db)
        credentials.ensure_key(self.secrets)
        credentials.role_tokens(self.secrets, NAMESPACE)
        ensure_certificates(self.secrets)
        self._write_ui_config()

    def temporal(self) -> list[Part]:
        def env(service: str) -> dict[str, str]:
            return server_env(service, self.ports, self.db, self.secrets)

        return temporal_parts(env, self.ports)

    def project(self) -> list[Part]:
        return project_parts(self.ports, self.workers, self.apis, self.env(), self.env("reader"))

    def web_ui(self) -> list[Part]:
        return [
            ui_part(self.folder, self.ports),
            gate_part(self.ports, self.secrets, self.env("reader")),
        ]

    def up(self, say=print) -> None:
        self.prepare(say)
        for part in self.temporal():
            self.processes.start(part)
            say(f"cluster: {part.name} up on {part.port}")
        self.setup(say)
        for part in [*self.project(), *self.web_ui()]:
            self.processes.start(part, wait=120)
            say(f"cluster: {part.name} up on {part.port}")

    def setup(self, say=print) -> None:
        """The host's operator token for this cluster's records, then `linkage setup` with the
        cluster's administrator token."""
        env = {**os.environ, **self.env("admin")}
        _python(env, "-c", OPERATOR)
        say(_python(env, "-m", "linkage.interfaces.cli.main", "setup").rstrip())

    def down(self) -> list[str]:
        """The project's parts first, then Temporal's frontends before history."""
        stopped = []
        order = [*reversed(self.processes.names())]
        for name in order:
            if self.processes.stop(name):
                stopped.append(name)
        return stopped

    def _write_ui_config(self) -> None:
        ui = {
            "temporalGrpcAddress": self.address,
            "tls": {
                "caFile": str(self.secrets / "ca.pem"),
                "serverName": SERVER_NAME,
                "enableHostVerification": True,  # else the UI server skips the check
            },
            "host": "127.0.0.1",
            "port": self.ports.ui,
            "enableUi": True,
            "defaultNamespace": NAMESPACE,
            "disableWriteActions": True,
            "disableNewsFetch": True,  # nothing fetched from outside: there may be no way out
            "notifyOnNewVersion": False,
            # the UI's codec calls go through the gate, which adds the person's own token
            "codec": {
                "endpoint": f"http://127.0.0.1:{self.ports.gate}/codec",
                "includeCredentials": True,
            },
            "cors": {"cookieInsecure": True},
            "forwardHeaders": ["Authorization"],
        }
        folder = self.folder / "ui"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "cluster.yaml").write_text(json.dumps(ui, indent=2) + "\n")


def _python(env: dict[str, str], *args: str) -> str:
    """A step of this installation in a process of its own; its output, or SystemExit."""
    done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"cluster: {' '.join(args[-2:])} failed:\n{done.stdout}{done.stderr}")
    return done.stdout
