"""A workflow that says which modules the sandbox gave it as the worker has them (passed
through) rather than its own copy: the worker marks its own copies first. A module of its own,
so that the sandbox loads nothing else of the tests with it."""

from __future__ import annotations

import importlib

from temporalio import workflow

MARK = "_loaded_by_the_host"


@workflow.defn
class WhichModules:
    @workflow.run
    async def run(self, names: list[str]) -> list[str]:
        shared = []
        for name in names:
            module = importlib.import_module(name)
            if getattr(module, MARK, False):
                shared.append(name)
        return shared
