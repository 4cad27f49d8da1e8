"""Every process of the district must hold the same codec keyring: a worker, API or CLI whose
keys cannot open what the others sealed would otherwise fail later, and quietly (a workflow task
retried forever, a row it cannot read). So the records database keeps, for each key, a known
text sealed with it (`keycheck`); a process opening the store opens each one its keyring names
and is refused, naming the key IDs, when one does not open or when the database knows a key the
keyring lacks. The first process to use a new key seals its check.
"""

from __future__ import annotations

from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, select

from linkage.records.intake import UTCDateTime
from linkage.records.writer import write
from linkage.settings.config import ConfigError
from linkage.trust.codec import CODEC, KEYS_ENV, KEYS_FILE
from linkage.trust.sealed import seal, unseal

KNOWN_TEXT = "linkage key check"
SHARE = (
    f"every worker, API, codec server and CLI of the district must share one keyring "
    f"({KEYS_ENV}, or the state directory's {KEYS_FILE})"
)


class KeyCheck(SQLModel, table=True):
    __tablename__ = "keycheck"

    key_id: str = Field(primary_key=True, max_length=40)
    sealed: str = Field(sa_type=Text)
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC), sa_type=UTCDateTime)


class KeyringMismatch(ConfigError):
    """This process's codec keys are not the ones the records database was sealed with."""


def check_keyring(engine: Engine) -> None:
    """Refuse a keyring that differs from the district's; seal a check for a new current key."""
    with Session(engine) as session:
        checks = {row.key_id: row.sealed for row in session.exec(select(KeyCheck))}
    keyring = CODEC.keyring
    if set(checks) - set(keyring.keys):
        CODEC.reload()  # rotated by another process since this one read the keyring
        keyring = CODEC.keyring
    lacking = sorted(set(checks) - set(keyring.keys))
    if lacking:
        raise KeyringMismatch(
            f"the records database holds data sealed with codec key(s) {', '.join(lacking)}, "
            f"which this keyring ({', '.join(keyring.keys)}) does not have: {SHARE}"
        )
    wrong = sorted(key_id for key_id, sealed in checks.items() if not _opens(sealed))
    if wrong:
        raise KeyringMismatch(
            f"codec key(s) {', '.join(wrong)} of this process are not the key(s) of that ID "
            f"the records database was sealed with: this keyring was made elsewhere; {SHARE}"
        )
    if keyring.current not in checks:
        stored = write(engine, lambda session: _sealed_check(session, keyring.current))
        if not _opens(stored):  # another process, with another keyring, sealed it first
            raise KeyringMismatch(
                f"codec key {keyring.current} of this process is not the key of that ID the "
                f"records database was sealed with: this keyring was made elsewhere; {SHARE}"
            )


def _opens(sealed: str) -> bool:
    try:
        return unseal(sealed) == KNOWN_TEXT
    except (InvalidTag, ValueError):
        return False


def _sealed_check(session: Session, key_id: str) -> str:
    """The key's check, sealed now unless another process sealed it first (processes that
    start together: the first insert wins, the others read it)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    values = {"key_id": key_id, "sealed": seal(KNOWN_TEXT), "created_at": datetime.now(UTC)}
    session.execute(dialect.insert(KeyCheck).values(**values).on_conflict_do_nothing())
    return session.exec(select(KeyCheck.sealed).where(KeyCheck.key_id == key_id)).one()
