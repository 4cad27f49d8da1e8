"""The cluster's binaries, built from pinned Go modules once and cached between runs.

Temporal v1.32 needs a newer Go than the machines carry; the go command fetches the pinned
toolchain from the Go module proxy like any module (GOTOOLCHAIN). The schema files come from the
same module, copied beside the binaries so a cached build needs no module cache.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

TEMPORAL_SERVER = "v1.32.2"
UI_SERVER = "v2.56.4"  # v2.58 needs go.temporal.io/api v1.64.0, which the proxy does not serve
GO_TOOLCHAIN = "go1.27.3"  # v1.32 asks for go >= 1.26.10

# name in the cache: (package, version)
BINARIES = {
    "temporal-server": ("go.temporal.io/server/cmd/server", TEMPORAL_SERVER),
    "temporal-sql-tool": ("go.temporal.io/server/cmd/tools/sql", TEMPORAL_SERVER),
    "temporal-ui-server": ("github.com/temporalio/ui-server/v2/cmd/server", UI_SERVER),
}


def cache_dir() -> Path:
    """One folder per pinned pair of versions (LINKAGE_CLUSTER_CACHE, else ~/.cache/linkage)."""
    root = Path(os.environ.get("LINKAGE_CLUSTER_CACHE", Path.home() / ".cache" / "linkage"))
    return root / f"temporal-{TEMPORAL_SERVER}-ui-{UI_SERVER}"


def binary(name: str) -> Path:
    return cache_dir() / "bin" / name


def schema_dir() -> Path:
    return cache_dir() / "schema" / "postgresql" / "v12"


def _go_env() -> dict[str, str]:
    return {**os.environ, "GOTOOLCHAIN": GO_TOOLCHAIN, "CGO_ENABLED": "0"}


def _go() -> str:
    found = shutil.which("go")
    if not found:
        raise SystemExit("cluster: Go is needed to build the Temporal server (go not found)")
    return found


def _install(package: str, version: str, target: Path) -> None:
    """`go install` into a folder of its own (two of the packages are both named `server`)."""
    with tempfile.TemporaryDirectory(prefix="linkage-go-") as gobin:
        subprocess.run(
            [_go(), "install", f"{package}@{version}"],
            env={**_go_env(), "GOBIN": gobin},
            check=True,
        )
        (built,) = Path(gobin).iterdir()
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(built), target)


def _copy_schema() -> None:
    modcache = subprocess.run(
        [_go(), "env", "GOMODCACHE"], env=_go_env(), check=True, capture_output=True, text=True
    ).stdout.strip()
    source = Path(modcache) / f"go.temporal.io/server@{TEMPORAL_SERVER}/schema/postgresql/v12"
    target = schema_dir()
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    for path in target.rglob("*"):  # the module cache's files are read-only
        path.chmod(0o755 if path.is_dir() else 0o644)


def build(say=print) -> dict:
    """Build what is missing; returns what each build cost (seconds), recorded in build.json.
    One build at a time (a lock file in the cache): the cluster tier and the deploy checks
    may both ask on a new machine."""
    cache_dir().mkdir(parents=True, exist_ok=True)
    with open(cache_dir() / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _build(say)


def _build(say) -> dict:
    record_path = cache_dir() / "build.json"
    record = json.loads(record_path.read_text()) if record_path.exists() else {}
    for name, (package, version) in BINARIES.items():
        if binary(name).exists():
            continue
        say(f"cluster: building {name} from {package}@{version} (once; cached)")
        started = time.monotonic()
        _install(package, version, binary(name))
        record[name] = round(time.monotonic() - started, 1)
    if not schema_dir().exists():
        _copy_schema()
    record["versions"] = {"temporal": TEMPORAL_SERVER, "ui": UI_SERVER, "go": GO_TOOLCHAIN}
    record_path.parent.mkdir(parents=True, exist_ok=True)
    record_path.write_text(json.dumps(record, indent=2) + "\n")
    return record
