"""Encryption of everything that crosses Temporal: an AES-GCM payload codec with key IDs.

Workflow inputs, results, updates, signals, queries, memos and failures' details are encrypted
by the client and the worker before Temporal stores them, so a history, the Web UI without the
codec server, or a copy of the server's database shows ciphertext. Search attributes are never
encrypted; they hold no personal data.

Keys have IDs. The newest key encrypts; every key still listed decrypts, so a key is rotated
(`linkage keys rotate`) without losing old histories. The keyring is `LINKAGE_CODEC_KEYS`
(`id:base64key,id:base64key`, newest first) or, for a machine of its own, a file in the state
dir made on first use (mode 0600), which every worker and client of the district must share.
A payload that is not encrypted (a history written before the codec) passes through as it is.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import secrets
import tempfile
import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from linkage.settings.config import ConfigError
from linkage.settings.paths import state_dir
from linkage.settings.secrets import refuse_to_invent, secret

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
KEYS_ENV = "LINKAGE_CODEC_KEYS"
KEYS_FILE = "codec-keys.json"
NONCE_BYTES = 12


class Keyring:
    """Key ID → 256-bit key; the first is the one that encrypts."""

    def __init__(self, keys: list[tuple[str, bytes]]) -> None:
        if not keys:
            raise ConfigError("the codec keyring is empty")
        for key_id, key in keys:
            if len(key) != 32:
                raise ConfigError(f"codec key {key_id}: {len(key)} bytes, a key is 32")
            if not key_id or ":" in key_id or "," in key_id:
                raise ConfigError(f"codec key ID {key_id!r}: no ':' or ',' and not empty")
        self.keys = dict(keys)
        self.current = keys[0][0]

    @classmethod
    def parse(cls, text: str) -> Keyring:
        keys = []
        for item in filter(None, (part.strip() for part in text.split(","))):
            key_id, _, encoded = item.partition(":")
            try:
                keys.append((key_id, base64.b64decode(encoded, validate=True)))
            except ValueError:
                raise ConfigError(f"{KEYS_ENV}: key {key_id!r} is not base64") from None
        return cls(keys)


def _keys_path() -> Path:
    return state_dir() / KEYS_FILE


def _read_file(path: Path) -> Keyring:
    try:
        entries = json.loads(path.read_text())
        return Keyring([(e["id"], base64.b64decode(e["key"])) for e in entries["keys"]])
    except (ValueError, KeyError, TypeError) as err:
        raise ConfigError(f"{path}: not a codec keyring ({err})") from None


def _write_file(path: Path, keyring_entries: list[dict]) -> None:
    """Written aside and moved into place, mode 0600, so no process reads half a keyring."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".codec-keys-")
    try:
        os.write(fd, json.dumps({"keys": keyring_entries}, indent=1).encode())
        os.close(fd)
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)


def _new_entry(key_id: str) -> dict:
    return {
        "id": key_id,
        "key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def load_keyring() -> Keyring:
    configured = secret(KEYS_ENV)
    if configured:
        return Keyring.parse(configured)
    path = _keys_path()
    if not path.exists():
        refuse_to_invent(KEYS_ENV)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".codec-keys-")
        try:
            os.write(fd, json.dumps({"keys": [_new_entry("k1")]}, indent=1).encode())
            os.close(fd)
            os.chmod(temp, 0o600)
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.link(temp, path)
        finally:
            os.unlink(temp)
    return _read_file(path)


@contextlib.contextmanager
def _keyring_locked(path: Path):
    """Rotations take turns (a lock file beside the keyring), so that two at once both add
    their key instead of the second overwriting the first's."""
    descriptor = os.open(path.with_name(f".{path.name}.lock"), os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def rotate_keys() -> str:
    """A new key that encrypts from now on; the old ones stay to decrypt. Returns its ID."""
    if os.environ.get(KEYS_ENV) or os.environ.get(f"{KEYS_ENV}_FILE"):
        raise ConfigError(f"{KEYS_ENV} is set: rotate by putting a new id:key first in it")
    load_keyring()  # made if missing
    path = _keys_path()
    with _keyring_locked(path):
        entries = json.loads(path.read_text())["keys"]
        used = {e["id"] for e in entries}
        number = len(entries) + 1
        while f"k{number}" in used:
            number += 1
        entries.insert(0, _new_entry(f"k{number}"))
        _write_file(path, entries)
    return f"k{number}"


class EncryptionCodec(PayloadCodec):
    """AES-GCM over each whole payload (its metadata and data), with the key's ID beside it."""

    def __init__(self, keyring: Keyring | None = None) -> None:
        self._keyring = keyring
        self._given = keyring is not None  # a keyring given is kept; one read is read again
        self._lock = threading.Lock()

    @property
    def keyring(self) -> Keyring:
        if self._keyring is None:  # read when first needed, not at import
            with self._lock:
                if self._keyring is None:
                    self._keyring = load_keyring()
        return self._keyring

    def reload(self) -> None:
        """Read the keyring again (after a rotation); a keyring given is kept."""
        if self._given:
            return
        with self._lock:
            self._keyring = None

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        keyring = self.keyring
        aead = AESGCM(keyring.keys[keyring.current])
        out = []
        for payload in payloads:
            nonce = secrets.token_bytes(NONCE_BYTES)
            sealed = aead.encrypt(nonce, payload.SerializeToString(), keyring.current.encode())
            out.append(
                Payload(
                    metadata={"encoding": ENCODING, KEY_ID: keyring.current.encode()},
                    data=nonce + sealed,
                )
            )
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for payload in payloads:
            if payload.metadata.get("encoding", b"") != ENCODING:
                out.append(payload)  # written before the codec: as it is
                continue
            key_id = payload.metadata.get(KEY_ID, b"").decode()
            key = self.keyring.keys.get(key_id)
            if key is None:
                self.reload()  # rotated by another process since we read the keyring
                key = self.keyring.keys.get(key_id)
            if key is None:
                raise ValueError(f"payload encrypted with codec key {key_id!r}, not in the keyring")
            nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
            try:
                plain = AESGCM(key).decrypt(nonce, sealed, key_id.encode())
            except InvalidTag:
                raise ValueError(
                    f"payload encrypted with codec key {key_id!r} does not open with this "
                    f"keyring's {key_id!r}: the keyrings differ; every worker and client of the "
                    f"district must share one ({KEYS_ENV}, or the state directory's {KEYS_FILE})"
                ) from None
            decoded = Payload()
            decoded.ParseFromString(plain)
            out.append(decoded)
        return out


CODEC = EncryptionCodec()


def load_codec() -> EncryptionCodec:
    """The process's codec (the codec server decodes with it too)."""
    return CODEC
