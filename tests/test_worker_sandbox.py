"""The sandbox without the costs it need not have (workers.sandbox): a module's code is compiled
once per version of its file and executed afresh for every import, the SDK's glue snippets are
compiled once, and a converter that takes no context is not given one."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import os
import sys

import pytest
from temporalio.converter import DataConverter, PayloadCodec, WithSerializationContext
from temporalio.worker import _workflow
from temporalio.worker.workflow_sandbox._runner import _Instance

from linkage.trust.temporal import DATA_CONVERTER
from workers import sandbox as compiled
from workers.main import SANDBOXED, workflow_runner
from workers.sandbox import KeptCode, ignores_context, keep_compiled


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


class ContextAwareCodec(PayloadCodec, WithSerializationContext):
    """A codec that would encrypt per workflow: it must be given each payload's context."""

    def __init__(self, context=None) -> None:
        self.context = context

    async def encode(self, payloads):
        return list(payloads)

    async def decode(self, payloads):
        return list(payloads)

    def with_context(self, context):
        return ContextAwareCodec(context)


def test_the_sandbox_is_asked_for_contexts_only_when_the_converter_takes_them():
    assert ignores_context(DATA_CONVERTER)  # the project's: no part takes a context
    aware = dataclasses.replace(DATA_CONVERTER, payload_codec=ContextAwareCodec())
    assert not ignores_context(aware)
    assert workflow_runner(DATA_CONVERTER).context_free
    assert not workflow_runner(aware).context_free
    assert not workflow_runner().context_free  # (a replayer's, told nothing)


def test_the_sdk_still_asks_the_instance_for_contexts_the_way_the_kept_runner_expects():
    """The kept runner answers the SDK's private `get_serialization_context` and
    `get_external_store_context` itself; the SDK's data converter must still treat None as
    'no context' and skip external storage when there is none."""
    source = inspect.getsource(_workflow._CommandAwareDataConverter._get_current_dc)
    assert "if context is None:" in source and "_ca_context_free_dc" in source
    store = inspect.getsource(DataConverter._external_store_payload_sequence)
    assert "if self.external_storage:" in store
