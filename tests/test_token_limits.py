"""The limits of a token: a few seconds of leeway past its expiry (configurable, bounded), one
audience (never a list, even one holding ours), and a local token that lives no longer than
`local.max_days` however it was signed; each refusal is a 401 with the reason."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from linkage.interfaces.api.app import make_app
from linkage.records.audit import AuditLog
from linkage.settings.config import ConfigError
from linkage.trust.auth_config import load_auth_config
from linkage.trust.tokens import TokenVerifier, Unauthenticated, issue_token
from tests.tokens import Tokens

DAY = 86400


@pytest.fixture(scope="module")
def tokens(store) -> Tokens:
    return Tokens(store)


def local(tokens: Tokens, **changes) -> str:
    """A supervisor's local token signed with the test key, its claims changed as given (a
    value None leaves the claim out)."""
    now = int(time.time())
    claims = {
        "iss": "linkage-local",
        "aud": "linkage",
        "sub": "督查周",
        "name": "督查周",
        "role": "supervisor",
        "unit": "",
        "iat": now,
        "exp": now + 3600,
        "jti": uuid.uuid4().hex,
        **changes,
    }
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, tokens.key, "EdDSA")


def refused(verifier: TokenVerifier, token: str, why: str) -> None:
    with pytest.raises(Unauthenticated, match=why):
        verifier.verify(token)


def with_local(tokens: Tokens, **changes) -> TokenVerifier:
    config = tokens.config.model_copy(
        update={"local": tokens.config.local.model_copy(update=changes)}
    )
    return TokenVerifier(config, revoked=lambda _: None, public_key=tokens.key.public_key())


def test_a_token_expired_twenty_seconds_ago_is_refused(tokens):
    now = int(time.time())
    refused(tokens.verifier, local(tokens, iat=now - 3600, exp=now - 20), "token expired at")
    assert tokens.verifier.verify(local(tokens, iat=now - 3600, exp=now - 2)).name == "督查周"
    strict = with_local(tokens, leeway_seconds=0)
    refused(strict, local(tokens, iat=now - 3600, exp=now - 2), "token expired at")


def test_the_leeway_is_bounded_and_a_mistake_names_the_field(tmp_path):
    assert load_auth_config().local.leeway_seconds == 5  # the committed file
    (tmp_path / "auth.toml").write_text("[local]\nleeway_seconds = 61\n")
    with pytest.raises(ConfigError, match=r"auth.toml: local.leeway_seconds: .*0 to 60 seconds"):
        load_auth_config(tmp_path / "auth.toml")
    (tmp_path / "jwks.json").write_text('{"keys": []}')
    (tmp_path / "auth.toml").write_text(
        '[provider]\nissuer = "x"\naudience = "y"\njwks = "jwks.json"\nleeway_seconds = 600\n'
    )
    with pytest.raises(ConfigError, match=r"auth.toml: provider.leeway_seconds: .*0 to 60"):
        load_auth_config(tmp_path / "auth.toml")
    (tmp_path / "auth.toml").write_text("[local]\nleeway_seconds = 2\n")
    assert load_auth_config(tmp_path / "auth.toml").local.leeway_seconds == 2


def test_an_audience_list_is_refused_even_one_holding_ours(tokens):
    for audience in (["linkage"], ["linkage", "another-service"], ["another-service"]):
        refused(tokens.verifier, local(tokens, aud=audience), "list of audiences.*exactly one")
    assert tokens.verifier.verify(local(tokens)).name == "督查周"


def test_a_local_token_lives_no_longer_than_max_days(tokens):
    now = int(time.time())
    refused(tokens.verifier, local(tokens, exp=now + 5000 * DAY), "valid for 5000.0 days")
    backdated = local(tokens, iat=now - 4999 * DAY, exp=now + DAY)  # expires soon, made long
    refused(tokens.verifier, backdated, "valid for 5000.0 days .*local.max_days")
    refused(tokens.verifier, local(tokens, iat=now + 4990 * DAY, exp=now + 5000 * DAY), "iat")
    refused(tokens.verifier, local(tokens, iat=None), "lacks the 'iat' claim")
    refused(tokens.verifier, local(tokens, exp=None), "lacks the 'exp' claim")
    assert tokens.verifier.verify(local(tokens, exp=now + 400 * DAY)).name == "督查周"
    token, _ = issue_token(
        tokens.principal("supervisor", "", "督查周"), 400, tokens.config, key=tokens.key
    )
    assert tokens.verifier.verify(token).name == "督查周"  # the longest issue_token makes
    shorter = with_local(tokens, max_days=30)  # lowered since: a longer token is refused
    refused(shorter, token, "at most 30 days")
    shorter_by_now = local(tokens, iat=now - 10, exp=now + 31 * DAY)
    refused(shorter, shorter_by_now, "valid for 31.0 days")


def test_the_providers_tokens_get_a_few_seconds_and_one_audience(tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "k1"}]}))
    (tmp_path / "auth.toml").write_text(
        '[provider]\nissuer = "https://sso.example.gov.cn"\naudience = "linkage-api"\n'
        'jwks = "jwks.json"\n'
    )
    verifier = TokenVerifier(load_auth_config(tmp_path / "auth.toml"), revoked=lambda _: None)
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "iss": "https://sso.example.gov.cn",
        "aud": "linkage-api",
        "exp": now + 3600,
        "jti": "idp-1",
        "name": "张坐席",
        "linkage_role": "command_center",
        "linkage_unit": "12345",
    }

    def signed(**changes) -> str:
        return jwt.encode({**claims, **changes}, key, "RS256", headers={"kid": "k1"})

    assert verifier.verify(signed()).name == "张坐席"
    refused(verifier, signed(exp=now - 20), "token expired at")
    refused(verifier, signed(aud=["linkage-api"]), "list of audiences")


async def test_the_api_answers_401_with_the_reason_and_records_nothing(tokens, linkage, store):
    """As every refused token: 401 with the reason; no principal, so no audit entry."""
    now = int(time.time())
    bad = {
        "expired 20 s ago": local(tokens, iat=now - 3600, exp=now - 20),
        "list of audiences": local(tokens, aud=["linkage"]),
        "valid for 5000.0 days": local(tokens, exp=now + 5000 * DAY),
        "lacks the 'iat' claim": local(tokens, iat=None),
    }
    before = len(AuditLog(store.engine).list(principal="督查周", action="audit"))
    transport = httpx.ASGITransport(app=make_app(linkage, tokens.verifier))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as api:
        for why, token in bad.items():
            answer = await api.get("/audit", headers={"Authorization": f"Bearer {token}"})
            assert answer.status_code == 401, (why, answer.text)
            assert answer.json()["error"]["code"] == "unauthenticated"
            if why != "expired 20 s ago":
                assert why in answer.json()["error"]["message"]
    assert len(AuditLog(store.engine).list(principal="督查周", action="audit")) == before
