"""The Temporal connection takes TLS, mTLS, an API key and profiles from temporalio's
environment configuration, and nothing from it when none of it is set."""

from __future__ import annotations

import pytest

from linkage.settings.config import ConfigError, Settings
from linkage.trust.temporal import connect, secured_connection


def test_nothing_set_leaves_the_linkage_settings_alone():
    assert secured_connection({"LINKAGE_TEMPORAL_ADDRESS": "x:1", "HOME": "/tmp"}) == {}


def test_an_api_key_and_tls_come_from_the_environment(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    found = secured_connection(
        {
            "TEMPORAL_ADDRESS": "district.tmprl.example:7233",
            "TEMPORAL_NAMESPACE": "linkage-prod",
            "TEMPORAL_API_KEY": "k-123",
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(ca),
            "TEMPORAL_TLS_SERVER_NAME": "district.tmprl.example",
        }
    )
    assert found["target_host"] == "district.tmprl.example:7233"
    assert found["namespace"] == "linkage-prod" and found["api_key"] == "k-123"
    assert found["tls"].domain == "district.tmprl.example"
    assert found["tls"].server_root_ca_cert.startswith(b"-----BEGIN CERTIFICATE-----")


def test_a_profile_of_the_config_file_gives_mtls(tmp_path):
    (tmp_path / "cert.pem").write_text("CERT")
    (tmp_path / "key.pem").write_text("KEY")
    config = tmp_path / "temporal.toml"
    config.write_text(
        '[profile.prod]\naddress = "prod:7233"\nnamespace = "linkage"\n'
        f'[profile.prod.tls]\nclient_cert_path = "{tmp_path / "cert.pem"}"\n'
        f'client_key_path = "{tmp_path / "key.pem"}"\n'
    )
    found = secured_connection({"TEMPORAL_CONFIG_FILE": str(config), "TEMPORAL_PROFILE": "prod"})
    assert found["target_host"] == "prod:7233" and found["namespace"] == "linkage"
    assert (found["tls"].client_cert, found["tls"].client_private_key) == (b"CERT", b"KEY")
    with pytest.raises(ConfigError, match="TEMPORAL_PROFILE.*'nope' not found"):
        secured_connection({"TEMPORAL_CONFIG_FILE": str(config), "TEMPORAL_PROFILE": "nope"})


async def test_the_test_server_is_reached_through_temporal_address(env, monkeypatch):
    monkeypatch.setenv("TEMPORAL_ADDRESS", env.client.service_client.config.target_host)
    client = await connect(Settings(temporal_address="localhost:1"))  # the environment wins
    assert await client.count_workflows() is not None
