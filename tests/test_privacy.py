"""No personal data in Temporal in the clear: every payload is encrypted by the codec, search
attributes hold none, and a key rotation leaves old histories readable."""

import base64
import dataclasses
import json
import secrets

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.worker import Replayer

from linkage.trust.codec import CODEC, ENCODING, EncryptionCodec, Keyring, load_keyring, rotate_keys
from linkage.trust.temporal import DATA_CONVERTER
from tests.conftest import make_report, open_incident
from tests.parties import (
    BUREAU,
    CENTRE,
    as_,
    divert_to_hotline,
    handle_order,
    police_loop,
    reply_and_close,
)
from workers.main import WORKFLOWS, workflow_runner

NAME = "欧阳明月"
PHONE = "13987654321"
ID_NUMBER = "32050719900101123X"


def forms(text: str) -> list[bytes]:
    """How a value may sit in a payload: UTF-8, or JSON-escaped."""
    return [text.encode(), json.dumps(text).strip('"').encode()]


def payloads_of(node) -> list[dict]:
    """Every payload in a history's JSON (anything with `data` and `metadata`)."""
    found = []
    if isinstance(node, dict):
        if "data" in node and "metadata" in node:
            found.append(node)
        for value in node.values():
            found += payloads_of(value)
    elif isinstance(node, list):
        for value in node:
            found += payloads_of(value)
    return found


async def test_no_name_phone_or_id_number_anywhere_in_the_histories(env, linkage):
    description = make_report("police")["description"] + f"，来电人{NAME}，电话{PHONE}"
    caller = {"name": NAME, "phone": PHONE, "id_number": ID_NUMBER}
    iid = await open_incident(env, linkage, "police", caller=caller, description=description)
    await divert_to_hotline(linkage, iid)
    await handle_order(linkage, iid)
    await reply_and_close(linkage, iid)
    await linkage.act(iid, "revisit", as_(CENTRE, outcome="satisfied"))
    await linkage.result(iid)

    workflows = [wf async for wf in env.client.list_workflows(f"LinkageIncident = '{iid}'")]
    assert len(workflows) >= 2  # the incident and its 12345 loop
    secrets = [b for value in (NAME, PHONE, ID_NUMBER) for b in forms(value)]
    checked = 0
    for wf in workflows:
        history = await env.client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
        document = json.loads(history.to_json())
        for payload in payloads_of(document):
            raw = base64.b64decode(payload.get("data") or "")
            metadata = {k: base64.b64decode(v) for k, v in payload["metadata"].items()}
            assert not any(s in raw for s in secrets), (wf.id, raw[:200])
            if metadata.get("encoding") not in (ENCODING, b"json/plain"):
                continue
            checked += 1
        text = json.dumps(document, ensure_ascii=False)
        assert PHONE not in text and NAME not in text and ID_NUMBER not in text
        for name, values in (wf.search_attributes or {}).items():
            assert not any(v in str(values) for v in (NAME, PHONE, ID_NUMBER)), name
    assert checked > 20
    # and the payloads that carry data are ciphertext
    incident = json.loads((await env.client.get_workflow_handle(iid).fetch_history()).to_json())
    first_input = incident["events"][0]["workflowExecutionStartedEventAttributes"]["input"]
    encoding = base64.b64decode(first_input["payloads"][0]["metadata"]["encoding"])
    assert encoding == ENCODING


async def test_a_rotated_key_still_reads_what_the_old_one_wrote():
    old = Keyring([("k1", b"1" * 32)])
    new = Keyring([("k2", b"2" * 32), ("k1", b"1" * 32)])
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"phone":"13900000000"}')
    sealed = await EncryptionCodec(old).encode([plain])
    assert sealed[0].metadata["encryption-key-id"] == b"k1" and b"139" not in sealed[0].data
    rotated = EncryptionCodec(new)
    assert await rotated.decode(sealed) == [plain]
    again = await rotated.encode([plain])
    assert again[0].metadata["encryption-key-id"] == b"k2"
    # a payload written before the codec passes through as it is
    assert await rotated.decode([plain]) == [plain]


async def test_after_a_key_rotation_an_encrypted_history_still_replays(env, linkage):
    iid = await open_incident(env, linkage, "hotline")
    await linkage.act(iid, "accept", as_(BUREAU))
    await police_loop(linkage, iid)
    await linkage.result(iid)
    history = await env.client.get_workflow_handle(iid).fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    assert started.input.payloads[0].metadata["encoding"] == ENCODING

    old = CODEC.keyring
    rotated = Keyring([("rotated", secrets.token_bytes(32)), *old.keys.items()])
    converter = dataclasses.replace(DATA_CONVERTER, payload_codec=EncryptionCodec(rotated))
    replayer = Replayer(
        workflows=WORKFLOWS, workflow_runner=workflow_runner(), data_converter=converter
    )
    await replayer.replay_workflow(history)  # raises on any difference
    # and without the old key, the history cannot be read at all
    lost = dataclasses.replace(
        DATA_CONVERTER,
        payload_codec=EncryptionCodec(Keyring([("other", secrets.token_bytes(32))])),
    )
    with pytest.raises(Exception, match="not in the keyring"):
        await lost.decode([started.input.payloads[0]], [object])


def test_keys_rotate_keeps_the_old_keys(tmp_path, monkeypatch):
    monkeypatch.setenv("LINKAGE_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("LINKAGE_CODEC_KEYS", raising=False)
    first = load_keyring()
    assert list(first.keys) == ["k1"]
    assert rotate_keys() == "k2"
    after = load_keyring()
    assert after.current == "k2" and after.keys["k1"] == first.keys["k1"]
    assert (tmp_path / "codec-keys.json").stat().st_mode & 0o077 == 0  # for its owner only
