"""The Compose file's and the project image's checks, without a container engine.

compose.yaml is held to the Compose specification's own JSON schema, taken from compose-go (the
library `docker compose` loads files with) after interpolating it as Compose does; the
Dockerfile to hadolint; the image's pins (constraints.txt) to the environment the suite runs
in; and the wheel the image installs to every file the processes load.

`python -m linkage.ops.deploy.compose constraints` writes constraints.txt anew;
`python -m linkage.ops.deploy.compose check` prints what the checks find.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

from linkage.ops.deploy.tools import module_dir
from linkage.settings.paths import PROJECT_ROOT

PRODUCTION = PROJECT_ROOT / "temporal-config" / "production"
COMPOSE_FILE = PRODUCTION / "compose.yaml"
DOCKERFILE = PRODUCTION / "Dockerfile"
CONSTRAINTS = PRODUCTION / "constraints.txt"
HADOLINT_CONFIG = PRODUCTION / ".hadolint.yaml"
DOCKERIGNORE = PROJECT_ROOT / ".dockerignore"
PYPROJECT = PROJECT_ROOT / "pyproject.toml"
COMPOSE_GO = ("github.com/compose-spec/compose-go/v2", "v2.16.2")

# --- Compose ----------------------------------------------------------------------------------

_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<plain>\w+))"
)


class InterpolationError(ValueError):
    """A `${NAME:?message}` whose variable is not set, as Compose refuses it."""


def interpolate(value, env: Mapping[str, str]):
    """Every string in `value` with `$NAME`, `${NAME}`, `${NAME:-default}`, `${NAME-default}`,
    `${NAME:?error}`, `${NAME?error}` and `$$` replaced as Compose replaces them."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def one(found: re.Match) -> str:
        if found["escaped"]:
            return "$"
        name = found["braced"] or found["plain"]
        given, op, arg = env.get(name), found["op"] or "", found["arg"] or ""
        missing = given is None or (op.startswith(":") and not given)
        if op.endswith("?") and missing:
            raise InterpolationError(f"{name}: {arg or 'required'}")
        if op.endswith("-") and missing:
            return arg
        return given or ""

    return _VARIABLE.sub(one, value)


def load_compose(path: Path = COMPOSE_FILE, env: Mapping[str, str] | None = None) -> dict:
    """The Compose file as Compose reads it: YAML with anchors and merge keys resolved, then
    interpolated from `env` (os.environ when None)."""
    import yaml

    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return interpolate(document, os.environ if env is None else env)


def compose_schema() -> dict:
    """The Compose specification's JSON schema, from the pinned compose-go module's source."""
    return json.loads((module_dir(*COMPOSE_GO) / "schema" / "compose-spec.json").read_text())


def schema_errors(document: dict, schema: dict | None = None) -> list[str]:
    """Where `document` breaks the Compose specification, one line each ("services.api.ports:
    ..."), as compose-go validates it; empty when it holds."""
    import jsonschema

    schema = schema or compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    document = json.loads(json.dumps(document))  # as compose-go does: plain JSON types only
    found = []
    for error in validator.iter_errors(document):
        best = jsonschema.exceptions.best_match([error])
        where = ".".join(str(part) for part in best.absolute_path) or "(top level)"
        found.append(f"{where}: {best.message}")
    return sorted(found)


_SECRETISH = re.compile(
    r"(?i)^\s*-?\s*([\w.-]*(password|pwd|secret|token|api_key)[\w.-]*)\s*[:=](.*)$"
)
_LEAKS = re.compile(r"eyJ[\w-]{8,}\.|-----BEGIN|://[^/\s:@]+:[^@\s/]+@")


def literal_secrets(text: str) -> list[str]:
    """Lines of a file that look like they hold a secret rather than name a file of one: a
    password, token or key given a value other than a secrets path, a JWT, a PEM block, a URL
    with a password, a long random-looking string."""
    found = []
    for line in text.splitlines():
        named = _SECRETISH.match(line)
        given = (
            named
            and named[1] != "secrets"
            and not re.search(r"/run/secrets/|\./secrets/", named[3])
        )
        blobs = re.findall(r"[A-Za-z0-9+/=_-]{32,}", line)
        mixed = any(all(re.search(c, b) for c in (r"\d", "[a-z]", "[A-Z]")) for b in blobs)
        if given or mixed or _LEAKS.search(line):
            found.append(line.strip())
    return found


def mounted(service: dict) -> set[str]:
    """Where a service's Compose secrets appear in its container."""
    entries = service.get("secrets", [])
    targets = [e if isinstance(e, str) else e.get("target", e["source"]) for e in entries]
    return {t if t.startswith("/") else f"/run/secrets/{t}" for t in targets}


def unmounted_secrets(services: dict) -> list[str]:
    """Each /run/secrets path a service's environment or command names where none of its
    secrets is mounted (a folder counts when secrets are mounted in it), as "service: path"."""
    found = []
    for name, service in services.items():
        paths = mounted(service)
        values = [*service.get("environment", {}).values(), *service.get("entrypoint", [])]
        for value in map(str, [*values, *service.get("command", [])]):
            for path in re.findall(r"/run/secrets/[\w./-]*\w", value):
                if path not in paths and not any(p.startswith(f"{path}/") for p in paths):
                    found.append(f"{name}: {path}")
    return found


# --- the Dockerfile -----------------------------------------------------------------------------


def hadolint(dockerfile: Path = DOCKERFILE) -> list[str]:
    """hadolint's findings at warning and above (empty when clean). Only the project's own
    .hadolint.yaml counts: a home folder's configuration is kept out."""
    binary = Path(sys.executable).with_name("hadolint")
    command = [str(binary), "--no-color", "--failure-threshold", "warning"]
    if HADOLINT_CONFIG.exists():
        command += ["--config", str(HADOLINT_CONFIG)]
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HOME": home, "XDG_CONFIG_HOME": home}
        done = subprocess.run(
            [*command, str(dockerfile)], capture_output=True, text=True, env=env, cwd=home
        )
    if done.returncode == 0:
        return []
    return (done.stdout + done.stderr).strip().splitlines() or [f"hadolint: {done.returncode}"]


def stages(dockerfile: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(base image, stage name) of each FROM, in order."""
    found = []
    for line in dockerfile.read_text(encoding="utf-8").splitlines():
        words = line.split()
        if words and words[0].upper() == "FROM":
            rest = [w for w in words[1:] if not w.startswith("--")]
            name = rest[2] if len(rest) >= 3 and rest[1].upper() == "AS" else ""
            found.append((rest[0], name))
    return found


def dockerignored(path: str, patterns: list[str] | None = None) -> bool:
    """Whether the build context leaves `path` (relative to the repository root) out: the last
    .dockerignore pattern that matches it or a folder above it decides."""
    if patterns is None:
        lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        keep = pattern.startswith("!")
        pattern = pattern.lstrip("!").strip("/")
        if any(fnmatch.fnmatchcase(candidate, pattern) for candidate in candidates):
            ignored = not keep
    return ignored


# --- the image's Python packages ----------------------------------------------------------------


def _pyproject() -> dict:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))


def runtime_pins() -> dict[str, str]:
    """Every runtime requirement of pyproject.toml and all of theirs (extras and markers as
    installed here), at the version installed: {canonical name: version}."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    pins: dict[str, str] = {}
    seen: set[tuple[str, frozenset]] = set()
    todo = [
        (Requirement(text), frozenset({""})) for text in _pyproject()["project"]["dependencies"]
    ]
    while todo:
        requirement, parent_extras = todo.pop()
        marker = requirement.marker
        if marker and not any(marker.evaluate({"extra": extra}) for extra in parent_extras):
            continue
        name = canonicalize_name(requirement.name)
        key = (name, frozenset(requirement.extras))
        if key in seen:
            continue
        seen.add(key)
        installed = metadata.distribution(name)
        if not requirement.specifier.contains(installed.version, prereleases=True):
            raise ValueError(f"{name} {installed.version} is installed; {requirement} is required")
        pins[name] = installed.version
        extras = frozenset({"", *requirement.extras})
        todo += [(Requirement(text), extras) for text in installed.requires or []]
    return dict(sorted(pins.items()))


def constraints_text() -> str:
    header = [
        "# The project image's pins: every runtime dependency in pyproject.toml and each of",
        "# theirs, at the version the test suite runs with (CPython 3.11 on Linux). Made by",
        "# `python -m linkage.ops.deploy.compose constraints`; tests/deploy holds it current.",
    ]
    return (
        "\n".join([*header, *(f"{name}=={version}" for name, version in runtime_pins().items())])
        + "\n"
    )


def unpackaged_files() -> list[str]:
    """Files of the project's packages that its wheel would leave out: a module outside every
    package setuptools finds, or a data file no package-data pattern names."""
    from setuptools import find_namespace_packages

    tool = _pyproject()["tool"]["setuptools"]
    found = tool["packages"]["find"]
    packages = set(
        find_namespace_packages(
            where=str(PROJECT_ROOT), include=found["include"], exclude=found.get("exclude", ())
        )
    )
    data = tool.get("package-data", {})
    missing = []
    tops = {pattern.rstrip("*") for pattern in found["include"]}
    for top in sorted(tops):
        for path in sorted((PROJECT_ROOT / top).rglob("*")):
            relative = path.relative_to(PROJECT_ROOT)
            if not path.is_file() or "__pycache__" in relative.parts or path.suffix == ".pyc":
                continue
            package = ".".join(relative.parent.parts)
            patterns = [*data.get(package, []), *data.get("*", [])]
            packaged = package in packages and (
                path.suffix == ".py" or any(fnmatch.fnmatch(path.name, p) for p in patterns)
            )
            if not packaged:
                missing.append(str(relative))
    return missing


def main(argv: list[str] | None = None) -> int:
    command = (argv if argv is not None else sys.argv[1:]) or ["check"]
    if command[0] == "constraints":
        CONSTRAINTS.write_text(constraints_text())
        print(f"wrote {CONSTRAINTS.relative_to(PROJECT_ROOT)}")
        return 0
    problems = schema_errors(load_compose(env={"LINKAGE_UI_ORIGIN": "https://ui.example"}))
    problems += hadolint() + [f"not in the wheel: {path}" for path in unpackaged_files()]
    if CONSTRAINTS.read_text() != constraints_text():
        problems.append(f"{CONSTRAINTS.name} is not current: run this module with `constraints`")
    print("\n".join(problems) or "compose.yaml, Dockerfile and constraints.txt: no problems")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
