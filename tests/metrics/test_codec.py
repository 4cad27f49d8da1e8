"""The codec server's /metrics: each decode request counted by the caller's role ("none"
without a valid token) and its outcome (decoded, refused, malformed); encodes are not decodes."""

from __future__ import annotations

import httpx
import pytest

from linkage.interfaces.codec_server import make_codec_app
from linkage.records.audit import AuditLog
from tests.metrics.scrape import linkage_names, value
from tests.test_codec_server import UI, Reversed, encrypted_caller, headers
from tests.tokens import Tokens


@pytest.fixture(scope="module")
def tokens(store) -> Tokens:
    return Tokens(store)


@pytest.fixture
async def codec_api(tokens, store):
    app = make_codec_app(Reversed(), tokens.verifier, AuditLog(store.engine), [UI])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://codec") as client:
        yield client


async def test_decodes_are_counted_by_role_and_outcome(codec_api, tokens):
    _, body = await encrypted_caller()
    supervisor = headers(tokens.party("supervisor"))
    assert (await codec_api.post("/decode", json=body, headers=supervisor)).status_code == 200
    assert (await codec_api.post("/decode", json=body, headers=headers())).status_code == 401
    assert (
        await codec_api.post("/decode", json=body, headers=headers("forged"))
    ).status_code == 401
    city = headers(tokens.party("member_unit"))
    assert (await codec_api.post("/decode", json=body, headers=city)).status_code == 403
    bad = await codec_api.post("/decode", json={"nope": []}, headers=supervisor)
    assert bad.status_code == 422
    assert (await codec_api.post("/encode", json=body, headers=supervisor)).status_code == 200

    page = await codec_api.get("/metrics")  # no token
    assert page.status_code == 200
    text = page.text
    decodes = "linkage_codec_decodes_total"
    assert value(text, decodes, role="supervisor", outcome="decoded") == 1
    assert value(text, decodes, role="none", outcome="refused") == 2
    assert value(text, decodes, role="member_unit", outcome="refused") == 1
    assert value(text, decodes, role="supervisor", outcome="malformed") == 1
    assert value(text, decodes) == 5  # the encode is not counted
    assert linkage_names(text) == {decodes}
    assert "13912345678" not in text and "钱科长" not in text
