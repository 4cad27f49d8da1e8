"""Bearer tokens (JWT): issued on this host with a key kept outside the repository, or signed by
the district's identity provider; verified into a Principal, or refused with the reason.

A token must be signed (never alg none), unexpired (exp is required, with a few seconds of
leeway), carry a jti and be for our one audience (a list of audiences is refused: a token meant
for several services is not ours alone) from a configured issuer; a revoked jti is refused. A
local token must also say when it was issued (iat) and live no longer than `local.max_days`:
the limit bounds every token the key signed, not only those `linkage token issue` made. Nothing
here trusts a claim before the signature over it verifies.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cached_property
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from linkage.domain.units import Register, load_register
from linkage.trust.auth_config import AuthConfig, key_path, load_auth_config
from linkage.trust.principals import InvalidPrincipal, Principal, PrincipalRole, make_principal


class Unauthenticated(Exception):
    """No token, or one that cannot be trusted (401); the message says why."""


class Forbidden(Exception):
    """The principal may not take this action (403); the message says why. Nothing changed."""


# --- the local signing key ------------------------------------------------------------------


def create_key(path: Path | None = None) -> Path:
    """Make the local signing key (Ed25519, readable by its owner alone) unless it exists.

    Written aside and linked into place: processes starting together never read half a key,
    and the first link wins (the others keep it and drop their own)."""
    path = path or key_path()
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor, aside = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")  # 0600
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
        with contextlib.suppress(FileExistsError):  # another process made it first
            os.link(aside, path)
    finally:
        os.unlink(aside)
    return path


def load_key(path: Path | None = None) -> Ed25519PrivateKey:
    path = path or key_path()
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise Unauthenticated(
            f"no signing key at {path}: `linkage up` makes one, or set LINKAGE_TOKEN_KEY"
        ) from None
    except ValueError as err:
        raise Unauthenticated(f"{path}: not a PEM private key ({err})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise Unauthenticated(f"{path}: the signing key must be Ed25519")
    return key


def issue_token(
    principal: Principal,
    days: float,
    config: AuthConfig | None = None,
    key: Ed25519PrivateKey | None = None,
    now: datetime | None = None,
) -> tuple[str, dict]:
    """A token for the principal, valid `days`; returns (token, its claims)."""
    config = config or load_auth_config()
    if not 0 < days <= config.local.max_days:
        raise ValueError(f"--days: 0 to {config.local.max_days:g} (auth.toml local.max_days)")
    now = now or datetime.now(UTC)
    claims = {
        "iss": config.local.issuer,
        "aud": config.local.audience,
        "sub": principal.name,
        "name": principal.name,
        "role": principal.role.value,
        "unit": principal.unit,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(days=days)).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    token = jwt.encode(claims, key or load_key(), algorithm="EdDSA")
    return token, claims


def host_operator(register: Register | None = None) -> Principal:
    """The operator of this host, for a CLI run where the signing key is (the key is the
    credential: whoever can read it can issue any token)."""
    return make_principal(
        register or load_register(),
        name=f"operator@{socket.gethostname()}"[:40],
        role=PrincipalRole.operator.value,
    )


def host_supervisor(register: Register | None = None) -> Principal:
    """The supervisor at this host's browser: `linkage up` signs them in at its Web UI gate
    with a short-lived token of this principal, so that decoding is authorised and audited."""
    return make_principal(
        register or load_register(),
        name=f"supervisor@{socket.gethostname()}"[:40],
        role=PrincipalRole.supervisor.value,
    )


# --- verification -----------------------------------------------------------------------------

Revoked = Callable[[str], datetime | None]


class TokenVerifier:
    """Verify tokens against the local key's public half and the provider's keys."""

    def __init__(
        self,
        config: AuthConfig | None = None,
        revoked: Revoked | None = None,
        register: Register | None = None,
        public_key: Ed25519PublicKey | None = None,
    ) -> None:
        self.config = config or load_auth_config()
        self.revoked = revoked or (lambda _jti: None)
        self._register = register
        self._public_key = public_key

    @property
    def register(self) -> Register:
        return self._register or load_register()

    @cached_property
    def _local_key(self) -> Ed25519PublicKey | None:
        if self._public_key is not None:
            return self._public_key
        try:
            return load_key().public_key()
        except Unauthenticated:
            return None  # no local key: only the provider's tokens are accepted

    @cached_property
    def _jwks_client(self) -> jwt.PyJWKClient:
        assert self.config.provider is not None
        return jwt.PyJWKClient(self.config.provider.jwks, cache_keys=True, timeout=10)

    def verify(self, token: str | None) -> Principal:
        if not token:
            raise Unauthenticated("no bearer token: send Authorization: Bearer <token>")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as err:
            raise Unauthenticated(f"not a JWT: {err}") from None
        algorithm = str(header.get("alg", ""))
        if algorithm.lower() == "none" or not algorithm:
            raise Unauthenticated("unsigned token (alg none) refused")
        issuer = unverified.get("iss")
        local, provider = self.config.local, self.config.provider
        if issuer == local.issuer:
            key = self._local_key
            if key is None:
                raise Unauthenticated("a local token, but this host has no signing key")
            algorithms, audience, leeway = ["EdDSA"], local.audience, local.leeway_seconds
            claims = ("name", "role", "unit")
            required = ["exp", "iat", "jti", "iss", "aud"]
        elif provider is not None and issuer == provider.issuer:
            key = self._provider_key(token, header)
            algorithms, audience = provider.algorithms, provider.audience
            leeway = provider.leeway_seconds
            claims = (provider.name_claim, provider.role_claim, provider.unit_claim)
            required = ["exp", "jti", "iss", "aud"]
        else:
            raise Unauthenticated(f"token from an issuer this system does not trust: {issuer!r}")
        if algorithm not in algorithms:
            raise Unauthenticated(f"token signed with {algorithm}; accepted: {algorithms}")
        try:
            verified = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=audience,
                issuer=issuer,
                leeway=leeway,
                options={"require": required, "strict_aud": True},
            )
        except jwt.ExpiredSignatureError:
            at = datetime.fromtimestamp(int(unverified.get("exp", 0)), UTC).isoformat()
            raise Unauthenticated(f"token expired at {at}") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated(_audience_refused(unverified.get("aud"), audience)) from None
        except jwt.MissingRequiredClaimError as err:
            raise Unauthenticated(f"token lacks the {err.claim!r} claim") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated(
                "token signature does not verify (altered, or another key)"
            ) from None
        except jwt.PyJWTError as err:
            raise Unauthenticated(f"token refused: {err}") from None
        if issuer == local.issuer:
            _within_max_days(verified, local.max_days, leeway)
        jti = str(verified["jti"])
        if (when := self.revoked(jti)) is not None:
            raise Unauthenticated(f"token {jti} was revoked at {when.isoformat()}")
        name_claim, role_claim, unit_claim = claims
        try:
            return make_principal(
                self.register,
                name=str(verified.get(name_claim) or verified.get("sub") or ""),
                role=str(verified.get(role_claim) or ""),
                unit=str(verified.get(unit_claim) or ""),
                token_id=jti,
                issuer=issuer,
                what="token",
            )
        except InvalidPrincipal as err:
            raise Unauthenticated(str(err)) from None

    def _provider_key(self, token: str, header: dict):
        assert self.config.provider is not None
        try:
            if self.config.provider.jwks_is_url:
                return self._jwks_client.get_signing_key_from_jwt(token).key
            keys = jwt.PyJWKSet.from_json(self.config.jwks_path().read_text(encoding="utf-8"))
        except (jwt.PyJWTError, OSError) as err:
            raise Unauthenticated(f"the identity provider's keys: {err}") from None
        kid = header.get("kid")
        for found in keys.keys:
            if kid is None or found.key_id == kid:
                return found.key
        raise Unauthenticated(f"no key {kid!r} in the identity provider's keys")


def _audience_refused(given: object, ours: str) -> str:
    shown = repr(given)[:200]
    if isinstance(given, list):
        return f"token for a list of audiences ({shown}): exactly one, {ours!r}, is accepted"
    return f"token for audience {shown}, not {ours!r}"


def _within_max_days(claims: dict, max_days: float, leeway: float) -> None:
    """A local token lives no longer than `linkage token issue` may make it (auth.toml
    local.max_days), counted from its iat and from now (an iat in the future is refused by
    the decoder)."""
    longest = max_days * 86400 + leeway
    lifetime = int(claims["exp"]) - int(claims["iat"])
    if lifetime > longest:
        raise Unauthenticated(
            f"token valid for {lifetime / 86400:.1f} days from its iat: a local token lives at "
            f"most {max_days:g} days (auth.toml local.max_days)"
        )
    left = int(claims["exp"]) - datetime.now(UTC).timestamp()
    if left > longest:
        raise Unauthenticated(
            f"token expires {left / 86400:.1f} days from now: a local token lives at most "
            f"{max_days:g} days (auth.toml local.max_days)"
        )


def bearer(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer …` header."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None
