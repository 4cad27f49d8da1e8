"""Compose and the Helm chart describe one system: each of the project's parts runs the same
linkage command with the same environment and holds the same secrets in both, and the
Temporal server is the same (versions, shards, dynamic configuration)."""

from __future__ import annotations

import pytest
import yaml

from linkage.ops.cluster.certificates import DEPLOYED_NAME
from linkage.ops.deploy import chart, compose

PARTS = {  # Compose service -> the chart's component
    "linkage-worker": "worker",
    "linkage-api": "api",
    "linkage-codec": "codec",
    "linkage-ui-gate": "ui-gate",
    "linkage-setup": "setup",
}
SECRETS = {  # Compose secret -> the chart's values.secrets id
    "database_url": "database",
    "codec_keys": "codecKeys",
    "command_keys": "commandKeys",
    "district_secret": "districtSecret",
    "token_key": "tokenKey",
    "temporal_ca": "temporalCa",
    "temporal_writer_token": "temporalWriter",
    "temporal_reader_token": "temporalReader",
    "temporal_admin_token": "temporalAdmin",
}
FILES_TO_IDS = {  # the chart's mounted file -> its values.secrets id
    "database-url": "database",
    "codec-keys": "codecKeys",
    "command-keys": "commandKeys",
    "district-secret": "districtSecret",
    "token-key": "tokenKey",
    "temporal-ca.pem": "temporalCa",
    "temporal-writer-token": "temporalWriter",
    "temporal-reader-token": "temporalReader",
    "temporal-admin-token": "temporalAdmin",
}


@pytest.fixture(scope="module")
def both() -> tuple[dict, dict]:
    services = compose.load_compose(env={"LINKAGE_UI_ORIGIN": "https://ui.district.example"})
    pods = {}
    for thing in chart.objects(chart.render()):
        if thing["kind"] in ("Deployment", "Job"):
            template = thing["spec"]["template"]
            pods[template["metadata"]["labels"]["app.kubernetes.io/component"]] = template["spec"]
    return services["services"], pods


@pytest.mark.timeout(1800)  # helm is built once on a new machine
def test_each_part_runs_the_same_command_with_the_same_environment(both):
    services, pods = both
    assert set(PARTS.values()) == set(pods)
    for service, component in PARTS.items():
        container = pods[component]["containers"][0]
        in_chart = container["command"]
        assert in_chart[0] == "linkage"
        in_compose = services[service]["command"]
        assert in_chart[1] == in_compose[0], service  # the same subcommand
        flags = [a for a in in_compose if a.startswith("--")]
        assert [a for a in in_chart if a.startswith("--") and a != "--secure-cookie"] == [
            f for f in flags if f != "--secure-cookie"
        ], service
        chart_env = {e["name"]: e.get("value") for e in container["env"]}
        compose_env = services[service].get("environment", {})
        assert set(chart_env) == set(compose_env), (service, set(chart_env) ^ set(compose_env))
        assert chart_env["TEMPORAL_TLS_SERVER_NAME"] == DEPLOYED_NAME
        assert compose_env["TEMPORAL_TLS_SERVER_NAME"] == DEPLOYED_NAME
        if "LINKAGE_BUILD_ID" in chart_env:  # the worker runs as the version of its image
            tag = container["image"].rpartition(":")[2]
            assert chart_env["LINKAGE_BUILD_ID"] == tag, service
            assert compose_env["LINKAGE_BUILD_ID"] == services[service]["image"].rpartition(":")[2]


def test_each_part_holds_the_same_secrets(both):
    services, pods = both
    for service, component in PARTS.items():
        held = services[service]["secrets"]
        in_compose = {SECRETS[s if isinstance(s, str) else s["source"]] for s in held}
        (volume,) = [v for v in pods[component]["volumes"] if v["name"] == "secrets"]
        files = {
            item["path"]
            for source in volume["projected"]["sources"]
            for item in source["secret"]["items"]
        }
        assert {FILES_TO_IDS[f] for f in files} == in_compose, service


def test_the_temporal_server_is_the_same():
    services = compose.load_compose(env={"LINKAGE_UI_ORIGIN": "https://ui.district.example"})
    values = yaml.safe_load((chart.PRODUCTION / "helm" / "temporal-values.yaml").read_text())
    frontend = services["services"]["temporal-frontend"]
    tag = frontend["image"].split(":")[1]
    assert values["server"]["image"]["tag"] == tag
    shards = int(frontend["environment"]["NUM_HISTORY_SHARDS"])
    in_values = values["server"]["config"]["persistence"]["numHistoryShards"]
    assert in_values == shards == chart.production_shards()
    ui = services["services"]["temporal-ui"]["image"].split(":")[1]
    assert values["web"]["image"]["tag"] == ui
