"""The CLI's credentials as they are written down: LINKAGE_TOKEN, a profile of profiles.toml
(its token, and the API it reads through), the operator token `linkage up` leaves.

Light on purpose (no records, no Temporal): a command that reads through the HTTP API needs the
token and the address only; the API verifies the token, authorises and audits."""

from __future__ import annotations

import os
from pathlib import Path

from linkage.client.errors import LinkageError
from linkage.settings.config import ConfigError, read_toml


def profiles_path() -> Path:
    given = os.environ.get("LINKAGE_PROFILES")
    if given:
        return Path(given)
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "linkage" / "profiles.toml"


def _profile(name: str | None) -> tuple[str, dict] | None:
    """The chosen profile (`name`, else the file's `default`) and its table; None when no
    profile is chosen."""
    path = profiles_path()
    if not path.exists():
        if name:
            raise LinkageError(f"--profile {name}: no profiles file at {path}")
        return None
    data = read_toml(path)
    name = name or data.get("default")
    if not name:
        return None
    profile = (data.get("profiles") or {}).get(name)
    if not isinstance(profile, dict):
        known = ", ".join(sorted(data.get("profiles") or {})) or "none"
        raise ConfigError(f"{path.name}: profiles.{name}: no such profile (profiles: {known})")
    return name, profile


def profile_token(name: str | None) -> str | None:
    """The token of a profile: `[profiles.NAME] token = "…"` or `token_file = "…"`."""
    chosen = _profile(name)
    if chosen is None:
        return None
    name, profile = chosen
    where = profiles_path().name
    if profile.get("token"):
        return str(profile["token"]).strip()
    if profile.get("token_file"):
        file = Path(str(profile["token_file"])).expanduser()
        try:
            return file.read_text(encoding="utf-8").strip()
        except OSError as err:
            raise ConfigError(f"{where}: profiles.{name}.token_file: {err}") from None
    raise ConfigError(f"{where}: profiles.{name}: needs token or token_file")


def profile_api(name: str | None) -> str | None:
    """The API a profile reads through: `[profiles.NAME] api = "https://…"`."""
    chosen = _profile(name)
    api = chosen[1].get("api") if chosen else None
    if api is not None and not (isinstance(api, str) and api.startswith(("http://", "https://"))):
        raise ConfigError(
            f"{profiles_path().name}: profiles.{chosen[0]}.api: must be an http:// or https:// "
            f"address (got {api!r})"
        )
    return api or None


def written_token(profile: str | None) -> str | None:
    """The token this run acts with, as current_principal picks it (LINKAGE_TOKEN, the
    profile's, the operator token on the worker host); None when only the host's signing key
    would name the principal."""
    from linkage.trust.auth_config import operator_token_path

    token = os.environ.get("LINKAGE_TOKEN") or profile_token(
        profile or os.environ.get("LINKAGE_PROFILE")
    )
    if token:
        return token
    operator = operator_token_path()
    if operator.exists():
        return operator.read_text(encoding="utf-8").strip() or None
    return None
