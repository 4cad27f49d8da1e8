"""Where the project's files are: the district's configuration and the local state.

Below everything else in the package (the run file and the settings read it), so that knowing
a path never imports anything of the project.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def config_dir() -> Path:
    return Path(os.environ.get("LINKAGE_CONFIG_DIR", PROJECT_ROOT / "temporal-config"))


def state_dir() -> Path:
    """Where the default SQLite files live (the records and the dev server's state)."""
    path = Path(os.environ.get("LINKAGE_STATE_DIR", PROJECT_ROOT / ".linkage"))
    path.mkdir(parents=True, exist_ok=True)
    return path
