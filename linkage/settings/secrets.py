"""Secrets from the environment or from a file beside it: `NAME`, or the file that `NAME_FILE`
names (as Compose and Kubernetes mount secrets), so that no password or key needs to sit in a
process's environment where `ps e` and crash reports show it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from linkage.settings.errors import ConfigError

MAX_BYTES = 64 * 1024  # a secret is a URL, a token or a keyring: never megabytes
REQUIRE_ENV = "LINKAGE_DEPLOYED"  # set in the image: a deployed process makes no key


def refuse_to_invent(name: str) -> None:
    """On one machine a missing key is made in the state directory on first use; a deployed
    process (LINKAGE_DEPLOYED=1, as the image sets) must be given it, or each container
    would make a key of its own and no two would agree."""
    if os.environ.get(REQUIRE_ENV, "") not in ("", "0"):
        raise ConfigError(
            f"{name} (or {name}_FILE) is not set, and {REQUIRE_ENV} forbids making one here: "
            f"give every process the district's own"
        )


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
