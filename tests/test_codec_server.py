"""The Web UI's codec server: decodes for a supervisor or a duty desk only (401 without a
token, 403 for another role), answers the UI's CORS preflight from its own origin, and records
each decode with who, the namespace and the workflow. No request without a bearer token is
anyone's (there is no local supervisor), and a malformed body is a 4xx saying why, never a
500. (The credential variants and the malformed bodies: tests/test_codec_refusals.py.)"""

from __future__ import annotations

import base64
from collections.abc import Sequence

import httpx
import pytest
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from linkage.interfaces.codec_server import make_codec_app
from linkage.records.audit import AuditLog
from linkage.trust.temporal import DATA_CONVERTER
from tests.tokens import Tokens

UI = "http://localhost:8233"
PAGE = f"{UI}/namespaces/default/workflows/police-JJ777/run-1/history"


class Reversed(PayloadCodec):
    """A stand-in for the project's AES-GCM codec: the payload's bytes, reversed."""

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            Payload(metadata={"encoding": b"binary/reversed"}, data=p.SerializeToString()[::-1])
            for p in payloads
        ]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [
            Payload.FromString(p.data[::-1])
            if p.metadata.get("encoding") == b"binary/reversed"
            else p
            for p in payloads
        ]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def tokens(store) -> Tokens:
    return Tokens(store)


@pytest.fixture
async def codec_api(tokens, store):
    app = make_codec_app(Reversed(), tokens.verifier, AuditLog(store.engine), [UI])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://codec") as client:
        yield client


async def encrypted_caller() -> tuple[Payload, dict]:
    plain = DATA_CONVERTER.payload_converter.to_payloads(
        [{"caller": {"name": "王小明", "phone": "13912345678"}}]
    )[0]
    (sealed,) = await Reversed().encode([plain])
    body = {
        "payloads": [{"metadata": {"encoding": b64(b"binary/reversed")}, "data": b64(sealed.data)}]
    }
    return plain, body


def headers(token: str | None = None) -> dict:
    found = {"X-Namespace": "default", "Referer": PAGE, "Origin": UI}
    return {**found, "Authorization": f"Bearer {token}"} if token else found


async def test_a_supervisor_sees_the_caller_decoded_and_the_decode_is_recorded(
    codec_api, tokens, store
):
    plain, body = await encrypted_caller()
    answer = await codec_api.post("/decode", json=body, headers=headers(tokens.party("supervisor")))
    assert answer.status_code == 200, answer.text
    (decoded,) = answer.json()["payloads"]
    assert base64.b64decode(decoded["data"]) == plain.data
    assert "13912345678" in base64.b64decode(decoded["data"]).decode()
    assert answer.headers["access-control-allow-origin"] == UI
    entry = AuditLog(store.engine).list(principal="督查周", action="decode")[0]
    assert entry.allowed and entry.incident_id == "police-JJ777"
    assert entry.detail == {"namespace": "default", "workflow": "police-JJ777", "payloads": 1}


async def test_no_token_is_401_and_a_member_unit_is_403(codec_api, tokens, store):
    _, body = await encrypted_caller()
    answer = await codec_api.post("/decode", json=body, headers=headers())
    assert answer.status_code == 401 and "13912345678" not in answer.text
    answer = await codec_api.post("/decode", json=body, headers=headers("forged"))
    assert answer.status_code == 401
    city = tokens.party("member_unit")
    answer = await codec_api.post("/decode", json=body, headers=headers(city))
    assert answer.status_code == 403 and "personal data is decoded for" in answer.text
    refused = AuditLog(store.engine).list(principal="钱科长", action="decode", refused=True)
    assert refused and refused[0].detail["workflow"] == "police-JJ777"
    for role in ("police_unit", "emergency_unit", "operator"):
        answer = await codec_api.post("/decode", json=body, headers=headers(tokens.party(role)))
        assert answer.status_code == 403, role
    for role in ("police_bureau", "command_center", "linkage_desk"):
        answer = await codec_api.post("/decode", json=body, headers=headers(tokens.party(role)))
        assert answer.status_code == 200, role


async def test_encode_round_trips_and_bad_bodies_name_the_field(codec_api, tokens):
    supervisor = headers(tokens.party("supervisor"))
    plain = {"metadata": {"encoding": b64(b"json/plain")}, "data": b64(b'{"a":1}')}
    sealed = await codec_api.post("/encode", json={"payloads": [plain]}, headers=supervisor)
    assert sealed.status_code == 200
    assert sealed.json()["payloads"][0]["metadata"]["encoding"] == b64(b"binary/reversed")
    opened = await codec_api.post("/decode", json=sealed.json(), headers=supervisor)
    assert opened.json()["payloads"] == [plain]
    empty = await codec_api.post("/decode", json={"payloads": []}, headers=supervisor)
    assert empty.json() == {"payloads": []}
    bad = await codec_api.post("/decode", json={"nope": []}, headers=supervisor)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "payloads"


async def test_the_uis_preflight_is_answered_for_its_own_origin_only(codec_api):
    ask = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    answer = await codec_api.options("/decode", headers={"Origin": UI, **ask})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == UI
    assert answer.headers["access-control-allow-credentials"] == "true"
    assert "authorization" in answer.headers["access-control-allow-headers"].lower()
    other = await codec_api.options("/decode", headers={"Origin": "http://evil.example", **ask})
    assert "access-control-allow-origin" not in other.headers


async def test_ciphertext_that_does_not_open_is_a_clear_422_not_a_500(tokens, store):
    from linkage.trust.codec import CODEC

    app = make_codec_app(CODEC, tokens.verifier, AuditLog(store.engine), [UI])
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    supervisor = headers(tokens.party("supervisor"))
    async with httpx.AsyncClient(transport=transport, base_url="http://codec") as client:
        for data in (b"AAAA", b"\0" * 40):  # too short; the right length, not ours
            broken = {
                "metadata": {
                    "encoding": b64(b"binary/encrypted"),
                    "encryption-key-id": b64(CODEC.keyring.current.encode()),
                },
                "data": b64(data),
            }
            answer = await client.post("/decode", json={"payloads": [broken]}, headers=supervisor)
            assert answer.status_code == 422, answer.text
            error = answer.json()["error"]
            assert error["field"] == "payloads" and "cannot be decoded" in error["message"]
