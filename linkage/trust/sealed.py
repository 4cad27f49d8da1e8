"""Personal data at rest: columns sealed with AES-GCM in the records database.

The caller's name, phone and ID number, descriptions, step notes and outbox payloads are stored
as `enc:<key id>:<base64 nonce+ciphertext>`, sealed with the codec's keyring (linkage.trust.codec),
so a copy of the database, or a look at its raw columns, shows no one. Matching never needs the
plain value: the intake matches on HMAC keys (linkage.trust.keys). A value written before sealing
(no `enc:` prefix) is read as it is, and sealed when the row is next written.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

from linkage.trust.codec import CODEC, NONCE_BYTES

PREFIX = "enc:"
PURPOSE = b"linkage-records"


def seal(text: str) -> str:
    if not text:
        return text
    keyring = CODEC.keyring
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(keyring.keys[keyring.current]).encrypt(nonce, text.encode(), PURPOSE)
    return f"{PREFIX}{keyring.current}:{base64.b64encode(nonce + sealed).decode()}"


def unseal(value: str | None) -> str | None:
    if not value or not value.startswith(PREFIX):
        return value
    key_id, _, encoded = value[len(PREFIX) :].partition(":")
    key = CODEC.keyring.keys.get(key_id)
    if key is None:
        CODEC.reload()
        key = CODEC.keyring.keys.get(key_id)
    if key is None:
        raise ValueError(f"a sealed column uses key {key_id!r}, which is not in the keyring")
    raw = base64.b64decode(encoded)
    return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], PURPOSE).decode()


class SealedText(TypeDecorator):
    """Text sealed at rest; read back in the clear."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect) -> str | None:
        return None if value is None else seal(value)

    def process_result_value(self, value: str | None, dialect) -> str | None:
        return unseal(value)


class SealedJSON(TypeDecorator):
    """A JSON document sealed at rest (an outbox message's payload)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect) -> str | None:
        if value is None:
            return None
        return seal(json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def process_result_value(self, value: Any, dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, dict | list):  # a JSON column written before sealing
            return value
        return json.loads(unseal(value))
