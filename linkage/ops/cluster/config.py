"""The Temporal server's configuration for the cluster on this machine: PostgreSQL for
persistence and for SQL visibility, one process per service on loopback, TLS (mTLS among the
services), and Temporal's JWT authorization on the frontend.

Written as JSON (which is YAML) so no YAML library is needed; one file per service, since each
process serves its metrics on a port of its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from linkage.ops.cluster.certificates import SERVER_NAME

# The shard count can never change once the cluster has run: 8 spreads a trial's load over the
# history service's workers; a province sizes it from the benchmark (many more, fixed up front).
HISTORY_SHARDS = 8
SERVICES = ("history", "matching", "internal-frontend", "frontend", "worker")
# Connections to PostgreSQL per service process (the history service writes the most); with the
# project's own pools, one cluster stays well within PostgreSQL's max_connections.
CONNECTIONS = {"history": 12, "matching": 8, "frontend": 6, "internal-frontend": 4, "worker": 4}


@dataclass(frozen=True)
class Ports:
    """Every port the cluster takes, from one base (the frontend's), all on loopback."""

    base: int = 17233

    def __post_init__(self) -> None:
        if not 1024 <= self.base <= 32000:
            raise ValueError(f"cluster ports: base {self.base} is not within 1024..32000")

    def grpc(self, service: str) -> int:
        offset = {"frontend": 0, "history": 1, "matching": 2, "internal-frontend": 3, "worker": 6}
        return self.base + offset[service]

    def membership(self, service: str) -> int:
        """Temporal keeps it in a smallint column: below 32768."""
        return self.grpc(service) + 100

    def metrics(self, service: str) -> int:
        return self.base + 800 + SERVICES.index(service)

    @property
    def frontend_http(self) -> int:
        return self.base + 10

    @property
    def ui(self) -> int:
        return self.base + 1000

    @property
    def codec(self) -> int:
        return self.base + 1148

    @property
    def gate(self) -> int:
        """The Web UI's gate: where people open the UI."""
        return self.base + 1149

    def api(self, index: int) -> int:
        return self.base + 1150 + index

    def worker_health(self, index: int) -> int:
        return self.base + 1160 + index


@dataclass(frozen=True)
class Database:
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "temporal"
    password: str = "temporal"
    prefix: str = ""  # a second cluster beside the first (the tests') uses databases of its own

    @property
    def temporal(self) -> str:
        return f"{self.prefix}temporal"

    @property
    def visibility(self) -> str:
        return f"{self.prefix}temporal_visibility"

    @property
    def records(self) -> str:
        return f"{self.prefix}linkage_cluster"


def _datastore(db: Database, name: str, conns: int) -> dict:
    return {
        "sql": {
            "pluginName": "postgres12",
            "databaseName": name,
            "connectAddr": f"{db.host}:{db.port}",
            "connectProtocol": "tcp",
            "user": db.user,
            "password": db.password,
            "maxConns": conns,
            "maxIdleConns": conns,
            "maxConnLifetime": "1h",
        }
    }


def tls_config(secrets: Path) -> dict:
    """The frontend's certificate for every client (which then sends its token); the services
    among themselves present the internode certificate both ways (mTLS)."""
    ca = str(secrets / "ca.pem")

    def server(name: str, mutual: bool) -> dict:
        found = {
            "certFile": str(secrets / f"{name}.pem"),
            "keyFile": str(secrets / f"{name}-key.pem"),
        }
        return {**found, "requireClientAuth": True, "clientCaFiles": [ca]} if mutual else found

    client = {"serverName": SERVER_NAME, "rootCaFiles": [ca]}
    return {
        "internode": {"server": server("internode", True), "client": client},
        "frontend": {"server": server("frontend", False), "client": client},
        "systemWorker": {
            "certFile": str(secrets / "internode.pem"),
            "keyFile": str(secrets / "internode-key.pem"),
            "client": client,
        },
    }


def server_config(service: str, ports: Ports, db: Database, secrets: Path, dynamic: Path) -> dict:
    services = {
        name: {
            "rpc": {
                "grpcPort": ports.grpc(name),
                "membershipPort": ports.membership(name),
                "bindOnLocalHost": True,
                **({"httpPort": ports.frontend_http} if name == "frontend" else {}),
            }
        }
        for name in SERVICES
    }
    return {
        "log": {"stdout": True, "level": "warn"},
        "persistence": {
            "defaultStore": "postgres-default",
            "visibilityStore": "postgres-visibility",
            "numHistoryShards": HISTORY_SHARDS,
            "datastores": {
                "postgres-default": _datastore(db, db.temporal, CONNECTIONS[service]),
                "postgres-visibility": _datastore(db, db.visibility, 2),
            },
        },
        "global": {
            "membership": {"maxJoinDuration": "30s", "broadcastAddress": "127.0.0.1"},
            "metrics": {
                "prometheus": {
                    "framework": "tally",
                    "timerType": "histogram",
                    "listenAddress": f"127.0.0.1:{ports.metrics(service)}",
                }
            },
            "tls": tls_config(secrets),
            # Temporal's own authorizer and claim mapper: no token, no access
            "authorization": {
                "authorizer": "default",
                "claimMapper": "default",
                "permissionsClaimName": "permissions",
                "jwtKeyProvider": {
                    "keySourceURIs": [(secrets / "jwks.json").resolve().as_uri()],
                    "refreshInterval": "1m",
                },
            },
        },
        "services": services,
        "clusterMetadata": {
            "enableGlobalNamespace": False,
            "failoverVersionIncrement": 10,
            "masterClusterName": "active",
            "currentClusterName": "active",
            "clusterInformation": {
                "active": {
                    "enabled": True,
                    "initialFailoverVersion": 1,
                    "rpcName": "frontend",
                    "rpcAddress": f"127.0.0.1:{ports.grpc('frontend')}",
                    "httpAddress": f"127.0.0.1:{ports.frontend_http}",
                }
            },
        },
        "dcRedirectionPolicy": {"policy": "noop"},
        "dynamicConfigClient": {"filepath": str(dynamic), "pollInterval": "10s"},
    }


def _on(value) -> list[dict]:
    return [{"value": value, "constraints": {}}]


# What the project uses beyond a plain server's defaults (the dev server turns these on itself).
DYNAMIC_CONFIG = {
    "frontend.enableUpdateWorkflowExecution": _on(True),
    "frontend.enableUpdateWorkflowExecutionAsyncAccepted": _on(True),
    "system.forceSearchAttributesCacheRefreshOnRead": _on(True),
    "frontend.workerVersioningWorkflowAPIs": _on(True),
    "system.enableDeploymentVersions": _on(True),
}


def write_configs(folder: Path, ports: Ports, db: Database, secrets: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    dynamic = folder / "dynamicconfig.yaml"
    dynamic.write_text(json.dumps(DYNAMIC_CONFIG, indent=2) + "\n")
    written = {}
    for service in SERVICES:
        path = folder / f"{service}.yaml"
        config = server_config(service, ports, db, secrets, dynamic)
        path.write_text(json.dumps(config, indent=2) + "\n")
        written[service] = path
    return written
