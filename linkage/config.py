"""Settings from the environment and the district's files in temporal-config/.

The files are validated on load: a mistake names the file, the field and the problem, and the
worker refuses to start rather than run incidents on a half-read table.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from linkage.contract import from_edge
from linkage.models import TimeLimits

PROJECT_ROOT = Path(__file__).resolve().parents[1]


class ConfigError(ValueError):
    """A district file that cannot be used as it stands."""


def config_dir() -> Path:
    return Path(os.environ.get("LINKAGE_CONFIG_DIR", PROJECT_ROOT / "temporal-config"))


def state_dir() -> Path:
    """Where the default SQLite files live (the records and the dev server's state)."""
    path = Path(os.environ.get("LINKAGE_STATE_DIR", PROJECT_ROOT / ".linkage"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _temporal_address() -> str:
    """`LINKAGE_TEMPORAL_ADDRESS`; else the dev server a `linkage up` of this state directory
    runs (whatever its port); else localhost:7233."""
    configured = os.environ.get("LINKAGE_TEMPORAL_ADDRESS")
    if configured:
        return configured
    from linkage import runfile

    return runfile.temporal_address() or "localhost:7233"


@dataclass(frozen=True)
class Settings:
    temporal_address: str = field(default_factory=_temporal_address)
    namespace: str = field(default_factory=lambda: os.environ.get("LINKAGE_NAMESPACE", "default"))
    task_queue: str = field(default_factory=lambda: os.environ.get("LINKAGE_TASK_QUEUE", "linkage"))
    database_url: str = field(
        default_factory=lambda: os.environ.get(
            "LINKAGE_DATABASE_URL", f"sqlite:///{state_dir() / 'records.db'}"
        )
    )


def format_validation_error(source: str, err: ValidationError) -> str:
    """One line per problem: where it is and what is wrong, for a person to fix."""
    lines = []
    for problem in err.errors():
        where = ".".join(str(p) for p in problem["loc"]) or "(whole document)"
        lines.append(f"{source}: {where}: {problem['msg']}")
    return "\n".join(lines)


def read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: file not found") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from err


_LOADED: dict[tuple[Path, int, int], TimeLimits] = {}


def load_time_limits(path: Path | None = None) -> TimeLimits:
    """The table as the file stands now: read again whenever the file changes (every incident
    opens under the version in force), and validated only then."""
    path = path or config_dir() / "time-limits.toml"
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key not in _LOADED:
        _LOADED.clear()
        _LOADED[key] = _read_time_limits(path)
    return _LOADED[key].model_copy(deep=True)


def _read_time_limits(path: Path) -> TimeLimits:
    try:
        # TimeLimits crosses Temporal, so it ignores unknown keys when a history decodes; in the
        # district's file an unknown key is a mistake (a misspelt limit), named and refused.
        return from_edge(TimeLimits, read_toml(path))
    except ValidationError as err:
        raise ConfigError(format_validation_error(path.name, err)) from err


class GatewayConfig(BaseModel):
    """Per-target HTTP endpoints; an empty one means the outbox."""

    model_config = ConfigDict(extra="forbid")

    endpoints: dict[str, str]
    http: dict[str, float] = {"timeout_seconds": 10}


def load_gateway_config(path: Path | None = None) -> GatewayConfig:
    path = path or config_dir() / "gateway.toml"
    try:
        config = GatewayConfig.model_validate(read_toml(path))
    except ValidationError as err:
        raise ConfigError(format_validation_error(path.name, err)) from err
    unknown = set(config.endpoints) - {"police", "hotline", "sms", "emergency"}
    if unknown:
        raise ConfigError(f"{path.name}: endpoints: unknown target(s) {sorted(unknown)}")
    return config
