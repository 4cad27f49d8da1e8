"""The offline checks of the production deployment, for the suite and for an operator.

The linkage Helm chart is linted, rendered with its defaults and with a district's values, and
every object is validated against Kubernetes' own schemas; Temporal's Helm values are held to
the server configuration the cluster tier runs. helm and kubeconform are built from their Go
modules; nothing else is fetched at run time (a dead proxy makes sure of it).

    python -m linkage.ops.deploy.chart
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from importlib import metadata, resources
from pathlib import Path

import yaml

from linkage.ops.cluster.build import TEMPORAL_SERVER, UI_SERVER
from linkage.ops.deploy.tools import tool, tools_dir
from linkage.settings.paths import PROJECT_ROOT

HELM = ("helm", "helm.sh/helm/v4/cmd/helm", "v4.3.2")
KUBECONFORM = ("kubeconform", "github.com/yannh/kubeconform/cmd/kubeconform", "v0.8.0")
PRODUCTION = PROJECT_ROOT / "temporal-config" / "production"
CHART = PRODUCTION / "helm" / "linkage"
TEMPORAL_VALUES = PRODUCTION / "helm" / "temporal-values.yaml"
SERVER_CONFIG = PRODUCTION / "temporal" / "config.yaml"
DYNAMIC_CONFIG = PRODUCTION / "temporal" / "dynamicconfig.yaml"
RELEASE, NAMESPACE = "linkage", "linkage"
DEAD_PROXY = "http://127.0.0.1:9"  # whatever tries the network fails at once
TIMEOUT = 300
DISTRICT_VALUES = CHART / "ci" / "district-values.yaml"  # a second, realistic values file
# Sub-charts of the 0.x Temporal charts: the 1.x chart refuses to render when any key is given.
REMOVED_KEYS = ("cassandra", "elasticsearch", "mysql", "postgresql", "prometheus", "grafana")


class CheckFailed(Exception):
    """A check refused the chart or the values; the message carries the tool's own words."""


def helm() -> Path:
    return tool(*HELM)


def kubeconform() -> Path:
    return tool(*KUBECONFORM)


def _offline() -> dict[str, str]:
    env = {**os.environ, "NO_PROXY": "", "no_proxy": ""}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env[name] = DEAD_PROXY
    return env


def _run(args: Sequence[object], env: Mapping[str, str]) -> subprocess.CompletedProcess:
    args = [str(a) for a in args]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=TIMEOUT)


def _helm_run(command: Sequence[object], values: Sequence[Mapping]) -> str:
    """helm with its cache, configuration and data in a folder of its own (never the user's
    home, no repository index), the values written beside them for --values."""
    with tempfile.TemporaryDirectory(prefix="helm-") as home:
        env = _offline()
        for part in ("CACHE", "CONFIG", "DATA"):
            env[f"HELM_{part}_HOME"] = str(Path(home) / part.lower())
        files = []
        for i, given in enumerate(values):
            path = Path(home) / f"values-{i}.yaml"
            path.write_text(yaml.safe_dump(dict(given), sort_keys=False), encoding="utf-8")
            files += ["--values", path]
        done = _run([helm(), *command, *files], env)
    if done.returncode != 0:
        said = "\n".join(text.strip() for text in (done.stdout, done.stderr) if text.strip())
        raise CheckFailed(f"helm {command[0]}: {said}")
    return done.stdout


def lint(*values: Mapping) -> str:
    """`helm lint --strict` (a warning fails too), over the defaults and the given values."""
    return _helm_run(["lint", "--strict", CHART], values)


def render(*values: Mapping) -> str:
    """`helm template`, hooks included, for the Kubernetes version of the schemas."""
    command = ["template", RELEASE, CHART, "--namespace", NAMESPACE]
    return _helm_run([*command, "--kube-version", kubernetes_version()], values)


def objects(manifests: str) -> list[dict]:
    return [found for found in yaml.safe_load_all(manifests) if found]


def _schema_source() -> Path:
    root = Path(str(resources.files("kubernetes_validate"))) / "kubernetes-json-schema"
    found = [p for p in root.iterdir() if re.fullmatch(r"v\d+\.\d+\.\d+-local-strict", p.name)]
    if not found:
        raise CheckFailed(f"no vX.Y.Z-local-strict schemas in {root}")
    return max(found, key=lambda p: tuple(int(n) for n in p.name[1:].split("-")[0].split(".")))


def kubernetes_version() -> str:
    return _schema_source().name[1:].split("-")[0]


def schemas() -> Path:
    """Kubernetes' strict schemas from the kubernetes-validate package, readable offline. Each
    has `$id: https://kubernetes.io/api/…` and refers to `/api/_definitions.json`, which
    kubeconform would fetch from kubernetes.io (and, failing, call the schema missing); the
    copy drops the `$id`s and refers to the `_definitions.json` beside it. Made once."""
    source = _schema_source()
    package = metadata.version("kubernetes-validate")
    target = tools_dir() / f"kubernetes-json-schema-{source.name}-{package}"
    if target.exists():
        return target
    tools_dir().mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(dir=tools_dir()))
    try:
        for path in source.glob("*.json"):
            text = path.read_text(encoding="utf-8")
            schema = json.loads(text.replace('"/api/_definitions.json#', '"_definitions.json#'))
            schema.pop("$id", None)
            (temp / path.name).write_text(json.dumps(schema), encoding="utf-8")
        temp.rename(target)
    except OSError:
        if not target.exists():  # else made meanwhile by another process
            raise
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return target


def validate(manifests: str) -> list[dict]:
    """kubeconform's verdict on each object, strict (no field the schema lacks, no duplicate
    key); CheckFailed unless every object is found valid: none skipped, none without schema."""
    location = f"{schemas()}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json"
    with tempfile.TemporaryDirectory(prefix="kubeconform-") as temp:
        path = Path(temp) / "manifests.yaml"
        path.write_text(manifests, encoding="utf-8")
        flags = ["-strict", "-summary", "-verbose", "-output", "json"]
        done = _run([kubeconform(), *flags, "-schema-location", location, path], _offline())
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise CheckFailed(f"kubeconform: {done.stderr.strip() or done.stdout.strip()}") from None
    results = report.get("resources") or []
    bad = [f"{r['kind']} {r['name']}: {r['msg']}" for r in results if r["status"] != "statusValid"]
    if done.returncode != 0 or bad or len(results) != len(objects(manifests)):
        raise CheckFailed(f"kubeconform: {'; '.join(bad) or report.get('summary')}")
    return results


def production_shards() -> int:
    """The history shard count config.yaml documents for a production installation."""
    comments = re.sub(r"\n\s*#\s*", " ", SERVER_CONFIG.read_text(encoding="utf-8"))
    found = re.search(r"a province runs (\d+)", comments)
    if not found:
        raise CheckFailed(f"{SERVER_CONFIG.name} no longer documents a province's shard count")
    return int(found[1])


def server_config(environ: Mapping[str, str]) -> dict:
    """config.yaml as the server renders it with `environ`: the template actions it uses (env,
    default, quote, printf, variables); a guard that would stop the server raises, naming it."""
    variables: dict[str, str] = {}
    lines = []
    for line in SERVER_CONFIG.read_text(encoding="utf-8").splitlines():
        if guard := re.match(r'\s*\{\{- if not \(env "(\w+)"\) \}\}', line):
            if not environ.get(guard[1]):
                raise CheckFailed(f"{SERVER_CONFIG.name}: {guard[1]} is not set")
        elif assign := re.fullmatch(r"\s*\{\{-\s*\$(\w+) := (.*?)\s*\}\}", line):
            variables[assign[1]] = _evaluate(assign[2], environ, variables)
        else:
            lines.append(
                re.sub(r"\{\{\s*(.*?)\s*\}\}", lambda a: _evaluate(a[1], environ, variables), line)
            )
    return yaml.safe_load("\n".join(lines))


def _evaluate(expression: str, environ: Mapping[str, str], variables: Mapping[str, str]) -> str:
    tokens = re.findall(r'"[^"]*"|[()|]|\$?[\w.]+', expression)
    functions = {
        "env": lambda name: environ.get(name, ""),
        "default": lambda fallback, given: given or fallback,
        "quote": json.dumps,
        "printf": lambda form, *args: form.replace("%s", "{}").format(*args),
    }

    def operand() -> str:
        token = tokens.pop(0)
        if token == "(":
            value = pipeline()
            tokens.pop(0)  # ")"
            return value
        return token[1:-1] if token.startswith('"') else variables[token[1:]]

    def pipeline() -> str:
        value = None
        while tokens and tokens[0] != ")":
            if tokens[0] == "|":
                tokens.pop(0)
            function = functions.get(tokens[0]) and functions[tokens.pop(0)]
            args = []
            while tokens and tokens[0] not in ("|", ")"):
                args.append(operand())
            args += [] if value is None else [value]  # what the pipe brings comes last
            value = function(*args) if function else args[0]
        return value

    return pipeline()


# A setting in Temporal's Helm values -> the same in config.yaml, as the server renders it.
SAME_AS_TESTED = {
    "server.config.logLevel": "log.level",
    "server.config.metrics.prometheus.timerType": "global.metrics.prometheus.timerType",
    "server.config.tls.refreshInterval": "global.tls.refreshInterval",
    "server.config.tls.expirationChecks": "global.tls.expirationChecks",
    "server.config.tls.systemWorker.client.serverName": "global.tls.systemWorker.client.serverName",
    "server.tls.internode.requireClientAuth": "global.tls.internode.server.requireClientAuth",
    "server.tls.frontend.requireClientAuth": "global.tls.frontend.server.requireClientAuth",
    **{
        f"server.config.authorization.{key}": f"global.authorization.{key}"
        for key in ("authorizer", "claimMapper", "permissionsClaimName")
    },
    "server.config.authorization.jwtKeyProvider.refreshInterval": (
        "global.authorization.jwtKeyProvider.refreshInterval"
    ),
}
STORE_KEYS = ("pluginName", "databaseName", "connectProtocol", "maxConns", "maxIdleConns")
STORE_KEYS += ("maxConnLifetime", "tls.enabled")


def _at(tree: object, path: str, default: object = False) -> object:
    for key in path.split("."):
        tree = tree.get(key, default) if isinstance(tree, Mapping) else default
    return tree


def temporal_values_problems(values: Mapping | None = None) -> list[str]:
    """Where Temporal's Helm values (the file, or `values`) part from what the project runs and
    tests: build.py's pins, config.yaml's settings, dynamicconfig.yaml's entries."""
    given = values if values is not None else yaml.safe_load(TEMPORAL_VALUES.read_text())
    shards = production_shards()
    environ = {"POSTGRES_SEEDS": "db", "POSTGRES_USER": "temporal", "POSTGRES_PWD": "-"}
    environ |= {"TEMPORAL_TLS_DIR": "/tls", "NUM_HISTORY_SHARDS": str(shards)}
    environ["TEMPORAL_TLS_SERVER_NAME"] = _at(given, "server.tls.internode.serverName", "")
    keys = _at(given, "server.config.authorization.jwtKeyProvider.keySourceURIs") or [""]
    tested = server_config({**environ, "TEMPORAL_JWT_KEY_SOURCE": keys[0]})
    pairs = [
        ("server.image.tag", TEMPORAL_SERVER.removeprefix("v")),
        ("web.image.tag", UI_SERVER.removeprefix("v")),
        ("server.config.persistence.numHistoryShards", shards),
        ("server.dynamicConfig", yaml.safe_load(DYNAMIC_CONFIG.read_text(encoding="utf-8"))),
        ("server.internal-frontend.enabled", True),
        ("server.tls.internode.enabled", True),
        ("server.tls.frontend.enabled", True),
        *((ours, _at(tested, theirs)) for ours, theirs in SAME_AS_TESTED.items()),
    ]
    problems = [
        f"{path}: {_at(given, path)!r}, expected {want!r}"
        for path, want in pairs
        if _at(given, path) != want
    ]
    for role in ("defaultStore", "visibilityStore"):
        name = _at(given, f"server.config.persistence.{role}")
        ours = _at(given, f"server.config.persistence.datastores.{name}.sql", {})
        theirs = _at(tested, f"persistence.datastores.{_at(tested, f'persistence.{role}')}.sql")
        problems += [
            f"{role} {name}: sql.{key} is {_at(ours, key)!r}, config.yaml's {_at(theirs, key)!r}"
            for key in STORE_KEYS
            if _at(ours, key) != _at(theirs, key)
        ]
        if "password" in ours or not ours.get("existingSecret"):
            problems.append(f"{role} {name}: the password must come from an existingSecret")
    return problems + [
        f"{key}: a key the 1.x chart refuses" for key in REMOVED_KEYS if key in given
    ]


def check_all() -> list[str]:
    """Every check, one line each; CheckFailed at the first refusal."""
    lines = []
    district = yaml.safe_load(DISTRICT_VALUES.read_text(encoding="utf-8"))
    for name, values in (("its defaults", ()), ("a district's values", (district,))):
        lint(*values)
        valid = validate(render(*values))
        lines.append(
            f"chart with {name}: lint passed; {len(valid)} objects valid against "
            f"Kubernetes {kubernetes_version()}'s strict schemas"
        )
    if problems := temporal_values_problems():
        raise CheckFailed(f"{TEMPORAL_VALUES.name}: {'; '.join(problems)}")
    lines.append(f"{TEMPORAL_VALUES.name}: as config.yaml, dynamicconfig.yaml and build.py")
    return lines


if __name__ == "__main__":
    try:
        print("\n".join(check_all()))
    except CheckFailed as err:
        sys.exit(f"deploy check: {err}")
