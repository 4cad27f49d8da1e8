"""The Compose file, the project's image and the secrets set, checked without a container
engine: the Compose specification's own schema, hadolint, the pins against this environment,
the Temporal server rendering config.yaml with the Compose file's environment, and the Compose
file against the cluster tier's parts. What a district starts is what the suite runs."""

from __future__ import annotations

import copy
import re
import shlex
import subprocess
import sys
from pathlib import Path

import jwt
import pytest
import yaml
from cryptography import x509

from linkage.ops.cluster import build
from linkage.ops.cluster.certificates import DEPLOYED_NAME
from linkage.ops.cluster.config import CONNECTIONS, SERVICES, Ports
from linkage.ops.cluster.parts import gate_part, project_parts
from linkage.ops.deploy import compose, secrets
from linkage.trust.codec import Keyring
from linkage.trust.tokens import load_key

ORIGIN = "https://linkage-ui.district.example"
CONFIG = "/etc/temporal/config/config.yaml"
TEMPORAL = [f"temporal-{name}" for name in SERVICES]
ENV = "PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LINKAGE_STATE_DIR=/var/lib/linkage \
LINKAGE_CONFIG_DIR=/app/temporal-config"
LEFT_OUT = "temporal-config/production/secrets/token-key.pem .linkage/up.json .venv/bin/python \
tests/conftest.py linkage/__pycache__/x.pyc"
TAKEN = "pyproject.toml README.md temporal-config/units.toml workers/main.py \
linkage/records/migrations/versions/0001_initial.py linkage/records/migrations/script.py.mako"


def _pairs(text: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in text.split())


TEMPORAL_ENV = _pairs(
    f"BIND_ON_IP=0.0.0.0 PROMETHEUS_ENDPOINT=0.0.0.0:9090 NUM_HISTORY_SHARDS=512 \
    FRONTEND_ADDRESS=temporal-frontend:7233 TEMPORAL_TLS_SERVER_NAME={DEPLOYED_NAME}"
)
UI_ENV = _pairs(  # without host verification the UI server would trust any certificate
    f"TEMPORAL_DISABLE_WRITE_ACTIONS=true TEMPORAL_DISABLE_NEWS_FETCH=true \
    TEMPORAL_CODEC_ENDPOINT={ORIGIN}/codec TEMPORAL_CODEC_INCLUDE_CREDENTIALS=true \
    TEMPORAL_FORWARD_HEADERS=Authorization TEMPORAL_TLS_ENABLE_HOST_VERIFICATION=true \
    TEMPORAL_TLS_SERVER_NAME={DEPLOYED_NAME}"
)
LINKAGE_ENV = {
    **_pairs(
        "TEMPORAL_ADDRESS=temporal-frontend:7233 TEMPORAL_NAMESPACE=default TEMPORAL_TLS=true"
    ),
    **_pairs("LINKAGE_STATE_DIR=/var/lib/linkage LINKAGE_CONFIG_DIR=/app/temporal-config"),
    "TEMPORAL_TLS_SERVER_CA_CERT_PATH": "/run/secrets/temporal_ca",
    "TEMPORAL_TLS_SERVER_NAME": DEPLOYED_NAME,
}
CONFINED = {
    "build": {"context": "../..", "dockerfile": "temporal-config/production/Dockerfile"},
    "user": "10001",
    "read_only": True,
    "tmpfs": ["/var/lib/linkage", "/tmp"],
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges:true"],
}


@pytest.fixture(scope="module")
def spec() -> dict:
    return compose.compose_schema()


@pytest.fixture(scope="module")
def services() -> dict:
    return compose.load_compose(env={"LINKAGE_UI_ORIGIN": ORIGIN})["services"]


def _files(node) -> list[str]:
    """Every path a rendered TLS section names (certFile, keyFile, rootCaFiles...)."""
    if isinstance(node, dict):
        found = [v for k, v in node.items() if k.endswith("File") and v]
        found += [f for k, v in node.items() if k.endswith("Files") for f in v]
        return found + [f for v in node.values() if isinstance(v, dict) for f in _files(v)]
    return []


def test_compose_holds_to_the_specification(spec):
    document = compose.load_compose(env={"LINKAGE_UI_ORIGIN": ORIGIN})
    assert compose.schema_errors(document, spec) == []


def test_a_broken_compose_file_is_refused_naming_the_place(spec, services):
    document = compose.load_compose(env={"LINKAGE_UI_ORIGIN": ORIGIN})
    broken = copy.deepcopy(document)
    broken["services"]["linkage-api"]["ports"] = "eight"
    assert any(
        e.startswith("services.linkage-api.ports:") for e in compose.schema_errors(broken, spec)
    )
    broken = copy.deepcopy(document)
    broken["services"]["temporal-ui"]["helthcheck"] = {"test": ["CMD", "true"]}
    errors = compose.schema_errors(broken, spec)
    assert any(e.startswith("services.temporal-ui:") and "helthcheck" in e for e in errors)


def test_the_gate_origin_must_be_given_and_dollars_reach_the_shell(services):
    with pytest.raises(compose.InterpolationError, match="LINKAGE_UI_ORIGIN"):
        compose.load_compose(env={})
    script = services["temporal-history"]["entrypoint"][2]
    assert '"$(cat /run/secrets/postgres_password)"' in script  # $$ in the file


def test_hadolint_finds_nothing_and_would_find_something(tmp_path):
    assert compose.hadolint() == []
    sloppy = tmp_path / "Dockerfile"
    sloppy.write_text("FROM python:latest\nRUN pip install requests\n")
    assert compose.hadolint(sloppy)


def test_the_image_is_multi_stage_pinned_and_non_root():
    stages = compose.stages()
    assert len(stages) >= 2 and stages[0][1] == "builder"
    bases = {base for base, _ in stages}
    assert len(bases) == 1, bases
    (base,) = bases
    found = re.fullmatch(r"python:3\.(\d+)\.\d+-slim-bookworm", base)
    assert found and int(found[1]) == sys.version_info.minor  # the pins are this Python's
    text = compose.DOCKERFILE.read_text()
    runtime = text[text.rindex("\nFROM ") :]
    assert "COPY --from=builder /opt/venv /opt/venv" in runtime
    assert re.search(r"^USER 10001(:10001)?$", runtime, re.M)
    assert "--shell /usr/sbin/nologin" in runtime and "--uid 10001" in runtime
    assert 'ENTRYPOINT ["linkage"]' in runtime and not re.search(r"^HEALTHCHECK", text, re.M)
    for setting in ENV.split():
        assert setting in runtime
    installs = re.findall(r"pip install[^\n]*", text)
    assert installs and all("--no-cache-dir" in line for line in installs)
    assert "--requirement constraints.txt" in text and "--constraint constraints.txt" in text
    assert "COPY temporal-config /app/temporal-config" in runtime


def test_the_build_context_leaves_out_secrets_and_state():
    for path in LEFT_OUT.split():
        assert compose.dockerignored(path), path
    for path in TAKEN.split():
        assert not compose.dockerignored(path), path


def test_constraints_pin_every_runtime_requirement_as_installed():
    pins = compose.runtime_pins()
    for name in ("temporalio", "psycopg-binary", "cryptography", "sqlalchemy", "uvicorn"):
        assert name in pins  # the project's own, an extra's and transitive ones
    assert "pytest" not in pins and "linkage" not in pins  # no dev extras, not itself
    assert compose.CONSTRAINTS.read_text() == compose.constraints_text(), (
        "constraints.txt is stale: python -m linkage.ops.deploy.compose constraints"
    )


def test_the_wheel_carries_every_file_the_processes_load():
    assert compose.unpackaged_files() == []


def test_every_long_running_service_has_a_healthcheck_and_one_shots_are_waited_for(services):
    one_shots = {
        name for name, s in services.items() if s.get("restart", "").startswith(("no", "on-f"))
    }
    assert one_shots == {"temporal-schema", "records-database", "linkage-setup"}
    for name, service in services.items():
        if name not in one_shots:
            assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
        for needed, how in service.get("depends_on", {}).items():
            wanted = "service_completed_successfully" if needed in one_shots else "service_healthy"
            assert how["condition"] == wanted, (name, needed)


def test_no_secret_is_written_in_the_files_and_each_one_named_is_mounted(services):
    for path in (
        compose.COMPOSE_FILE,
        compose.DOCKERFILE,
        compose.PRODUCTION / "secrets/README.md",
    ):
        assert compose.literal_secrets(path.read_text()) == [], path
    assert compose.unmounted_secrets(services) == []
    for leak in ("POSTGRES_PASSWORD: hunter2hunter2", "API_KEY=eyJhbGciOiJSUzI1NiJ9.e30.x"):
        assert compose.literal_secrets(f"x:\n  {leak}\n")
    assert compose.literal_secrets("url: postgresql://linkage:Zx81kQ@postgresql/linkage")
    broken = copy.deepcopy(services)
    broken["linkage-api"]["secrets"].remove("token_key")
    assert compose.unmounted_secrets(broken) == ["linkage-api: /run/secrets/token_key"]


def test_each_temporal_service_runs_the_production_configuration(services):
    template = (compose.PRODUCTION / "temporal" / "config.yaml").read_text()
    required = set(re.findall(r'if not \(env "(\w+)"\)', template))
    for name in TEMPORAL:
        service = services[name]
        assert service["image"] == f"temporalio/server:{build.TEMPORAL_SERVER.removeprefix('v')}"
        script, service_name = service["entrypoint"][2], name.removeprefix("temporal-")
        assert service["command"] == [service_name]
        assert f'exec temporal-server --config-file {CONFIG} start --service "$1"' in script
        env = service["environment"]
        exported = set(re.findall(r"^export ([\w ]+)$", script, re.M)[0].split())
        assert required <= set(env) | exported, required - set(env) - exported
        assert {"POSTGRES_PWD", "TEMPORAL_BROADCAST_ADDRESS"} <= exported
        assert "hostname -i" in script and "/run/secrets/postgres_password" in compose.mounted(
            service
        )
        assert env.items() >= TEMPORAL_ENV.items()
        assert env["SQL_MAX_CONNS"] == str(CONNECTIONS[service_name])
        volumes = dict(v.rsplit(":", 2)[:2] for v in service["volumes"] if v.endswith(":ro"))
        assert volumes["./temporal/config.yaml"] == CONFIG
        assert volumes["./temporal/dynamicconfig.yaml"] == env["DYNAMIC_CONFIG_FILE_PATH"]
        assert service["depends_on"] == {
            "temporal-schema": {"condition": "service_completed_successfully"}
        }
    assert compose.COMPOSE_FILE.read_text().count("NUM_HISTORY_SHARDS:") == 1  # one anchor


def test_the_schema_job_makes_the_databases_as_the_cluster_tier_does(services):
    job = services["temporal-schema"]
    assert job["image"] == f"temporalio/admin-tools:{build.TEMPORAL_SERVER.removeprefix('v')}"
    script = job["command"][0]
    assert "temporal:temporal temporal_visibility:visibility" in script
    for step in ("create-database", "setup-schema -v 0.0", "update-schema"):
        assert step in script
    assert '-d "/etc/temporal/schema/postgresql/v12/$schema/versioned"' in script
    module = build.cache_dir() / "schema" / "postgresql" / "v12"
    if module.exists():  # the schema files the cluster tier copied from the same module
        assert all((module / s / "versioned").is_dir() for s in ("temporal", "visibility"))
    assert re.fullmatch(r"postgres:15\.\d+-bookworm", services["postgresql"]["image"])
    assert services["records-database"]["image"] == services["postgresql"]["image"]
    assert "CREATE DATABASE linkage OWNER linkage" in services["records-database"]["command"][0]


def test_the_ui_is_read_only_and_decodes_through_the_gate(services):
    ui, gate, codec = (services[n] for n in ("temporal-ui", "linkage-ui-gate", "linkage-codec"))
    assert ui["image"] == f"temporalio/ui:{build.UI_SERVER.removeprefix('v')}"
    env = ui["environment"]
    assert env.items() >= UI_ENV.items()
    assert "ports" not in ui and "ports" not in codec
    assert not any("API_KEY" in key or "TOKEN" in key for key in env)  # it holds no credential
    argv = gate["command"]
    assert argv[argv.index("--ui") + 1] == "http://temporal-ui:8080"
    assert argv[argv.index("--codec") + 1] == "http://linkage-codec:8381"
    assert codec["command"][codec["command"].index("--ui-origin") + 1] == ORIGIN
    assert gate["ports"] == ["127.0.0.1:8382:8382"]  # behind the district's TLS proxy


def _subcommand(argv: list[str]) -> tuple[str, set[str]]:
    args = argv[argv.index("linkage.interfaces.cli.main") + 1 :]
    return args[0], {a for a in args if a.startswith("--")}


def test_compose_runs_every_part_the_cluster_tier_runs(services):
    ports = Ports()
    cluster = [part.command for part in project_parts(ports, 1, 1, {}, {})]
    cluster.append(gate_part(ports, Path("/s"), {}).command)
    linkage = [s["command"] for n, s in services.items() if n.startswith("linkage-")]
    ours = {argv[0]: {a for a in argv if a.startswith("--")} for argv in linkage}
    for command in cluster:
        sub, flags = _subcommand(command)
        assert sub in ours, sub
        assert flags <= ours[sub], (sub, flags - ours[sub])
    assert "setup" in ours and set(TEMPORAL) <= set(services) and "temporal-ui" in services
    project = {n: s for n, s in services.items() if n.startswith("linkage-")}
    for service in project.values():
        assert service["image"] == services["linkage-api"]["image"]
        assert {key: service.get(key) for key in CONFINED} == CONFINED
        assert service["environment"].items() >= LINKAGE_ENV.items()
    tokens = {n: s["environment"].get("TEMPORAL_API_KEY_FILE") for n, s in project.items()}
    assert tokens == {
        "linkage-setup": "/run/secrets/temporal_admin_token",
        "linkage-worker": "/run/secrets/temporal_writer_token",
        "linkage-api": "/run/secrets/temporal_writer_token",
        "linkage-codec": "/run/secrets/temporal_reader_token",
        "linkage-ui-gate": "/run/secrets/temporal_reader_token",  # also what it adds to the UI
    }


def test_the_secrets_command_writes_every_file_compose_names(tmp_path):
    declared = compose.load_compose(env={"LINKAGE_UI_ORIGIN": ORIGIN})["secrets"]
    assert {name: entry["file"] for name, entry in declared.items()} == {
        name: f"./secrets/{file}" for name, file in secrets.FILES.items()
    }
    folder = tmp_path / "secrets"
    assert secrets.main([str(folder), "--owner", str(Path(tmp_path).stat().st_uid)]) == 0
    for file in [*secrets.FILES.values(), *secrets.KEPT_BACK]:
        assert (folder / file).stat().st_mode & 0o777 == 0o600, file
    read = {name: (folder / file).read_text().strip() for name, file in secrets.FILES.items()}
    assert read["database_url"].endswith(f":{read['records_password']}@postgresql:5432/linkage")
    Keyring.parse(read["codec_keys"])
    load_key(folder / "token-key.pem")
    keys = jwt.PyJWKSet.from_json((folder / "jwks.json").read_text())
    claims = jwt.decode(read["temporal_reader_token"], keys.keys[0].key, algorithms=["RS256"])
    assert claims["permissions"] == ["default:read"]
    for certificate in ("frontend.pem", "internode.pem"):  # the name the clients verify
        found = x509.load_pem_x509_certificate((folder / certificate).read_bytes())
        names = found.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert DEPLOYED_NAME in names.get_values_for_type(x509.DNSName), certificate
    before = (folder / "postgres-password").read_text()
    assert secrets.main([str(folder)]) == 1  # refused: nothing overwritten
    assert (folder / "postgres-password").read_text() == before
    assert secrets.main([str(folder), "--renew-tokens"]) == 0
    assert (folder / "writer.jwt").read_text().strip() != read["temporal_writer_token"]
    readme = (compose.PRODUCTION / "secrets" / "README.md").read_text()
    assert all(f"`{file}`" in readme for file in [*secrets.FILES.values(), *secrets.KEPT_BACK])


@pytest.mark.timeout(1800)  # the server is built once if the cluster tier has not built it
def test_the_server_renders_config_yaml_with_a_compose_service_environment(tmp_path, services):
    binary = build.binary("temporal-server")
    if not binary.exists():
        build.build()
    service = services["temporal-frontend"]
    env = {
        **service["environment"],
        "POSTGRES_PWD": "from-the-secret-file",
        "TEMPORAL_BROADCAST_ADDRESS": "172.18.0.5",
    }
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "production.yaml").write_text(
        (compose.PRODUCTION / "temporal" / "config.yaml").read_text()
    )
    command = [str(binary), "--root", str(tmp_path), "--env", "production", "render-config"]
    done = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, f"{shlex.join(command)}: {done.stderr}"
    rendered = yaml.safe_load(done.stdout)
    assert rendered["persistence"]["numHistoryShards"] == 512
    for store in rendered["persistence"]["datastores"].values():
        assert store["sql"]["connectAddr"] == "postgresql:5432"
    tls = rendered["global"]["tls"]
    files = set(_files(tls))
    assert len(files) == 5 and files <= compose.mounted(service), files - compose.mounted(service)
    assert {tls[k]["client"]["serverName"] for k in ("internode", "frontend", "systemWorker")} == {
        DEPLOYED_NAME
    }
    source = rendered["global"]["authorization"]["jwtKeyProvider"]["keySourceURIs"]
    assert source == ["file:///run/secrets/temporal/jwks.json"]
    assert "/run/secrets/temporal/jwks.json" in compose.mounted(service)
    assert rendered["global"]["membership"]["broadcastAddress"] == "172.18.0.5"
    assert rendered["services"]["frontend"]["rpc"]["bindOnIP"] == "0.0.0.0"
    assert rendered["dynamicConfigClient"]["filepath"] == "/etc/temporal/config/dynamicconfig.yaml"
    active = rendered["clusterMetadata"]["clusterInformation"]["active"]
    assert active["rpcAddress"] == "temporal-frontend:7233"
