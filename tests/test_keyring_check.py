"""A process whose codec keys cannot open what the district's other processes sealed is refused
when it starts, naming the key IDs, instead of failing workflow tasks forever."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from linkage.records.store import Store
from linkage.trust.codec import CODEC, EncryptionCodec, Keyring
from tests.conftest import TASK_QUEUE

ROOT = Path(__file__).resolve().parents[1]


def other_keyring(*ids: str) -> str:
    """A keyring of the same IDs as ours but keys of its own (made on another machine)."""
    return ",".join(f"{i}:{base64.b64encode(secrets.token_bytes(32)).decode()}" for i in ids)


def ours() -> str:
    return ",".join(
        f"{key_id}:{base64.b64encode(key).decode()}" for key_id, key in CODEC.keyring.keys.items()
    )


def linkage_cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "linkage.interfaces.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "LINKAGE_TASK_QUEUE": TASK_QUEUE, **env},
        timeout=60,
    )


@pytest.fixture
def records(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'records.db'}"
    Store(url)  # opened by this process first: its keys are the district's
    return url


def test_the_cli_with_another_keyring_refuses_naming_the_key(records, env, worker):
    address = env.client.service_client.config.target_host
    current = CODEC.keyring.current
    done = linkage_cli(
        "list",
        LINKAGE_DATABASE_URL=records,
        LINKAGE_TEMPORAL_ADDRESS=address,
        LINKAGE_CODEC_KEYS=other_keyring(current),
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith(f"linkage: codec key(s) {current} of this process"), done.stderr
    assert "Traceback" not in done.stderr and "LINKAGE_CODEC_KEYS" in done.stderr


def test_a_worker_lacking_a_key_the_records_know_refuses_to_start(records, env):
    address = env.client.service_client.config.target_host
    done = linkage_cli(
        "worker",
        LINKAGE_DATABASE_URL=records,
        LINKAGE_TEMPORAL_ADDRESS=address,
        LINKAGE_CODEC_KEYS=other_keyring("k9"),
    )
    assert done.returncode == 1
    current = CODEC.keyring.current
    assert f"codec key(s) {current}, which this keyring (k9) does not have" in done.stderr


def test_the_same_keyring_opens_the_records(records):
    done = subprocess.run(
        [sys.executable, "-c", f"from linkage.records.store import Store; Store({records!r})"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "LINKAGE_CODEC_KEYS": ours()},
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


async def test_a_payload_of_another_keyring_names_its_key_when_it_does_not_open():
    mine = EncryptionCodec(Keyring([("k1", secrets.token_bytes(32))]))
    theirs = EncryptionCodec(Keyring([("k1", secrets.token_bytes(32))]))
    sealed = await theirs.encode([CODEC_PAYLOAD])
    with pytest.raises(ValueError, match="codec key 'k1' does not open with this keyring's"):
        await mine.decode(sealed)


def _payload():
    from temporalio.api.common.v1 import Payload

    return Payload(metadata={"encoding": b"json/plain"}, data=b'{"caller": "x"}')


CODEC_PAYLOAD = _payload()
