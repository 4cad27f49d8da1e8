"""What the codec server refuses: every request that does not carry `Authorization: Bearer` with
a token of a role that may see personal data (none, Basic, a bare Bearer, another scheme, a
token that does not verify: 401; a member unit: 403, in the audit), on /decode and /encode
alike, and every malformed body (not JSON, the wrong shape, not base64, ciphertext that does
not open, a key not in the keyring, too large): a 4xx saying which, never a 500."""

from __future__ import annotations

import base64

import httpx
import pytest
from temporalio.api.common.v1 import Payload

from linkage.interfaces.codec_server import make_codec_app
from linkage.records.audit import AuditLog
from linkage.trust.codec import ENCODING, KEY_ID, EncryptionCodec, Keyring
from linkage.trust.temporal import DATA_CONVERTER
from tests.tokens import Tokens

UI = "http://localhost:8233"
PAGE = f"{UI}/namespaces/default/workflows/police-JJ4242/run-1/history"
PHONE = "13912345678"
KEYRING = Keyring([("k9", bytes(range(32)))])


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture(scope="module")
def tokens(store) -> Tokens:
    return Tokens(store)


@pytest.fixture
async def codec(tokens, store):
    app = make_codec_app(
        EncryptionCodec(KEYRING), tokens.verifier, AuditLog(store.engine), [UI], max_body=4096
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # a 500 is answered
    async with httpx.AsyncClient(transport=transport, base_url="http://codec") as client:
        yield client


async def sealed_caller() -> dict:
    plain = DATA_CONVERTER.payload_converter.to_payloads(
        [{"caller": {"name": "王小明", "phone": PHONE}}]
    )[0]
    (sealed,) = await EncryptionCodec(KEYRING).encode([plain])
    metadata = {k: b64(v) for k, v in sealed.metadata.items()}
    return {"payloads": [{"metadata": metadata, "data": b64(sealed.data)}]}


def page(authorization: str | None = None) -> dict:
    found = {"X-Namespace": "default", "Referer": PAGE}
    return {**found, "Authorization": authorization} if authorization is not None else found


async def test_without_a_bearer_token_nobody_decodes(codec, tokens, store):
    body = await sealed_caller()
    supervisor = tokens.party("supervisor")
    variants = {
        "none": None,
        "empty": "",
        "basic": "Basic " + b64(b"supervisor:secret"),
        "bare bearer": "Bearer",
        "bearer and a space": "Bearer ",
        "another scheme with a good token": f"Token {supervisor}",
        "the token alone": supervisor,
        "a token that does not verify": "Bearer not.a.token",
    }
    for what, authorization in variants.items():
        for path in ("/decode", "/encode"):
            answer = await codec.post(path, json=body, headers=page(authorization))
            assert answer.status_code == 401, (what, path, answer.text)
            assert PHONE not in answer.text and answer.headers["www-authenticate"] == "Bearer"
            assert answer.json()["error"]["code"] == "unauthenticated"
    answer = await codec.post("/decode", json=body, headers=page("Basic eDp5"))
    assert "scheme 'Basic' is not accepted" in answer.json()["error"]["message"]
    answer = await codec.post("/decode", json=body, headers=page("Bearer"))
    assert "Bearer without a token" in answer.json()["error"]["message"]
    decoded = await codec.post("/decode", json=body, headers=page(f"Bearer {supervisor}"))
    assert decoded.status_code == 200 and PHONE in base64.b64decode(
        decoded.json()["payloads"][0]["data"]
    ).decode("utf-8", "replace")
    entry = AuditLog(store.engine).list(principal="督查周", action="decode")[0]
    assert entry.allowed and entry.incident_id == "police-JJ4242"


async def test_a_member_unit_is_403_and_recorded_on_both_endpoints(codec, tokens, store):
    body = await sealed_caller()
    member = page(f"Bearer {tokens.party('member_unit')}")
    for path, action in (("/decode", "decode"), ("/encode", "encode")):
        answer = await codec.post(path, json=body, headers=member)
        assert answer.status_code == 403 and PHONE not in answer.text, answer.text
        refused = AuditLog(store.engine).list(principal="钱科长", action=action, refused=True)
        assert refused and refused[0].incident_id == "police-JJ4242"


async def test_malformed_bodies_are_4xx_with_the_reason(codec, tokens):
    supervisor = page(f"Bearer {tokens.party('supervisor')}")
    good = (await sealed_caller())["payloads"][0]
    other_key = {**good["metadata"], KEY_ID: b64(b"k-gone")}
    wrong_sealed = {**good, "data": b64(b"\0" * 40)}
    undecodable = {"metadata": {"encoding": b64(ENCODING), KEY_ID: b64(b"\xff\xfe")}, "data": ""}
    cases = {
        "not JSON": (b"{payloads:", 422, "body: not JSON"),
        "not UTF-8": (b"\xff\xfe\xfd", 422, "body: not JSON"),
        "a list": ([good], 422, "payloads: a list"),
        "payloads not a list": ({"payloads": "x"}, 422, "payloads: a list"),
        "a payload not an object": ({"payloads": [1]}, 422, "payloads[0]: an object"),
        "metadata not an object": ({"payloads": [{"metadata": "x"}]}, 422, "payloads:"),
        "a field unknown": ({"payloads": [], "more": 1}, 422, "payloads:"),
        "data not base64": ({"payloads": [{"data": "!!!"}]}, 422, "base64"),
        "data a number": ({"payloads": [{"data": 5}]}, 422, "base64"),
        "metadata not base64": ({"payloads": [{"metadata": {"e": "@"}}]}, 422, "base64"),
        "base64 cut short": ({"payloads": [{"data": "QUJDR"}]}, 422, "payloads:"),
        "a key not in the keyring": (
            {"payloads": [{**good, "metadata": other_key}]},
            422,
            "'k-gone', not in the keyring",
        ),
        "ciphertext of another key": ({"payloads": [wrong_sealed]}, 422, "does not open"),
        "a key ID not text": ({"payloads": [undecodable]}, 422, "cannot be decoded"),
        "too large": ({"payloads": [{"data": "QUFB" * 2000}]}, 413, "more than 4096 bytes"),
    }
    for what, (body, status, why) in cases.items():
        sent = {"content": body} if isinstance(body, bytes) else {"json": body}
        answer = await codec.post("/decode", headers=supervisor, **sent)
        assert answer.status_code == status, (what, answer.status_code, answer.text)
        assert why in answer.json()["error"]["message"], (what, answer.text)


async def test_a_body_too_large_is_refused_without_its_length_too(codec, tokens):
    supervisor = page(f"Bearer {tokens.party('supervisor')}")

    async def chunks():
        yield b'{"payloads": [{"data": "'
        for _ in range(100):
            yield b"QUFB" * 100
        yield b'"}]}'

    answer = await codec.post("/encode", headers=supervisor, content=chunks())
    assert answer.status_code == 413, answer.text
    lying = {**supervisor, "Content-Length": "12x"}
    answer = await codec.post("/encode", headers=lying, content=b"{}")
    assert answer.status_code == 400 and "Content-Length" in answer.text, answer.text


async def test_encode_and_decode_still_round_trip(codec, tokens):
    supervisor = page(f"Bearer {tokens.party('supervisor')}")
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"a": 1}')
    body = {"payloads": [{"metadata": {"encoding": b64(b"json/plain")}, "data": b64(plain.data)}]}
    sealed = await codec.post("/encode", json=body, headers=supervisor)
    assert sealed.status_code == 200, sealed.text
    opened = await codec.post("/decode", json=sealed.json(), headers=supervisor)
    assert opened.json() == body


def test_there_is_no_local_supervisor_to_ask_for():
    """`linkage up` used to start the codec server with --local-supervisor (a request without a
    token was this host's supervisor); the flag is gone, and so is the parameter."""
    import inspect

    from linkage.interfaces.cli.main import build_parser

    argv = ["codec-server", "--local-supervisor"]
    with pytest.raises(SystemExit):
        build_parser(argv).parse_args(argv)
    assert "anonymous" not in inspect.signature(make_codec_app).parameters
