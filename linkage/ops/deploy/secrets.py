"""`python -m linkage.ops.deploy.secrets DIR`: every secret file compose.yaml names, made as a
set, so a district starts with working credentials and no value ever sits in a Compose file.

The TLS and Temporal token files come from the cluster tier's own makers (the same CA layout,
JWKS and writer/reader/admin tokens it runs with), the rest are random. Each file is mode 0600
and, when run as root, owned by the uid the containers run as. An existing file is never
overwritten: a second set would lock the first one's histories and records away.
`--renew-tokens` mints the three Temporal tokens again (they last 30 days) from the key kept.
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import sys
import tempfile
from pathlib import Path

from linkage.ops.cluster import credentials
from linkage.ops.cluster.certificates import ensure_certificates
from linkage.trust.codec import Keyring
from linkage.trust.commands import CommandKeys
from linkage.trust.tokens import create_key

OWNER = 10001  # the uid of every container that reads a secret (compose.yaml)
NAMESPACE = "default"  # TEMPORAL_NAMESPACE in compose.yaml
RECORDS_URL = "postgresql://linkage:{password}@postgresql:5432/linkage"  # records-database's

# Compose's secret name -> the file in DIR
FILES = {
    "postgres_password": "postgres-password",
    "records_password": "records-password",
    "database_url": "database-url",
    "temporal_ca": "ca.pem",
    "temporal_frontend_cert": "frontend.pem",
    "temporal_frontend_key": "frontend-key.pem",
    "temporal_internode_cert": "internode.pem",
    "temporal_internode_key": "internode-key.pem",
    "temporal_jwks": "jwks.json",
    "temporal_writer_token": "writer.jwt",
    "temporal_reader_token": "reader.jwt",
    "temporal_admin_token": "admin.jwt",
    "codec_keys": "codec-keys",
    "command_keys": "command-keys",
    "district_secret": "linkage-secret",
    "token_key": "token-key.pem",
}
# Made with the set, mounted in no container: the keys that renew certificates and tokens.
KEPT_BACK = ("ca-key.pem", "jwt-key.pem")
TOKENS = ("writer.jwt", "reader.jwt", "admin.jwt")


def _write(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")


def _make(folder: Path) -> None:
    """The whole set into an empty folder."""
    ensure_certificates(folder)
    credentials.ensure_key(folder)
    credentials.role_tokens(folder, NAMESPACE)
    _write(folder / "postgres-password", secrets.token_urlsafe(32))
    records = secrets.token_urlsafe(32)  # URL-safe: it sits in the records' URL as it is
    _write(folder / "records-password", records)
    _write(folder / "database-url", RECORDS_URL.format(password=records))
    keyring = f"k1:{base64.b64encode(secrets.token_bytes(32)).decode()}"
    Keyring.parse(keyring)  # in the format LINKAGE_CODEC_KEYS(_FILE) is read in
    _write(folder / "codec-keys", keyring)
    commands = f"c1:{base64.b64encode(secrets.token_bytes(32)).decode()}"
    CommandKeys.parse(commands)  # as LINKAGE_COMMAND_KEYS(_FILE) is read
    _write(folder / "command-keys", commands)
    _write(folder / "linkage-secret", secrets.token_urlsafe(32))
    create_key(folder / "token-key.pem")


def _own(paths: list[Path], owner: int | None) -> None:
    """0600 each; the containers' uid owns what they mount, the operator keeps the rest."""
    for path in paths:
        path.chmod(0o600)
        if owner is not None and path.name in FILES.values():
            os.chown(path, owner, owner)


def write_all(folder: Path, owner: int | None = None) -> list[Path]:
    """Every file of the set into `folder`; refused, writing nothing, when any exists."""
    folder.mkdir(parents=True, exist_ok=True)
    targets = [folder / name for name in (*FILES.values(), *KEPT_BACK)]
    existing = [path.name for path in targets if path.exists()]
    if existing:
        raise FileExistsError(
            f"{folder}: {', '.join(existing)} exist already; nothing was written "
            "(move the old set away first: its keys are needed to read what it sealed)"
        )
    written: list[Path] = []
    with tempfile.TemporaryDirectory(dir=folder, prefix=".new-") as temp:
        _make(Path(temp))
        try:
            for target in targets:
                os.link(Path(temp) / target.name, target)  # never replaces a file made meanwhile
                written.append(target)
        except FileExistsError:
            for path in written:
                path.unlink()
            raise
    _own(written, owner)
    return written


def renew_tokens(folder: Path, owner: int | None = None) -> list[Path]:
    """The writer, reader and admin tokens minted again with the set's own key."""
    if not (folder / "jwt-key.pem").exists():
        raise FileNotFoundError(f"{folder / 'jwt-key.pem'}: no key to sign tokens with")
    credentials.role_tokens(folder, NAMESPACE)
    renewed = [folder / name for name in TOKENS]
    _own(renewed, owner)
    return renewed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m linkage.ops.deploy.secrets", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("folder", type=Path, help="where compose.yaml expects them: secrets/")
    parser.add_argument(
        "--owner",
        type=int,
        default=OWNER if os.geteuid() == 0 else None,
        help=f"the uid to own the files (default {OWNER} when run as root)",
    )
    parser.add_argument("--renew-tokens", action="store_true", help="only the Temporal tokens")
    args = parser.parse_args(argv)
    try:
        if args.renew_tokens:
            paths = renew_tokens(args.folder, args.owner)
        else:
            paths = write_all(args.folder, args.owner)
    except (FileExistsError, FileNotFoundError, PermissionError) as err:
        print(f"secrets: {err}", file=sys.stderr)
        return 1
    for path in paths:
        print(f"secrets: wrote {path}")
    if args.owner != OWNER:
        print(
            f"secrets: the containers read these as uid {OWNER}: "
            f"sudo chown {OWNER}:{OWNER} {args.folder}/*",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
