"""Tokens: expired, revoked, unsigned, altered, for another audience or from an unknown issuer
are refused with the reason; the district's identity provider's tokens are verified against its
keys with the claim names auth.toml gives; auth.toml's mistakes name the file and the field."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from linkage.interfaces.api.app import make_app
from linkage.settings.config import ConfigError
from linkage.trust.auth_config import load_auth_config
from linkage.trust.principals import PrincipalRole
from linkage.trust.tokens import TokenVerifier, Unauthenticated, issue_token
from tests.tokens import Tokens


@pytest.fixture(scope="module")
def tokens(store) -> Tokens:
    return Tokens(store)


def refused(tokens: Tokens, token: str, why: str) -> None:
    with pytest.raises(Unauthenticated, match=why):
        tokens.verifier.verify(token)


def test_a_good_token_names_its_principal_with_the_registers_unit(tokens):
    principal = tokens.verifier.verify(tokens.issue("member_unit", "城管局", "钱科长"))
    assert (principal.role, principal.unit, principal.unit_name) == (
        PrincipalRole.member_unit,
        "dept.cgj",
        "区城市管理局",
    )
    assert principal.actor().person == "钱科长" and principal.token_id


def test_expired_revoked_unsigned_altered_and_foreign_tokens_are_refused(tokens):
    good = tokens.issue("command_center", "区集成指挥中心", "张坐席")
    principal = tokens.principal("command_center", "区集成指挥中心", "张坐席")
    old, _ = issue_token(
        principal, 1, tokens.config, key=tokens.key, now=datetime.now(UTC) - timedelta(days=2)
    )
    refused(tokens, old, "token expired at")

    revoked = tokens.issue("command_center", "区集成指挥中心", "张坐席")
    jti = jwt.decode(revoked, options={"verify_signature": False})["jti"]
    tokens.records.revoke(jti, by="运维吴", reason="lost laptop")
    refused(tokens, revoked, f"token {jti} was revoked")

    claims = jwt.decode(good, options={"verify_signature": False})
    unsigned = jwt.encode(claims, key=None, algorithm="none")
    refused(tokens, unsigned, "unsigned token")

    head, body, signature = good.split(".")
    forged = {**claims, "role": "police_bureau", "unit": "police.bureau"}
    raw = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    refused(tokens, f"{head}.{raw}.{signature}", "signature does not verify")

    other, _ = issue_token(principal, 1, tokens.config, key=Ed25519PrivateKey.generate())
    refused(tokens, other, "signature does not verify")

    local = tokens.config.local
    wrong_audience = tokens.config.model_copy(
        update={"local": local.model_copy(update={"audience": "someone-else"})}
    )
    token, _ = issue_token(principal, 1, wrong_audience, key=tokens.key)
    refused(tokens, token, "audience 'someone-else', not 'linkage'")

    wrong_issuer = tokens.config.model_copy(
        update={"local": local.model_copy(update={"issuer": "evil"})}
    )
    token, _ = issue_token(principal, 1, wrong_issuer, key=tokens.key)
    refused(tokens, token, "issuer this system does not trust: 'evil'")

    no_jti = jwt.encode({k: v for k, v in claims.items() if k != "jti"}, tokens.key, "EdDSA")
    refused(tokens, no_jti, "lacks the 'jti' claim")
    no_exp = jwt.encode({k: v for k, v in claims.items() if k != "exp"}, tokens.key, "EdDSA")
    refused(tokens, no_exp, "lacks the 'exp' claim")
    refused(tokens, "", "no bearer token")
    assert tokens.verifier.verify(good).name == "张坐席"  # the good one still passes


def test_a_token_whose_unit_is_not_of_its_roles_kind_is_refused(tokens):
    token, _ = issue_token(
        tokens.principal("member_unit", "区城管局"), 1, tokens.config, key=tokens.key
    )
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["role"] = "police_unit"  # a member unit's code under a station's role
    refused(tokens, jwt.encode(claims, tokens.key, "EdDSA"), "token: unit")


async def test_the_api_answers_401_to_each_bad_token(tokens, linkage):
    transport = httpx.ASGITransport(app=make_app(linkage, tokens.verifier))
    principal = tokens.principal("supervisor", "", "督查周")
    expired, _ = issue_token(
        principal, 1, tokens.config, key=tokens.key, now=datetime.now(UTC) - timedelta(days=3)
    )
    revoked = tokens.issue("supervisor", "", "督查周")
    tokens.records.revoke(jwt.decode(revoked, options={"verify_signature": False})["jti"], "t")
    good = tokens.issue("supervisor", "", "督查周")
    claims = jwt.decode(good, options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, "none")
    head, _, signature = good.split(".")
    body = base64.urlsafe_b64encode(json.dumps({**claims, "role": "operator"}).encode())
    tampered = f"{head}.{body.rstrip(b'=').decode()}.{signature}"
    audience = tokens.config.model_copy(
        update={"local": tokens.config.local.model_copy(update={"audience": "x"})}
    )
    wrong_audience, _ = issue_token(principal, 1, audience, key=tokens.key)
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as api:
        for bad in (expired, revoked, unsigned, tampered, wrong_audience):
            answer = await api.get("/audit", headers={"Authorization": f"Bearer {bad}"})
            assert answer.status_code == 401, answer.text
        answer = await api.get("/audit", headers={"Authorization": f"Bearer {good}"})
        assert answer.status_code == 200


def rsa_provider(tmp_path, **claims):
    """An identity provider's key, its JWKS file and auth.toml naming it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**jwk, "kid": "k1"}]}))
    (tmp_path / "auth.toml").write_text(
        '[provider]\nissuer = "https://sso.example.gov.cn"\naudience = "linkage-api"\n'
        'jwks = "jwks.json"\nrole_claim = "linkage_role"\nunit_claim = "org_code"\n'
        'name_claim = "preferred_username"\n'
    )
    return key


def test_the_identity_providers_tokens_are_verified_with_its_claim_names(tmp_path, store):
    key = rsa_provider(tmp_path)
    verifier = TokenVerifier(load_auth_config(tmp_path / "auth.toml"), revoked=lambda _: None)
    now = datetime.now(UTC)
    claims = {
        "iss": "https://sso.example.gov.cn",
        "aud": "linkage-api",
        "exp": now + timedelta(hours=1),
        "jti": "idp-1",
        "preferred_username": "张坐席",
        "linkage_role": "command_center",
        "org_code": "12345",
    }
    token = jwt.encode(claims, key, "RS256", headers={"kid": "k1"})
    principal = verifier.verify(token)
    assert (principal.role.value, principal.unit, principal.name) == (
        "command_center",
        "hotline.command",
        "张坐席",
    )
    with pytest.raises(Unauthenticated, match="audience"):
        verifier.verify(jwt.encode({**claims, "aud": "other"}, key, "RS256", {"kid": "k1"}))
    with pytest.raises(Unauthenticated, match="HS256"):
        verifier.verify(jwt.encode(claims, "a-shared-secret-long-enough-1234", "HS256"))
    with pytest.raises(Unauthenticated, match="no key 'k2'"):
        verifier.verify(jwt.encode(claims, key, "RS256", headers={"kid": "k2"}))


def test_auth_toml_mistakes_name_the_file_and_the_field(tmp_path):
    (tmp_path / "auth.toml").write_text('[provider]\nissuer = "x"\naudience = "y"\n')
    with pytest.raises(ConfigError, match=r"auth.toml: provider.jwks: Field required"):
        load_auth_config(tmp_path / "auth.toml")
    (tmp_path / "auth.toml").write_text(
        '[provider]\nissuer = "x"\naudience = "y"\njwks = "none.json"\nalgorithms = ["none"]\n'
    )
    with pytest.raises(ConfigError, match=r"auth.toml: provider.algorithms: .*not accepted"):
        load_auth_config(tmp_path / "auth.toml")
    (tmp_path / "auth.toml").write_text('[provider]\nissuer = "x"\naudience = "y"\njwks = "a"\n')
    with pytest.raises(ConfigError, match=r"auth.toml: provider.jwks: .* is not a file"):
        load_auth_config(tmp_path / "auth.toml")
    (tmp_path / "auth.toml").write_text("[local]\nmax_dayz = 3\n")
    with pytest.raises(ConfigError, match=r"auth.toml: local.max_dayz: Extra inputs"):
        load_auth_config(tmp_path / "auth.toml")


def test_the_committed_auth_toml_loads():
    config = load_auth_config()
    assert config.local.issuer == "linkage-local" and config.provider is None
