"""Interim keys (replaced by the records-store change): plain hashes of normalised values."""

from __future__ import annotations

import hashlib
import re
import unicodedata


def caller_key(phone: str) -> str:
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", phone))
    return hashlib.sha256(digits.encode()).hexdigest()[:32]


def place_key(township: str, address: str, category: str) -> str:
    address = re.sub(r"\s+", "", unicodedata.normalize("NFKC", address))
    return hashlib.sha256(f"{township}|{address}|{category}".encode()).hexdigest()[:32]


def report_fingerprint(report) -> str:
    return hashlib.sha256(report.model_dump_json().encode()).hexdigest()
