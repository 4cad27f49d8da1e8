"""A signal or an update whose payload does not open (another keyring's key under the same key
ID: a misconfigured client, or someone at the dev server's port) is dropped or refused, and
never stalls the incident: its workflow goes on answering and acting."""

from __future__ import annotations

import dataclasses
import secrets

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowUpdateFailedError

from linkage.trust.codec import CODEC, EncryptionCodec, Keyring
from linkage.trust.temporal import DATA_CONVERTER
from linkage.trust.undecodable import UNDECODABLE, TolerantCodec
from tests.conftest import open_incident
from tests.parties import BUREAU, as_


async def foreign_client(env) -> Client:
    """The same key ID as the district's, another key."""
    other = Keyring([(CODEC.keyring.current, secrets.token_bytes(32))])
    converter = dataclasses.replace(DATA_CONVERTER, payload_codec=EncryptionCodec(other))
    return await Client.connect(
        env.client.service_client.config.target_host,
        namespace=env.client.namespace,
        data_converter=converter,
    )


async def test_a_signal_that_does_not_open_is_dropped_and_the_incident_goes_on(env, linkage):
    iid = await open_incident(env, linkage, "police")
    foreign = await foreign_client(env)
    with env.with_time_skipping_disabled():
        await foreign.get_workflow_handle(iid).signal("report_joined", {"reference": "x"})
        # refused, not stuck (the sender cannot read the refusal: it is in the district's keys)
        with pytest.raises((WorkflowUpdateFailedError, ValueError)):
            await foreign.get_workflow_handle(iid).execute_update("review", {"approve": True})
        status = await linkage.status(iid)  # the workflow still answers
        assert status.stage.value == "sending_review"
        state = await linkage.act(iid, "review", as_(BUREAU))
    assert state.stage.value == "receiving_review"
    history = await env.client.get_workflow_handle(iid).fetch_history()
    failed = [e for e in history.events if e.HasField("workflow_task_failed_event_attributes")]
    assert failed == []


async def test_the_tolerant_codec_marks_what_does_not_open_and_reading_it_says_why():
    sealed = await CODEC.encode([Payload(metadata={"encoding": b"json/plain"}, data=b"1")])
    other = EncryptionCodec(Keyring([(CODEC.keyring.current, secrets.token_bytes(32))]))
    (marked,) = await TolerantCodec(other).decode(sealed)
    assert marked.metadata["encoding"] == UNDECODABLE.encode()
    with pytest.raises(ValueError, match="could not be decoded: .*the keyrings differ"):
        DATA_CONVERTER.payload_converter.from_payloads([marked], [int])
    with pytest.raises(ValueError, match="the keyrings differ"):  # the codec server's: strict
        await other.decode(sealed)
    assert await TolerantCodec(CODEC).decode(sealed) == await CODEC.decode(sealed)
