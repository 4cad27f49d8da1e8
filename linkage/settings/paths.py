"""Where the project's files are: the district's configuration and the local state.

Below everything else in the package (the run file and the settings read it), so that knowing
a path never imports anything of the project. The state holds callers' personal data and the
machine's keys, so it is its owner's alone: the folder 0700, its files 0600.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
OTHERS = stat.S_IRWXG | stat.S_IRWXO


def config_dir() -> Path:
    return Path(os.environ.get("LINKAGE_CONFIG_DIR", PROJECT_ROOT / "temporal-config"))


def state_dir() -> Path:
    """Where the default SQLite files live (the records and the dev server's state); made
    0700, and tightened to it when found open to others."""
    path = Path(os.environ.get("LINKAGE_STATE_DIR", PROJECT_ROOT / ".linkage"))
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    _tighten(path)
    return path


def _tighten(path: Path) -> bool:
    """Take away group's and others' access (the owner's, execute bits included, stay)."""
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode) or not mode & OTHERS:
        return False
    path.chmod(stat.S_IMODE(mode) & ~OTHERS)
    return True


def private_file(path: Path) -> Path:
    """The file made (empty, 0600) before anything else writes it, or tightened if it is
    there: SQLite gives its journal and WAL files the database file's mode."""
    path.parent.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE)
    os.close(descriptor)
    _tighten(path)
    return path


def make_private(path: Path) -> None:
    """Tighten a file someone else made (SQLite, with the umask's mode) if it is there."""
    if path.exists():
        _tighten(path)


def tighten_state(root: Path | None = None) -> list[Path]:
    """At start-up: everything under the state directory that others could read, tightened
    (files made before these modes, or by a looser umask); the paths changed."""
    root = root or state_dir()
    changed = [root] if _tighten(root) else []
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            path = Path(folder) / name
            if _tighten(path):
                changed.append(path)
    return changed
