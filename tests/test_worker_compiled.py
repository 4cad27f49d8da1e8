"""The worker compiles what the sandbox imports once per process (workers.compiled): a module's
code is compiled once per version of its file and executed afresh for every import, and the
SDK's glue snippets are compiled once."""

from __future__ import annotations

import importlib
import inspect
import os
import sys

import pytest
from temporalio.worker.workflow_sandbox._runner import _Instance

from workers import compiled
from workers.compiled import KeptCode, keep_compiled
from workers.main import SANDBOXED, workflow_runner


@pytest.fixture
def package(tmp_path, monkeypatch):
    root = tmp_path / "keptpkg"
    root.mkdir()
    (root / "__init__.py").write_text("")
    (root / "mod.py").write_text("VALUE = 1\nRUNS = []\nRUNS.append(1)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    finder = KeptCode(("keptpkg",))
    sys.meta_path.insert(0, finder)
    yield root
    sys.meta_path.remove(finder)
    for name in [n for n in sys.modules if n.startswith("keptpkg")]:
        del sys.modules[name]


def fresh_import(name: str):
    sys.modules.pop(name, None)
    return importlib.import_module(name)


def test_a_module_is_compiled_once_and_run_afresh_at_every_import(package, monkeypatch):
    compiles = []
    real = compiled.importlib.machinery.SourceFileLoader.get_code
    monkeypatch.setattr(
        compiled.importlib.machinery.SourceFileLoader,
        "get_code",
        lambda self, name: compiles.append(name) or real(self, name),
    )
    first = fresh_import("keptpkg.mod")
    second = fresh_import("keptpkg.mod")
    assert compiles.count("keptpkg.mod") == 1
    assert first is not second and first.RUNS is not second.RUNS  # no state shared
    assert isinstance(first.__loader__, compiled._KeptLoader)


def test_a_changed_file_is_compiled_again(package):
    assert fresh_import("keptpkg.mod").VALUE == 1
    path = package / "mod.py"
    path.write_text("VALUE = 22\n")
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert fresh_import("keptpkg.mod").VALUE == 22


def test_other_packages_are_left_to_the_path_finder(package):
    assert KeptCode(("keptpkg",)).find_spec("json") is None


def test_the_worker_keeps_its_own_packages_compiled_once():
    workflow_runner()
    workflow_runner()
    keep_compiled(*SANDBOXED)
    kept = [f for f in sys.meta_path if isinstance(f, KeptCode) and f.packages == SANDBOXED]
    assert len(kept) == 1


def test_the_sdk_still_runs_its_glue_the_way_the_kept_runner_expects():
    """The kept runner overrides the SDK's private `_Instance._run_code(code, **globals)`,
    which hands `code` to exec(): an SDK upgrade that changes it must be looked at."""
    parameters = list(inspect.signature(_Instance._run_code).parameters.values())
    assert [p.name for p in parameters[:2]] == ["self", "code"]
    assert parameters[2].kind is inspect.Parameter.VAR_KEYWORD
    assert "exec(code" in inspect.getsource(_Instance._run_code)
