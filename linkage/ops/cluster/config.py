"""The Temporal server's configuration for the cluster on this machine: the production
configuration itself (`temporal-config/production/temporal/config.yaml`, which the server
renders from its environment), with each service's ports, PostgreSQL, TLS files and token keys
given in that environment. PostgreSQL for persistence and SQL visibility, one process per
service on loopback, mTLS among the services and Temporal's JWT authorization on the frontend.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from linkage.ops.cluster.certificates import SERVER_NAME
from linkage.settings.paths import PROJECT_ROOT

PRODUCTION = PROJECT_ROOT / "temporal-config" / "production" / "temporal"
SERVER_CONFIG = PRODUCTION / "config.yaml"
DYNAMIC_CONFIG = PRODUCTION / "dynamicconfig.yaml"

# The shard count can never change once the cluster has run: 8 spreads a trial's load over the
# history service's workers on one machine; a province runs 512 (docs/operations.md).
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

    def worker_metrics(self, index: int) -> int:
        """The worker's SDK exporter (LINKAGE_METRICS_ADDRESS): one port each."""
        return self.base + 1170 + index


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


def server_env(service: str, ports: Ports, db: Database, secrets: Path) -> dict[str, str]:
    """What the production configuration asks of its environment, for one service here: every
    service's ports (each process finds the others through PostgreSQL, but the file names them
    all), its own metrics port, and its own share of PostgreSQL's connections."""
    port_env = {
        f"{name.upper().replace('-', '_')}_{kind}_PORT": str(port)
        for name in SERVICES
        for kind, port in (("GRPC", ports.grpc(name)), ("MEMBERSHIP", ports.membership(name)))
    }
    return {
        **port_env,
        "FRONTEND_HTTP_PORT": str(ports.frontend_http),
        "BIND_ON_IP": "127.0.0.1",
        "TEMPORAL_BROADCAST_ADDRESS": "127.0.0.1",
        "NUM_HISTORY_SHARDS": str(HISTORY_SHARDS),
        "POSTGRES_SEEDS": db.host,
        "DB_PORT": str(db.port),
        "POSTGRES_USER": db.user,
        "POSTGRES_PWD": db.password,
        "DBNAME": db.temporal,
        "VISIBILITY_DBNAME": db.visibility,
        "SQL_MAX_CONNS": str(CONNECTIONS[service]),
        "SQL_VIS_MAX_CONNS": "2",
        "TEMPORAL_TLS_DIR": str(secrets.resolve()),
        "TEMPORAL_TLS_SERVER_NAME": SERVER_NAME,
        "TEMPORAL_JWT_KEY_SOURCE": (secrets / "jwks.json").resolve().as_uri(),
        "PROMETHEUS_ENDPOINT": f"127.0.0.1:{ports.metrics(service)}",
        "DYNAMIC_CONFIG_FILE_PATH": str(DYNAMIC_CONFIG),
        "LOG_LEVEL": "warn",
    }
