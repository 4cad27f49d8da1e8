"""temporal-config/gateway.toml: where each push and notice goes (an HTTP endpoint per target,
or the outbox when none is set)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from linkage.settings.config import ConfigError, format_validation_error, read_toml
from linkage.settings.paths import config_dir


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
