"""Settings from the environment and the district's files in temporal-config/.

The files are validated on load: a mistake names the file, the field and the problem, and the
worker refuses to start rather than run incidents on a half-read table.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from linkage.settings.errors import ConfigError as ConfigError  # raised from here too
from linkage.settings.paths import state_dir
from linkage.settings.secrets import secret


def _temporal_address() -> str:
    """`LINKAGE_TEMPORAL_ADDRESS`; else the dev server a `linkage up` of this state directory
    runs (whatever its port); else localhost:7233."""
    configured = os.environ.get("LINKAGE_TEMPORAL_ADDRESS")
    if configured:
        return configured
    from linkage.settings import runfile

    return runfile.temporal_address() or "localhost:7233"


def _database_url() -> str:
    return secret("LINKAGE_DATABASE_URL") or f"sqlite:///{state_dir() / 'records.db'}"


@dataclass(frozen=True)
class Settings:
    temporal_address: str = field(default_factory=_temporal_address)
    namespace: str = field(default_factory=lambda: os.environ.get("LINKAGE_NAMESPACE", "default"))
    task_queue: str = field(default_factory=lambda: os.environ.get("LINKAGE_TASK_QUEUE", "linkage"))
    database_url: str = field(default_factory=lambda: _database_url())


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
