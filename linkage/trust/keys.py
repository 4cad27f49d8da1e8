"""Keys the intake matches reports by, without keeping a number or an address in the clear.

A caller's number and a place are reduced to an HMAC with the district's secret: the claims
table can say "this caller has an open incident" while a copy of it says nothing about who.
Inputs are normalised first, so the same number or address typed two ways gives one key.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import tempfile
import unicodedata
from datetime import UTC

from linkage.domain.models import IncidentReport
from linkage.settings.config import ConfigError
from linkage.settings.paths import state_dir
from linkage.settings.secrets import refuse_to_invent
from linkage.settings.secrets import secret as configured_secret

SECRET_ENV = "LINKAGE_SECRET"
SECRET_FILE = "linkage-secret"
KEY_CHARS = 32  # 128 bits of the HMAC: plenty to keep keys apart, short enough to index


@functools.cache
def district_secret() -> bytes:
    """`LINKAGE_SECRET`, or a random secret kept in the state dir (made once, mode 0600)."""
    configured = configured_secret(SECRET_ENV)
    if configured:
        return configured.encode()
    path = state_dir() / SECRET_FILE
    if not path.exists():
        refuse_to_invent(SECRET_ENV)
        # Written aside and linked into place, so a process starting beside us never reads a
        # half-written file, and only one secret ever wins.
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".linkage-secret-")
        try:
            os.write(fd, secrets.token_bytes(32))
            os.close(fd)
            os.chmod(temp, 0o600)
            with contextlib.suppress(FileExistsError):  # another process made it first
                os.link(temp, path)
        finally:
            os.unlink(temp)
    secret = path.read_bytes()
    if len(secret) < 16:
        raise ConfigError(f"{path} holds {len(secret)} bytes: a district secret needs 16 or more")
    return secret


def _hmac(kind: str, parts: list[str], secret: bytes | None) -> str:
    message = "\x1f".join([kind, *parts]).encode()
    digest = hmac.new(secret or district_secret(), message, hashlib.sha256).hexdigest()
    return digest[:KEY_CHARS]


def normal_phone(phone: str) -> str:
    """Digits only, in the national form: +86 / 0086 / 86 before a full number is dropped."""
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", phone))
    if digits.startswith("0086"):
        national = digits[4:]
    elif digits.startswith("86") and len(digits) >= 11:
        # no national number starts with 86 at this length (mobiles start 1, trunk calls 0)
        national = digits[2:]
    else:
        return digits
    if national.startswith(("0", "1")):
        return national
    return "0" + national  # a landline's area code written without its trunk 0 (+86 512 …)


def normal_text(value: str) -> str:
    """NFKC, case-folded, without whitespace or punctuation (ASCII, full-width or CJK)."""
    folded = unicodedata.normalize("NFKC", value).casefold()
    return "".join(c for c in folded if unicodedata.category(c)[0] not in "PZC")


def caller_key(phone: str, secret: bytes | None = None) -> str:
    return _hmac("caller", [normal_phone(phone)], secret)


def place_key(township: str, address: str, category: str, secret: bytes | None = None) -> str:
    parts = [normal_text(township), normal_text(address), normal_text(category)]
    return _hmac("place", parts, secret)


FINGERPRINT_FIELDS = {
    "origin",
    "reference",
    "received_at",
    "caller",
    "location",
    "description",
    "divert_reason",
    "urgency",
    "originating_unit",
    "category",
    "joint",
}


def report_fingerprint(report: IncidentReport) -> str:
    """sha256 of the report's content as canonical JSON: the same push sent twice is one."""
    content = report.model_dump(mode="json", include=FINGERPRINT_FIELDS)
    content["received_at"] = report.received_at.astimezone(UTC).isoformat()
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
