"""The PEM certificates a process holds for Temporal's TLS, and when each expires: those of
TEMPORAL_TLS_DIR (the folder the Temporal server and the cluster tier read: ca.pem,
frontend.pem, internode.pem) and those the Temporal connection names
(TEMPORAL_TLS_SERVER_CA_CERT_PATH, TEMPORAL_TLS_CLIENT_CERT_PATH). None configured, or a file
unreadable, is skipped quietly: a scrape never fails for a certificate. Private keys are never
opened."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from cryptography import x509

FOLDER_ENV = "TEMPORAL_TLS_DIR"
FILE_ENVS = ("TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_CLIENT_CERT_PATH")
BEGIN = b"-----BEGIN CERTIFICATE-----"


def certificate_files(environ: Mapping[str, str] | None = None) -> dict[str, Path]:
    """{name: path}: each file's name without `.pem`, the folder's first, each file once."""
    environ = os.environ if environ is None else environ
    candidates: list[Path] = []
    folder = environ.get(FOLDER_ENV, "").strip()
    if folder and Path(folder).is_dir():
        candidates += sorted(p for p in Path(folder).glob("*.pem") if not _is_key(p))
    candidates += [Path(environ[v].strip()) for v in FILE_ENVS if environ.get(v, "").strip()]
    found: dict[str, Path] = {}
    seen: set[Path] = set()
    for path in candidates:
        real = path.resolve()
        if real not in seen and path.is_file():
            seen.add(real)
            found.setdefault(path.name.removesuffix(".pem"), path)
    return found


def _is_key(path: Path) -> bool:
    return path.name.endswith("-key.pem") or path.name == "key.pem"


def expiries(files: Mapping[str, Path]) -> dict[str, float]:
    """{name: the earliest notAfter of the file's certificates, in Unix seconds}."""
    found: dict[str, float] = {}
    for name, path in files.items():
        try:
            data = path.read_bytes()
            if BEGIN not in data:
                continue
            certificates = x509.load_pem_x509_certificates(data)
        except (OSError, ValueError):
            continue
        found[name] = min(c.not_valid_after_utc.timestamp() for c in certificates)
    return found
