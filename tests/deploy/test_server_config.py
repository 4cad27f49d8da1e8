"""The Temporal server's production configuration, checked by the real server (built from its
Go module, as the cluster tier runs it): the dynamic configuration has only known keys of the
right types, and a setting with no safe default stops the server naming it."""

from __future__ import annotations

import subprocess

import pytest

from linkage.ops.cluster import build
from linkage.ops.cluster.config import DYNAMIC_CONFIG, SERVER_CONFIG

REQUIRED = {
    "POSTGRES_SEEDS": "db",
    "POSTGRES_USER": "temporal",
    "POSTGRES_PWD": "from-a-secret",
    "TEMPORAL_TLS_DIR": "/run/secrets/temporal",
    "TEMPORAL_JWT_KEY_SOURCE": "file:///run/secrets/temporal/jwks.json",
    "NUM_HISTORY_SHARDS": "512",
}


@pytest.fixture(scope="module")
def server():
    if not build.binary("temporal-server").exists():
        build.build()  # cached; the cluster tier builds the same
    return build.binary("temporal-server")


def render(server, tmp_path, environ: dict[str, str]) -> subprocess.CompletedProcess:
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "production.yaml").write_text(SERVER_CONFIG.read_text())
    return subprocess.run(
        [str(server), "--env", "production", "render-config"],  # reads ./config/
        env={"PATH": "/usr/bin:/bin", **environ},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.timeout(1800)  # the server is built once if the cluster tier has not built it
def test_the_dynamic_configuration_has_only_known_keys(server):
    done = subprocess.run(
        [str(server), "validate-dynamic-config", str(DYNAMIC_CONFIG)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "error" not in done.stdout and "warning" not in done.stdout, done.stdout


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_a_missing_setting_stops_the_server_naming_it(server, tmp_path, name):
    done = render(server, tmp_path, {k: v for k, v in REQUIRED.items() if k != name})
    assert done.returncode != 0
    assert f"{name}:" in done.stdout + done.stderr


def test_the_defaults_are_a_single_host_behind_tls_and_tokens(server, tmp_path):
    done = render(server, tmp_path, REQUIRED)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert "numHistoryShards: 512" in text
    assert "requireClientAuth: true" in text  # mTLS among the services
    assert "authorizer: default" in text and "claimMapper: default" in text
    assert "bindOnIP: 127.0.0.1" in text  # nothing listens beyond the host unless told
