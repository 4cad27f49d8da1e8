"""`linkage up` makes this machine's signing key and operator token (outside the repository)
and points the dev server's Web UI at the codec server."""

from __future__ import annotations

import stat
from pathlib import Path

from linkage.ops.devserver import dev_server_command, host_credentials
from linkage.records.store import Store
from linkage.records.tokens import TokenRecords
from linkage.trust.tokens import TokenVerifier


def test_the_key_and_the_operator_token_are_made_once_and_again_when_revoked(tmp_path, monkeypatch):
    monkeypatch.setenv("LINKAGE_TOKEN_KEY", str(tmp_path / "state" / "token-key"))
    monkeypatch.setenv("LINKAGE_DATABASE_URL", f"sqlite:///{tmp_path / 'records.db'}")
    path = host_credentials()
    key = tmp_path / "state" / "token-key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    records = TokenRecords(Store(f"sqlite:///{tmp_path / 'records.db'}").engine)
    verifier = TokenVerifier(revoked=records.revoked_at)
    token = path.read_text().strip()
    principal = verifier.verify(token)
    assert principal.role.value == "operator"
    assert host_credentials() == path and path.read_text().strip() == token  # kept
    records.revoke(principal.token_id, by="test")
    host_credentials()
    assert path.read_text().strip() != token  # a revoked one is replaced
    assert verifier.verify(path.read_text().strip()).role.value == "operator"
    root = Path(__file__).resolve().parents[1]
    assert not key.is_relative_to(root) or ".linkage" in key.parts


def test_the_dev_servers_ui_decodes_through_the_codec_server(tmp_path):
    command = dev_server_command(7233, 8233, tmp_path / "t.db", "http://localhost:8381")
    at = command.index("--ui-codec-endpoint")
    assert command[at + 1] == "http://localhost:8381"
    assert "--ui-codec-endpoint" not in dev_server_command(7233, 8233, tmp_path / "t.db")
