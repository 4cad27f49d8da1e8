"""Secrets from files (`NAME_FILE`), as Compose and Kubernetes mount them: each secret the
processes read, and the refusals that name the variable."""

from __future__ import annotations

import base64

import pytest

from linkage.settings.config import ConfigError, Settings
from linkage.settings.secrets import MAX_BYTES, secret
from linkage.trust import codec, keys
from linkage.trust.temporal import secured_connection


def test_plain_variable_file_and_neither(tmp_path):
    path = tmp_path / "s"
    path.write_text("from-file\n")
    assert secret("X", {"X": "plain"}) == "plain"
    assert secret("X", {"X_FILE": str(path)}) == "from-file"
    assert secret("X", {}) is None


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"", "is empty"), (b"\xff\xfe", "not UTF-8"), (b"a" * (MAX_BYTES + 1), "larger than")],
)
def test_bad_files_are_refused_naming_the_variable(tmp_path, content, problem):
    path = tmp_path / "s"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=rf"X_FILE: .*{problem}"):
        secret("X", {"X_FILE": str(path)})


def test_missing_file_and_both_set_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="X_FILE: cannot read"):
        secret("X", {"X_FILE": str(tmp_path / "absent")})
    with pytest.raises(ConfigError, match="X and X_FILE are both set"):
        secret("X", {"X": "a", "X_FILE": str(tmp_path / "absent")})


def test_records_url_from_a_file(tmp_path, monkeypatch):
    path = tmp_path / "url"
    path.write_text("postgresql://linkage:pw@db:5432/linkage\n")
    monkeypatch.delenv("LINKAGE_DATABASE_URL", raising=False)
    monkeypatch.setenv("LINKAGE_DATABASE_URL_FILE", str(path))
    assert Settings().database_url == "postgresql://linkage:pw@db:5432/linkage"


def test_temporal_api_key_from_a_file(tmp_path):
    path = tmp_path / "token"
    path.write_text("a.b.c\n")
    environ = {"TEMPORAL_ADDRESS": "temporal:7233", "TEMPORAL_API_KEY_FILE": str(path)}
    assert secured_connection(environ)["api_key"] == "a.b.c"


def test_codec_keyring_and_district_secret_from_files(tmp_path, monkeypatch):
    key = base64.b64encode(b"k" * 32).decode()
    ring = tmp_path / "keys"
    ring.write_text(f"d1:{key}\n")  # as LINKAGE_CODEC_KEYS: id:key, newest first
    district = tmp_path / "secret"
    district.write_text("s" * 32)
    monkeypatch.delenv(codec.KEYS_ENV, raising=False)
    monkeypatch.delenv(keys.SECRET_ENV, raising=False)
    monkeypatch.setenv(f"{codec.KEYS_ENV}_FILE", str(ring))
    monkeypatch.setenv(f"{keys.SECRET_ENV}_FILE", str(district))
    keys.district_secret.cache_clear()
    try:
        assert codec.load_keyring().current == "d1"
        assert keys.district_secret() == b"s" * 32
    finally:
        keys.district_secret.cache_clear()


def test_a_deployed_process_makes_no_key_of_its_own(tmp_path, monkeypatch):
    """With LINKAGE_DEPLOYED (the image sets it) a missing key is an error naming it,
    not a new key in the container's own state folder that no other container shares."""
    from linkage.trust.commands import load_command_keys

    monkeypatch.setenv("LINKAGE_STATE_DIR", str(tmp_path))
    monkeypatch.setenv("LINKAGE_DEPLOYED", "1")
    for name in ("LINKAGE_COMMAND_KEYS", codec.KEYS_ENV, keys.SECRET_ENV):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(f"{name}_FILE", raising=False)
    keys.district_secret.cache_clear()
    try:
        for load, name in (
            (load_command_keys, "LINKAGE_COMMAND_KEYS"),
            (codec.load_keyring, codec.KEYS_ENV),
            (keys.district_secret, keys.SECRET_ENV),
        ):
            with pytest.raises(ConfigError, match=rf"{name} \(or {name}_FILE\) is not set"):
                load()
        assert list(tmp_path.iterdir()) == []  # nothing made
    finally:
        keys.district_secret.cache_clear()
