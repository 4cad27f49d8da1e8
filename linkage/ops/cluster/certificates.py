"""The cluster's TLS: a CA of its own, a certificate for the frontend that every client
verifies, and one for the services among themselves (history, matching, the internal frontend
and Temporal's worker service), which they must present to each other (mTLS)."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from linkage.ops.cluster.credentials import write_private

SERVER_NAME = "localhost"  # every part is on loopback; the name clients verify
# The name clients verify where the parts run on hosts of their own (Compose, Kubernetes:
# TEMPORAL_TLS_SERVER_NAME), whatever address they dial; the certificates carry both names.
DEPLOYED_NAME = "linkage-temporal"
VALID_DAYS = 365


def _name(common: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "linkage cluster"),
            x509.NameAttribute(NameOID.COMMON_NAME, common),
        ]
    )


def _key_pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _authority(folder: Path):
    key_file, cert_file = folder / "ca-key.pem", folder / "ca.pem"
    if not key_file.exists() or not cert_file.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name("linkage cluster CA"))
            .issuer_name(_name("linkage cluster CA"))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=VALID_DAYS * 5))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256())
        )
        write_private(key_file, _key_pem(key))
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    return key, x509.load_pem_x509_certificate(cert_file.read_bytes())


def _leaf(folder: Path, name: str, ca_key, ca_cert) -> None:
    cert_file = folder / f"{name}.pem"
    if cert_file.exists():
        found = x509.load_pem_x509_certificate(cert_file.read_bytes())
        if found.not_valid_after_utc > datetime.now(UTC) + timedelta(days=30):
            return  # still good for a month: kept
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    names = [
        x509.DNSName(SERVER_NAME),
        x509.DNSName(DEPLOYED_NAME),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    usage = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"linkage cluster {name}"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage(usage), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    write_private(folder / f"{name}-key.pem", _key_pem(key))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def ensure_certificates(folder: Path) -> Path:
    """The CA and both certificates (made once, renewed a month before they expire)."""
    ca_key, ca_cert = _authority(folder)
    for name in ("frontend", "internode"):
        _leaf(folder, name, ca_key, ca_cert)
    return folder / "ca.pem"
