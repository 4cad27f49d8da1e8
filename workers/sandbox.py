"""The sandbox the workflows run in, without the costs it need not have.

Kept per process, in memory: the workflow modules' compiled code, and the SDK's glue.

The sandbox imports a workflow's modules afresh for every workflow run it starts (and again for
a run evicted from the cache), so that no run sees another's module state. Reading and
unmarshalling each module's bytecode every time costs little; compiling it from source, which
Python does on every import where no bytecode is written (PYTHONDONTWRITEBYTECODE, a read-only
tree), costs half of a run's start. The code object is immutable and the same for every run:
kept here once per file version, each run still executes it into a module of its own.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
import threading
from dataclasses import dataclass
from types import CodeType

from temporalio.converter import DataConverter, WorkflowSerializationContext
from temporalio.converter._extstore import StorageDriverStoreContext
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance

_code: dict[tuple[str, int, int], CodeType] = {}
_guard = threading.Lock()


class _KeptLoader(importlib.machinery.SourceFileLoader):
    """A source loader whose code is compiled once per file version (path, mtime, size)."""

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        stat = os.stat(path)
        key = (path, stat.st_mtime_ns, stat.st_size)
        code = _code.get(key)
        if code is None:
            code = super().get_code(fullname)
            with _guard:
                _code[key] = code
        return code


class KeptCode(importlib.abc.MetaPathFinder):
    """Finds the modules of the given packages as the path finder does, loaded by _KeptLoader."""

    def __init__(self, packages: tuple[str, ...]) -> None:
        self.packages = packages

    def find_spec(self, fullname: str, path=None, target=None):
        if fullname.split(".", 1)[0] not in self.packages:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        loader = spec.loader if spec is not None else None
        if type(loader) is importlib.machinery.SourceFileLoader:
            spec.loader = _KeptLoader(loader.name, loader.path)
        return spec


def keep_compiled(*packages: str) -> None:
    """From now on, the modules of `packages` are compiled once per process (idempotent)."""
    if not any(isinstance(f, KeptCode) and f.packages == packages for f in sys.meta_path):
        sys.meta_path.insert(0, KeptCode(packages))


class _KeptInstance(_Instance):
    """The SDK's sandboxed instance, with its glue snippets compiled once per process (it
    runs one, an `exec` of a string, for every activation and for every payload of it); and,
    for a data converter that ignores serialization contexts, no entry into the sandbox to
    ask for a payload's context (several entries per activation)."""

    def __init__(self, *args, context_free: bool = False) -> None:
        self._context_free = context_free
        super().__init__(*args)

    def _run_code(self, code, **extra_globals) -> None:
        if isinstance(code, str):
            kept = _snippets.get(code)
            if kept is None:
                kept = _snippets.setdefault(code, compile(code, "<sandbox>", "exec"))
            code = kept
        super()._run_code(code, **extra_globals)

    def get_serialization_context(self, command_info):
        if self._context_free:  # the converter is the same with any context, or none
            return None
        return super().get_serialization_context(command_info)

    def get_external_store_context(self, command_info) -> StorageDriverStoreContext:
        if self._context_free:  # no external storage to give it to
            return StorageDriverStoreContext(target=None)
        return super().get_external_store_context(command_info)


_snippets: dict[str, CodeType] = {}


def ignores_context(converter: DataConverter) -> bool:
    """A converter that is the very same with a serialization context (none of its parts takes
    one, as the SDK itself decides) and stores nothing externally."""
    probe = WorkflowSerializationContext(namespace="probe", workflow_id="probe")
    return converter.external_storage is None and converter.with_context(probe) is converter


@dataclass(frozen=True)
class KeptSandboxRunner(SandboxedWorkflowRunner):
    """The SDK's sandboxed runner, its instances `_KeptInstance`. `context_free`: the worker's
    data converter ignores serialization contexts (`ignores_context`)."""

    context_free: bool = False

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _KeptInstance(
            det, self.runner_class, self.restrictions, context_free=self.context_free
        )
