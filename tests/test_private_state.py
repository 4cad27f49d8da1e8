"""The state directory holds callers' data and the machine's keys: its owner's alone (0700, its
files 0600), made so from the start and tightened when an older one is found open."""

import stat
from pathlib import Path

from sqlalchemy import text

from linkage.records.engine import make_engine
from linkage.settings.paths import private_file, state_dir, tighten_state


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_state_directory_is_made_and_kept_private(tmp_path, monkeypatch):
    folder = tmp_path / "state"
    monkeypatch.setenv("LINKAGE_STATE_DIR", str(folder))
    assert mode(state_dir()) == 0o700
    folder.chmod(0o755)
    assert mode(state_dir()) == 0o700


def test_the_records_database_and_its_wal_are_private_from_the_start(tmp_path):
    db = tmp_path / "records.db"
    engine = make_engine(f"sqlite:///{db}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x TEXT)"))
        connection.execute(text("INSERT INTO t VALUES ('13987654321')"))
        made = [p for p in tmp_path.iterdir() if p.name.startswith("records.db")]
        assert len(made) > 1  # the WAL too, while the connection is open
        assert {p.name: mode(p) for p in made} == {p.name: 0o600 for p in made}
    engine.dispose()


def test_start_up_tightens_what_an_older_release_left_open(tmp_path):
    root = tmp_path / "state"
    (root / "reports").mkdir(parents=True)
    root.chmod(0o755)
    (root / "reports").chmod(0o755)
    for name in ("records.db", "temporal.db", "reports/月研判.html"):
        (root / name).write_text("x")
        (root / name).chmod(0o644)
    tool = root / "tool"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    changed = tighten_state(root)
    assert len(changed) == 6
    assert mode(root) == mode(root / "reports") == 0o700
    assert mode(root / "records.db") == mode(root / "reports/月研判.html") == 0o600
    assert mode(tool) == 0o700  # the owner keeps what it had
    assert tighten_state(root) == []


def test_a_private_file_is_made_0600_and_keeps_what_it_holds(tmp_path):
    path = tmp_path / "temporal.db"
    assert mode(private_file(path)) == 0o600
    path.write_text("kept")
    path.chmod(0o644)
    assert mode(private_file(path)) == 0o600
    assert path.read_text() == "kept"
