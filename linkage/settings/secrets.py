"""Secrets from the environment or from a file beside it: `NAME`, or the file that `NAME_FILE`
names (as Compose and Kubernetes mount secrets), so that no password or key needs to sit in a
process's environment where `ps e` and crash reports show it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from linkage.settings.errors import ConfigError

MAX_BYTES = 64 * 1024  # a secret is a URL, a token or a keyring: never megabytes


def secret(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The value of `name`, or of the file `name_FILE` names (trailing newline dropped);
    None when neither is set. Both set is refused: which one wins would be a guess."""
    environ = os.environ if environ is None else environ
    given, file = environ.get(name), environ.get(f"{name}_FILE")
    if given and file:
        raise ConfigError(f"{name} and {name}_FILE are both set: keep one")
    if not file:
        return given or None
    path = Path(file)
    try:
        with path.open("rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as err:
        raise ConfigError(f"{name}_FILE: cannot read {path}: {err.strerror}") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{name}_FILE: {path} is larger than {MAX_BYTES} bytes")
    try:
        value = data.decode().rstrip("\r\n")
    except UnicodeDecodeError:
        raise ConfigError(f"{name}_FILE: {path} is not UTF-8 text") from None
    if not value:
        raise ConfigError(f"{name}_FILE: {path} is empty")
    return value
