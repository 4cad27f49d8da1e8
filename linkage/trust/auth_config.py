"""temporal-config/auth.toml: who may present a token, and where the signing key lives.

Two kinds of token are accepted: those the district's identity provider signs (its issuer,
audience, keys (JWKS, a file or a URL) and the claims that carry the role and the unit), and
those `linkage token issue` signs with a key kept outside the repository, for a district
without one. The file is validated on load, with the file and the field named.

The leeway (the clock difference forgiven on `exp`, `iat` and `nbf`) is a few seconds: every
second of it is a second more that an expired token still opens the door.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from linkage.settings.config import ConfigError, format_validation_error, read_toml
from linkage.settings.paths import config_dir, state_dir

SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "EdDSA")
MAX_LEEWAY_SECONDS = 60.0


def _leeway(value: float) -> float:
    if not 0 <= value <= MAX_LEEWAY_SECONDS:
        raise ValueError(
            f"{value:g} s: 0 to {MAX_LEEWAY_SECONDS:g} seconds (a token is accepted this long "
            "past its expiry; a few seconds cover clocks that differ)"
        )
    return value


Leeway = Annotated[float, AfterValidator(_leeway)]


class LocalTokens(BaseModel):
    """Tokens `linkage token issue` signs (Ed25519, EdDSA)."""

    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(default="linkage-local", min_length=1, max_length=200)
    audience: str = Field(default="linkage", min_length=1, max_length=200)
    max_days: float = Field(default=400, gt=0, le=3660)
    leeway_seconds: Leeway = 5


class Provider(BaseModel):
    """The district's identity provider (OIDC): its tokens are verified against its keys."""

    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(min_length=1, max_length=300)
    audience: str = Field(min_length=1, max_length=300)
    jwks: str = Field(min_length=1, description="a JWKS file path (relative to the file) or URL")
    algorithms: list[str] = Field(default=["RS256"], min_length=1)
    role_claim: str = Field(default="linkage_role", min_length=1)
    unit_claim: str = Field(default="linkage_unit", min_length=1)
    name_claim: str = Field(default="name", min_length=1)
    leeway_seconds: Leeway = 5

    @field_validator("algorithms")
    @classmethod
    def _signed(cls, value: list[str]) -> list[str]:
        bad = [a for a in value if a not in SIGNING_ALGORITHMS]
        if bad:
            raise ValueError(f"{bad} not accepted; one of {', '.join(SIGNING_ALGORITHMS)}")
        return value

    @property
    def jwks_is_url(self) -> bool:
        return self.jwks.startswith(("https://", "http://"))


class WebUI(BaseModel):
    """The Temporal Web UI the codec server answers (CORS)."""

    model_config = ConfigDict(extra="forbid")

    origins: list[str] = Field(default=["http://localhost:8233"])


class AuthConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    local: LocalTokens = Field(default_factory=LocalTokens)
    provider: Provider | None = None
    ui: WebUI = Field(default_factory=WebUI)
    path: Path | None = Field(default=None, exclude=True)

    def jwks_path(self) -> Path:
        assert self.provider is not None
        path = Path(self.provider.jwks)
        return path if path.is_absolute() or self.path is None else self.path.parent / path


def load_auth_config(path: Path | None = None) -> AuthConfig:
    path = path or config_dir() / "auth.toml"
    if not path.exists():
        return AuthConfig()  # local tokens only, with the defaults
    try:
        config = AuthConfig.model_validate(read_toml(path))
    except ValidationError as err:
        raise ConfigError(format_validation_error(path.name, err)) from err
    config = config.model_copy(update={"path": path})
    if config.provider is not None and not config.provider.jwks_is_url:
        jwks = config.jwks_path()
        if not jwks.is_file():
            raise ConfigError(f"{path.name}: provider.jwks: {jwks} is not a file")
    return config


def key_path() -> Path:
    """The local signing key: LINKAGE_TOKEN_KEY, or token-key in the state directory (outside
    the repository's tracked files; .linkage/ is ignored)."""
    given = os.environ.get("LINKAGE_TOKEN_KEY")
    return Path(given) if given else state_dir() / "token-key"


def operator_token_path() -> Path:
    """The operator token `linkage up` leaves for this machine's CLI."""
    given = os.environ.get("LINKAGE_OPERATOR_TOKEN")
    return Path(given) if given else key_path().parent / "operator.token"
