"""The Helm chart of the project's services and the values for Temporal's own chart, checked
offline: helm and kubeconform built from their Go modules, Kubernetes' schemas from the
kubernetes-validate package. What a district installs is what the cluster tier runs."""

from __future__ import annotations

import copy
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

from linkage.interfaces.cli.main import build_parser
from linkage.ops.cluster.build import TEMPORAL_SERVER, UI_SERVER
from linkage.ops.cluster.certificates import DEPLOYED_NAME
from linkage.ops.cluster.config import Ports
from linkage.ops.cluster.parts import gate_part, project_parts
from linkage.ops.deploy import chart
from linkage.settings.paths import PROJECT_ROOT
from tests.conftest import missing

SECRETS_DIR = "/run/secrets/linkage"
PARTS = ("worker", "api", "codec", "ui-gate")
# What each part holds, by the chart's values.secrets ids (temporalCa: every pod).
# Least privilege: the district secret only where reports are matched (the worker's intake),
# the command keys where commands are signed or checked (API, worker), the token key where
# linkage tokens are verified, the codec keyring wherever the records are opened (each process
# checks it at start). Compose gives the same.
HOLDS = {
    "worker": {"database", "codecKeys", "districtSecret", "commandKeys", "temporalWriter"},
    "api": {"database", "codecKeys", "commandKeys", "tokenKey", "temporalWriter"},
    "codec": {"database", "codecKeys", "tokenKey", "temporalReader"},
    "ui-gate": {"database", "codecKeys", "tokenKey", "temporalReader"},
    "setup": {"database", "codecKeys", "tokenKey", "temporalAdmin"},
}
FILES = {  # values.secrets id -> its file under /run/secrets/linkage/
    "database": "database-url",
    "codecKeys": "codec-keys",
    "commandKeys": "command-keys",
    "districtSecret": "district-secret",
    "tokenKey": "token-key",
    "temporalCa": "temporal-ca.pem",
    "temporalWriter": "temporal-writer-token",
    "temporalReader": "temporal-reader-token",
    "temporalAdmin": "temporal-admin-token",
}
PLAIN_ENV = {
    "TEMPORAL_ADDRESS": "temporal-frontend:7233",
    "TEMPORAL_NAMESPACE": "default",
    "TEMPORAL_TLS": "true",
    "TEMPORAL_TLS_SERVER_CA_CERT_PATH": f"{SECRETS_DIR}/temporal-ca.pem",
    "TEMPORAL_TLS_SERVER_NAME": DEPLOYED_NAME,
    "LINKAGE_STATE_DIR": "/var/lib/linkage",
    "LINKAGE_CONFIG_DIR": "/app/temporal-config",
}


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


DEFAULTS = _yaml(chart.CHART / "values.yaml")
DISTRICT = _yaml(chart.DISTRICT_VALUES)
TEMPORAL = _yaml(chart.TEMPORAL_VALUES)


@pytest.fixture(scope="session")
def tools():
    """helm and kubeconform, built once (minutes on a new machine); never a skip under CI."""
    if not shutil.which("go"):
        missing("Go", "go not on PATH")
    try:
        return chart.helm(), chart.kubeconform()
    except (RuntimeError, subprocess.TimeoutExpired) as err:
        pytest.fail(f"the checking tools cannot be built: {err}")


@pytest.fixture(scope="session")
def rendered(tools) -> dict[str, str]:
    return {"defaults": chart.render(), "district": chart.render(DISTRICT)}


def pods(manifests: str) -> dict[str, dict]:
    """Each part's pod spec (Deployments and the setup Job), by its component label."""
    found = {}
    for thing in chart.objects(manifests):
        if thing["kind"] in ("Deployment", "Job"):
            template = thing["spec"]["template"]
            found[template["metadata"]["labels"]["app.kubernetes.io/component"]] = template["spec"]
    return found


def env_of(pod: dict) -> dict[str, str]:
    (container,) = pod["containers"]
    assert all("valueFrom" not in e for e in container["env"]), "no secret as a variable"
    return {e["name"]: e["value"] for e in container["env"]}


def mounted(pod: dict) -> dict[str, tuple[str, str]]:
    """File under /run/secrets/linkage/ -> (Secret name, key)."""
    (volume,) = [v for v in pod["volumes"] if v["name"] == "secrets"]
    return {
        item["path"]: (source["secret"]["name"], item["key"])
        for source in volume["projected"]["sources"]
        for item in source["secret"]["items"]
    }


@pytest.mark.timeout(1800)  # the first test builds helm and kubeconform on a new machine
def test_the_chart_lints_strictly_with_its_defaults_and_a_districts_values(tools):
    assert "0 chart(s) failed" in chart.lint()
    assert "0 chart(s) failed" in chart.lint(DISTRICT)


def test_every_rendered_object_is_valid_kubernetes(rendered):
    for manifests in rendered.values():
        things = chart.objects(manifests)
        kinds = sorted(t["kind"] for t in things)
        assert kinds == ["Deployment"] * 4 + ["Job"] + ["PodDisruptionBudget"] * 4 + ["Service"] * 3
        results = chart.validate(manifests)
        assert {(r["kind"], r["name"]) for r in results} == {
            (t["kind"], t["metadata"]["name"]) for t in things
        }
        assert {r["status"] for r in results} == {"statusValid"}


def test_kubeconform_really_reads_the_schemas_offline(rendered):
    """A wrong field deep in a pod (behind the schemas' references) is caught, not skipped."""
    things = chart.objects(rendered["defaults"])
    deployment = next(t for t in things if t["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContext"][
        "readOnlyRootFileSystem"
    ] = True
    with pytest.raises(chart.CheckFailed, match="readOnlyRootFileSystem"):
        chart.validate(yaml.safe_dump(deployment))
    deployment = next(t for t in things if t["kind"] == "Deployment")
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(chart.CheckFailed, match="/spec/replicas"):
        chart.validate(yaml.safe_dump(deployment))


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"worker": {"replicas": "two"}}, "/worker/replicas"),
        ({"secrets": {"temporalAdmin": {"name": None}}}, "/secrets/temporalAdmin': missing"),
        ({"secrets": {"database": {"name": ""}}}, "/secrets/database/name"),
        ({"api": {"resources": {"limits": {"memory": None}}}}, "/api/resources/limits"),
        ({"ui": {"origin": "temporal-ui.district.example/gate"}}, "/ui/origin"),
        ({"workers": {"replicas": 3}}, "'workers' not allowed"),
    ],
)
def test_bad_values_are_refused_naming_the_field(tools, values, named):
    for check in (chart.render, chart.lint):
        with pytest.raises(chart.CheckFailed) as refused:
            check(values)
        assert named in str(refused.value)


def test_no_secret_is_ever_a_value_in_the_rendered_chart(rendered):
    manifests = rendered["district"]
    assert {t["kind"] for t in chart.objects(manifests)}.isdisjoint({"Secret", "ConfigMap"})
    for pattern in ("postgresql://", "BEGIN ", "eyJ", "password", "secretKeyRef"):
        assert pattern not in manifests
    for name, pod in pods(manifests).items():
        for variable, value in env_of(pod).items():
            if variable.endswith("_FILE") or variable == "LINKAGE_TOKEN_KEY":
                assert value.startswith(f"{SECRETS_DIR}/"), (name, variable)
                assert value.removeprefix(f"{SECRETS_DIR}/") in mounted(pod)
            else:
                # addresses, and the worker deployment's version (the image's tag)
                plain = ("LINKAGE_WORKER_HEALTH", "LINKAGE_METRICS_ADDRESS", "LINKAGE_BUILD_ID")
                assert variable in PLAIN_ENV or variable.startswith(plain), (name, variable)


def test_every_pod_is_non_root_read_only_probed_and_bounded(rendered):
    for manifests in rendered.values():
        for name, pod in pods(manifests).items():
            assert pod["automountServiceAccountToken"] is False
            # the worker's running activities get 30 s after SIGTERM (workers/main.py)
            assert pod["terminationGracePeriodSeconds"] == (60 if name == "worker" else 30)
            context = pod["securityContext"]
            assert context["runAsNonRoot"] and context["runAsUser"] == 10001
            assert context["seccompProfile"] == {"type": "RuntimeDefault"}
            (container,) = pod["containers"]
            own = container["securityContext"]
            assert own["runAsNonRoot"] and own["runAsUser"] == 10001
            assert own["readOnlyRootFilesystem"] is True
            assert own["allowPrivilegeEscalation"] is False
            assert own["capabilities"] == {"drop": ["ALL"]}
            assert own["seccompProfile"] == {"type": "RuntimeDefault"}
            writable = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            empty = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
            assert {writable["/var/lib/linkage"], writable["/tmp"]} <= empty
            for bound in ("requests", "limits"):
                assert set(container["resources"][bound]) == {"cpu", "memory"}, name
            if name == "setup":
                continue
            port = container["ports"][0]
            assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
            assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
            assert port["name"] == "http"


def test_images_and_plain_settings_come_from_the_values(rendered):
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    meta = _yaml(chart.CHART / "Chart.yaml")
    assert meta["apiVersion"] == "v2" and meta["appVersion"] == project["version"] == "0.1.0"
    for which, values, tag in (
        ("defaults", DEFAULTS, meta["appVersion"]),
        ("district", DISTRICT, "0.1.0-r2"),
    ):
        for name, pod in pods(rendered[which]).items():
            (container,) = pod["containers"]
            assert container["image"] == f"{values['image']['repository']}:{tag}"
            assert container["imagePullPolicy"] == "IfNotPresent"
            env = env_of(pod)
            assert env["TEMPORAL_ADDRESS"] == values["temporal"]["address"]
            assert env["TEMPORAL_NAMESPACE"] == values["temporal"]["namespace"]
            assert env["TEMPORAL_TLS_SERVER_NAME"] == values["temporal"]["tlsServerName"]
            if which == "defaults":
                assert {k: env[k] for k in PLAIN_ENV} == PLAIN_ENV, name
            else:
                assert pod["imagePullSecrets"] == [{"name": "harbor-pull"}]


def test_each_part_holds_its_own_credential_and_no_other(rendered):
    """The setup Job the administrator's, the codec server and the gate the reader's, the
    workers and the API the writer's; each part only the secrets it uses."""
    for which, values in (("defaults", DEFAULTS), ("district", DISTRICT)):
        found = pods(rendered[which])
        assert set(found) == set(HOLDS)
        for name, pod in found.items():
            held = {
                FILES[i]: (values["secrets"][i]["name"], values["secrets"][i]["key"])
                for i in HOLDS[name] | {"temporalCa"}
            }
            assert mounted(pod) == held, name
            token = next(i for i in HOLDS[name] if i.startswith("temporal"))
            assert env_of(pod)["TEMPORAL_API_KEY_FILE"] == f"{SECRETS_DIR}/{FILES[token]}"
        command = found["ui-gate"]["containers"][0]["command"]
        reader_file = command[command.index("--reader-token-file") + 1]
        assert reader_file == f"{SECRETS_DIR}/{FILES['temporalReader']}"


def test_setup_is_a_pre_install_and_pre_upgrade_hook(rendered):
    (job,) = [t for t in chart.objects(rendered["defaults"]) if t["kind"] == "Job"]
    notes = job["metadata"]["annotations"]
    assert set(notes["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    policy = set(notes["helm.sh/hook-delete-policy"].split(","))
    assert policy == {"before-hook-creation", "hook-succeeded"}
    assert 0 <= job["spec"]["backoffLimit"] <= 3
    assert 60 <= job["spec"]["activeDeadlineSeconds"] <= 3600
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["containers"][0]["command"] == ["linkage", "setup", "--retention-days", "90"]
    assert env_of(pod)["TEMPORAL_API_KEY_FILE"].endswith("/temporal-admin-token")


def test_each_deployment_has_a_disruption_budget_and_services_reach_their_pods(rendered):
    things = chart.objects(rendered["defaults"])
    by_kind = {}
    for thing in things:
        by_kind.setdefault(thing["kind"], {})[thing["metadata"]["name"]] = thing
    assert len(by_kind["PodDisruptionBudget"]) == len(by_kind["Deployment"]) == 4
    for name, deployment in by_kind["Deployment"].items():
        budget = by_kind["PodDisruptionBudget"][name]
        assert budget["spec"] == {"maxUnavailable": 1, "selector": deployment["spec"]["selector"]}
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
        assert deployment["spec"]["replicas"] == 2
        if name in by_kind["Service"]:
            service = by_kind["Service"][name]["spec"]
            assert service["selector"] == deployment["spec"]["selector"]["matchLabels"]
            (port,) = deployment["spec"]["template"]["spec"]["containers"][0]["ports"]
            assert service["ports"][0]["port"] == port["containerPort"]
    assert sorted(by_kind["Service"]) == ["linkage-api", "linkage-codec", "linkage-ui-gate"]


def _flags(args: list[str]) -> set[str]:
    return {a for a in args if a.startswith("--")}


def test_the_commands_are_the_cluster_tiers_and_the_clis_own(rendered):
    """The same `linkage` subcommands and flags the cluster tier runs (parts.py), each parsed
    by the CLI itself, serving on the port the probes and the Service use."""
    tier = {part.name.split("-")[0]: part for part in project_parts(Ports(), 1, 1, {}, {})}
    tier["ui-gate"] = gate_part(Ports(), Path("/secrets"), {})
    found = pods(rendered["district"])
    for name in PARTS:
        ours = found[name]["containers"][0]
        theirs = tier[name].command[tier[name].command.index("linkage.interfaces.cli.main") + 1 :]
        assert ours["command"][0] == "linkage"
        assert ours["command"][1] == theirs[0]
        assert _flags(theirs) <= _flags(ours["command"]), name
        parsed = build_parser(ours["command"][1:]).parse_args(ours["command"][1:])
        port = ours["ports"][0]["containerPort"]
        if name == "worker":
            assert env_of(found[name])["LINKAGE_WORKER_HEALTH_PORT"] == str(port) == "8390"
            assert env_of(found[name])["LINKAGE_WORKER_HEALTH_HOST"] == "0.0.0.0"
            assert "LINKAGE_WORKER_HEALTH_PORT" in tier[name].env
        else:
            assert (parsed.host, parsed.port) == ("0.0.0.0", port)
    codec = found["codec"]["containers"][0]["command"][1:]
    assert build_parser(codec).parse_args(codec).ui_origin == [DISTRICT["ui"]["origin"]]
    command = found["ui-gate"]["containers"][0]["command"][1:]
    gate = build_parser(command).parse_args(command)
    web = DISTRICT["temporal"]["web"]
    assert gate.ui == f"http://{web['service']}:{web['port']}"
    assert gate.codec == "http://linkage-codec:8381" and gate.secure_cookie


def test_temporal_values_pin_the_tiers_versions_shards_and_dynamic_config():
    assert TEMPORAL["server"]["image"]["tag"] == TEMPORAL_SERVER.removeprefix("v") == "1.32.2"
    assert TEMPORAL["web"]["image"]["tag"] == UI_SERVER.removeprefix("v") == "2.56.4"
    persistence = TEMPORAL["server"]["config"]["persistence"]
    assert persistence["numHistoryShards"] == chart.production_shards() == 512
    dynamic = _yaml(chart.DYNAMIC_CONFIG)
    assert TEMPORAL["server"]["dynamicConfig"] == dynamic and len(dynamic) >= 7
    for store in persistence["datastores"].values():
        assert store["sql"]["pluginName"] == "postgres12" and store["sql"]["manageSchema"]
        assert store["sql"]["existingSecret"] and "password" not in store["sql"]
    assert TEMPORAL["schema"]["useHelmHooks"] is True
    assert set(TEMPORAL).isdisjoint(chart.REMOVED_KEYS), "the 1.x chart refuses sub-chart keys"


def test_temporal_values_describe_the_server_config_the_tier_tests():
    assert chart.temporal_values_problems() == []


def test_the_comparison_with_the_server_config_can_fail():
    changed = copy.deepcopy(TEMPORAL)
    changed["server"]["config"]["persistence"]["numHistoryShards"] = 1024
    changed["server"]["config"]["authorization"]["permissionsClaimName"] = "perms"
    changed["server"]["config"]["persistence"]["datastores"]["visibility"]["sql"]["maxConns"] = 1
    changed["server"]["dynamicConfig"].pop("limit.historyCount.warn")
    changed["grafana"] = {"enabled": False}
    problems = "\n".join(chart.temporal_values_problems(changed))
    for named in ("numHistoryShards", "permissionsClaimName", "sql.maxConns", "dynamicConfig"):
        assert named in problems
    assert "grafana" in problems
    with pytest.raises(chart.CheckFailed, match="NUM_HISTORY_SHARDS"):
        chart.server_config(
            {"POSTGRES_SEEDS": "db", "POSTGRES_USER": "u", "POSTGRES_PWD": "p"}
            | {"TEMPORAL_TLS_DIR": "/tls", "TEMPORAL_JWT_KEY_SOURCE": "file:///k"}
        )


def test_temporal_ui_is_read_only_and_decodes_through_linkages_gate():
    values = TEMPORAL
    env = {e["name"]: e["value"] for e in values["web"]["additionalEnv"]}
    origin = DEFAULTS["ui"]["origin"]
    assert env["TEMPORAL_DISABLE_WRITE_ACTIONS"] == "true"
    assert env["TEMPORAL_CODEC_ENDPOINT"] == f"{origin}/codec"
    assert env["TEMPORAL_CORS_ORIGINS"] == origin
    assert env["TEMPORAL_FORWARD_HEADERS"] == "Authorization"
    assert env["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"] == "true"
    assert env["TEMPORAL_DEFAULT_NAMESPACE"] == DEFAULTS["temporal"]["namespace"]
    assert values["web"]["ingress"]["enabled"] is False
    web = DEFAULTS["temporal"]["web"]
    assert (web["service"], web["port"]) == ("temporal-web", values["web"]["service"]["port"])
    assert DEFAULTS["temporal"]["address"] == "temporal-frontend:7233"
    # the linkage pods verify the certificate Temporal's chart mounts, under the same name
    tls = values["server"]["tls"]
    assert DEFAULTS["secrets"]["temporalCa"] == {
        "name": values["web"]["tls"]["secretName"],
        "key": "ca.crt",
    }
    names = {tls["frontend"]["serverName"], values["web"]["tls"]["serverName"]}
    assert names == {DEFAULTS["temporal"]["tlsServerName"]}
