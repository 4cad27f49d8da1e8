"""Checking tools built from pinned Go modules, and files taken from them, cached between runs.

Only the Go module proxy is reachable on a new machine, so helm and kubeconform are built from
their modules, and schemas come from modules' source (the Compose specification's JSON schema
from compose-go). Several test processes may ask at once: a file lock lets one build.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

from linkage.ops.cluster.build import GO_TOOLCHAIN

BUILD_SECONDS = 1800  # helm on 2 cores, cold module cache: a few minutes


def tools_dir() -> Path:
    root = Path(os.environ.get("LINKAGE_CLUSTER_CACHE", Path.home() / ".cache" / "linkage"))
    return root / "tools"


def go_env() -> dict[str, str]:
    return {**os.environ, "GOTOOLCHAIN": GO_TOOLCHAIN, "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"}


@contextmanager
def _locked(name: str):
    tools_dir().mkdir(parents=True, exist_ok=True)
    with open(tools_dir() / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def tool(name: str, package: str, version: str) -> Path:
    """The binary of `package@version`, built once into the tools folder."""
    target = tools_dir() / f"{name}-{version}" / name
    if target.exists():
        return target
    with _locked(name):
        if target.exists():  # built while we waited
            return target
        with tempfile.TemporaryDirectory(dir=tools_dir()) as temp:
            done = subprocess.run(
                ["go", "install", f"{package}@{version}"],
                env={**go_env(), "GOBIN": temp},
                capture_output=True,
                text=True,
                timeout=BUILD_SECONDS,
            )
            if done.returncode != 0:
                raise RuntimeError(f"go install {package}@{version}: {done.stderr.strip()}")
            built = Path(temp) / Path(package).name
            target.parent.mkdir(parents=True, exist_ok=True)
            built.rename(target)
    return target


def module_dir(module: str, version: str) -> Path:
    """Where `module@version`'s source is, downloaded once into the Go module cache."""
    done = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        env=go_env(),
        capture_output=True,
        text=True,
        timeout=BUILD_SECONDS,
        cwd=tempfile.gettempdir(),  # outside any module
    )
    found = json.loads(done.stdout or "{}")
    if done.returncode != 0 or "Dir" not in found:
        raise RuntimeError(f"go mod download {module}@{version}: {found.get('Error', done.stderr)}")
    return Path(found["Dir"])
