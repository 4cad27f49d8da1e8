"""Signed commands: proof that an update or a signal was made by the project's front door (the
API or the CLI, acting for an authenticated principal) or by one of its own workflows, not
sent straight to Temporal's port by whoever can reach it.

The proof is an HMAC over what the command is (kind, workflow, name, update ID) and what it
carries (its arguments, the actor and request ID among them), with a key the front door and
the workers share; it travels in a Temporal header, beside the payload. Keys have IDs: the
newest signs, every key listed verifies, so a rotation adds a key and keeps the old one for
as long as histories it signed may be replayed. The keyring is `LINKAGE_COMMAND_KEYS`
(`id:base64key,…`, newest first, or from `LINKAGE_COMMAND_KEYS_FILE`), else `command-keys`
in the state directory, made on first use (mode 0600).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from linkage.settings.errors import ConfigError
from linkage.settings.paths import state_dir
from linkage.settings.secrets import refuse_to_invent, secret

KEYS_ENV = "LINKAGE_COMMAND_KEYS"
KEYS_FILE = "command-keys"
HEADER = "linkage-proof"
MAX_KEYS = 16


@dataclass(frozen=True)
class CommandKeys:
    keys: tuple[tuple[str, bytes], ...]  # newest first

    @classmethod
    def parse(cls, text: str, source: str = KEYS_ENV) -> CommandKeys:
        keys = []
        for item in filter(None, (part.strip() for part in text.split(","))):
            key_id, _, encoded = item.partition(":")
            try:
                key = base64.b64decode(encoded, validate=True)
            except ValueError:
                raise ConfigError(f"{source}: key {key_id!r} is not base64") from None
            if not key_id or len(key) < 32:
                raise ConfigError(f"{source}: key {key_id!r} needs an ID and 32 bytes or more")
            keys.append((key_id, key))
        if not keys or len(keys) > MAX_KEYS:
            raise ConfigError(f"{source}: 1 to {MAX_KEYS} keys, newest first")
        return cls(tuple(keys))

    def sign(self, what: Sequence[str], args: Sequence[Any]) -> str:
        key_id, key = self.keys[0]
        return f"{key_id}:{_mac(key, what, args)}"

    def check(self, proof: str | None, what: Sequence[str], args: Sequence[Any]) -> str | None:
        """None when the proof holds; otherwise why not (for the refusal and the log)."""
        if not proof:
            return "the command carries no proof of the front door"
        key_id, _, mac = proof.partition(":")
        key = dict(self.keys).get(key_id)
        if key is None:
            return f"the command is signed with an unknown key {key_id[:20]!r}"
        if not hmac.compare_digest(mac, _mac(key, what, args)):
            return "the command's proof does not match what it carries"
        return None


def canonical(value: Any) -> Any:
    """The same text on both sides of Temporal: models as JSON without their defaults (so a
    field added later with a default signs the same), the rest as JSON."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_defaults=True)
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    return value


def _mac(key: bytes, what: Sequence[str], args: Sequence[Any]) -> str:
    text = json.dumps(
        [list(what), canonical(list(args))],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        default=str,
    )
    digest = hmac.new(key, text.encode(), hashlib.sha256).digest()
    # base64, not hex: a hex digest often holds a run of eleven digits, which reads as a phone
    # number to anyone scanning histories for personal data (the header is not encrypted)
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def load_command_keys() -> CommandKeys:
    configured = secret(KEYS_ENV)
    if configured:
        return CommandKeys.parse(configured)
    path = state_dir() / KEYS_FILE
    if not path.exists():
        refuse_to_invent(KEYS_ENV)
        # Written aside and linked into place: a process starting beside us never reads half
        # a key, and only one key ever wins.
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".command-keys-")
        try:
            os.write(fd, f"c1:{base64.b64encode(secrets.token_bytes(32)).decode()}\n".encode())
            os.close(fd)
            os.chmod(temp, 0o600)
            with contextlib.suppress(FileExistsError):
                os.link(temp, path)
        finally:
            os.unlink(temp)
    return CommandKeys.parse(path.read_text(), str(path))
