"""The cluster's credentials: the RSA key whose public half (a JWKS file) Temporal's default
claim mapper verifies tokens with, and the tokens the cluster's parts hold.

Permissions are Temporal's own (`<namespace>:<read|write|worker|admin>`,
`temporal-system:admin`): the workers and the API may write in the namespace, the supervisors'
Web UI may read it, `linkage setup` administers the cluster; anyone else gets nothing.
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_ID = "linkage-cluster-1"
ISSUER = "linkage-cluster"
LIFETIME_DAYS = 30


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".tmp")
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
    os.replace(temp, path)


def ensure_key(folder: Path) -> Path:
    """The signing key (made once) and the JWKS beside it; returns the JWKS path."""
    key_file, jwks_file = folder / "jwt-key.pem", folder / "jwks.json"
    if not key_file.exists():
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private(key_file, pem)
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    numbers = key.public_key().public_numbers()
    jwks = {
        "keys": [
            {
                "kty": "RSA",
                "alg": "RS256",
                "use": "sig",
                "kid": KEY_ID,
                "n": _b64(numbers.n),
                "e": _b64(numbers.e),
            }
        ]
    }
    jwks_file.write_text(json.dumps(jwks, indent=2) + "\n")
    return jwks_file


def mint(folder: Path, subject: str, permissions: list[str], days: float = LIFETIME_DAYS) -> str:
    """A token for one of the cluster's parts, signed with the cluster's key."""
    key = (folder / "jwt-key.pem").read_bytes()
    now = int(time.time())
    claims = {
        "sub": subject,
        "iss": ISSUER,
        "iat": now,
        "exp": now + int(days * 86400),
        "jti": uuid.uuid4().hex,
        "permissions": permissions,
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": KEY_ID})


def role_tokens(folder: Path, namespace: str) -> dict[str, str]:
    """Each part's token, written to `<role>.jwt` (0600) for the processes that hold it."""
    roles = {
        "writer": (f"linkage-services@{namespace}", [f"{namespace}:write"]),
        "reader": ("linkage-web-ui", [f"{namespace}:read"]),
        "admin": ("linkage-setup", ["temporal-system:admin"]),
    }
    tokens = {}
    for role, (subject, permissions) in roles.items():
        tokens[role] = mint(folder, subject, permissions)
        write_private(folder / f"{role}.jwt", (tokens[role] + "\n").encode())
    return tokens
