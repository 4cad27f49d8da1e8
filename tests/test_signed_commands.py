"""Signed commands: an update or a signal sent straight to Temporal's port, without the front
door's proof, is refused (updates, in their validator) or ignored (signals), even on one
machine; a proof that does not match what the command carries is refused too."""

from __future__ import annotations

import base64

import pytest
from temporalio import client as temporal_client
from temporalio.client import WorkflowUpdateFailedError

from linkage.domain.actions import ReviewAction
from linkage.domain.models import Actor
from linkage.settings.config import ConfigError
from linkage.trust.commands import CommandKeys, load_command_keys
from linkage.trust.signing import CommandSigner
from tests.conftest import eventually, open_incident
from tests.parties import BUREAU, STATION, as_
from workflows.loop_contracts import RULE_TRIGGERED, RuleEvent


def keyring(*ids: str) -> CommandKeys:
    return CommandKeys.parse(
        ",".join(f"{i}:{base64.b64encode(i.encode() * 32).decode()}" for i in ids)
    )


def test_a_rotated_keyring_still_verifies_what_the_old_key_signed():
    what, args = ("update", "wf", "review", "r1"), [{"actor": "x", "note": "y"}]
    old, rotated = keyring("c1"), keyring("c2", "c1")
    proof = old.sign(what, args)
    assert rotated.check(proof, what, args) is None
    assert rotated.sign(what, args).startswith("c2:")
    assert "unknown key" in keyring("c3").check(proof, what, args)
    assert "does not match" in rotated.check(proof, what, [{"actor": "z", "note": "y"}])
    assert "does not match" in rotated.check(proof, ("update", "other", "review", "r1"), args)
    assert "no proof" in rotated.check(None, what, args)


@pytest.mark.parametrize(
    "text", ["", "c1", "c1:not-base64!", f"c1:{base64.b64encode(b'x').decode()}"]
)
def test_a_bad_keyring_is_refused_naming_it(text):
    with pytest.raises(ConfigError, match="LINKAGE_COMMAND_KEYS"):
        CommandKeys.parse(text)


def unsigned(client: temporal_client.Client) -> temporal_client.Client:
    """A client without the front door's signer: anyone who reaches Temporal's port."""
    config = client.config()
    kept = [i for i in config["interceptors"] if not isinstance(i, CommandSigner)]
    return temporal_client.Client(**{**config, "interceptors": kept})


class _Tamper(temporal_client.Interceptor):
    """Between the signer and the wire: changes the actor of a command already signed."""

    def intercept_client(self, next):
        class Outbound(temporal_client.OutboundInterceptor):
            async def start_workflow_update(self, input):
                input.args = [input.args[0].model_copy(update={"actor": BUREAU_ACTOR})]
                return await super().start_workflow_update(input)

        return Outbound(next)


BUREAU_ACTOR = Actor.model_validate(BUREAU)


async def test_an_update_without_the_front_doors_proof_is_refused(env, linkage):
    iid = await open_incident(env, linkage, "police")
    # the right actor, a forged sender
    action = ReviewAction.model_validate(as_(BUREAU, approve=True))
    handle = unsigned(linkage.client).get_workflow_handle(iid)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update("review_push", action, id="forged-1")
    assert "carries no proof of the front door" in str(refused.value.cause)
    assert (await linkage.status(iid)).stage.value == "sending_review"  # nothing applied


async def test_a_proof_that_does_not_match_the_command_is_refused(env, linkage):
    iid = await open_incident(env, linkage, "police")
    config = unsigned(linkage.client).config()
    # the signer wraps the tamperer: it signs first, the actor is changed after
    tampering = temporal_client.Client(
        **{**config, "interceptors": [CommandSigner(load_command_keys()), _Tamper()]}
    )
    action = ReviewAction.model_validate(as_(STATION, approve=True))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await tampering.get_workflow_handle(iid).execute_update(
            "review_push", action, id="tampered-1"
        )
    assert "does not match what it carries" in str(refused.value.cause)
    assert (await linkage.status(iid)).stage.value == "sending_review"


async def test_an_unsigned_signal_is_ignored_and_a_signed_one_is_taken(env, linkage):
    iid = await open_incident(env, linkage, "hotline")
    event = RuleEvent(rule="record_refused", units=[], note="伪造的规则信号")
    await unsigned(linkage.client).get_workflow_handle(iid).signal(RULE_TRIGGERED, event)
    await linkage.client.get_workflow_handle(iid).signal(
        RULE_TRIGGERED, RuleEvent(rule="record_refused", units=[], note="真实的规则信号")
    )

    async def one_whistle():
        whistles = (await linkage.status(iid)).incident.whistles
        assert len(whistles) == 1 and "真实" in whistles[0].reason, whistles

    await eventually(one_whistle)
