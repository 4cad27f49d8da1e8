"""A release that changed the incident's code without a patch (for the replay gate's test): it
waits on a timer first. A module of its own, so that the sandbox imports nothing else."""

from __future__ import annotations

from temporalio import workflow


@workflow.defn(name="DivertedIncident")
class ChangedIncident:
    @workflow.run
    async def run(self, input: dict) -> None:
        await workflow.sleep(1)
