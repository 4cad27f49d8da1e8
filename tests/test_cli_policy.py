"""Every CLI command is in the policy or listed as needing no principal, with the reason; the
codec's keys and the reports are authorised by the policy and audited, refusals too."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from linkage.domain.units import load_register
from linkage.interfaces.cli import main as cli
from linkage.interfaces.cli.guard import COMMAND_ACTIONS, NO_PRINCIPAL
from linkage.records.audit import AuditLog
from linkage.records.store import Store
from linkage.trust.codec import CODEC
from linkage.trust.policy import POLICY
from linkage.trust.principals import make_principal
from linkage.trust.tokens import issue_token

ROOT = Path(__file__).resolve().parents[1]
# commands a positional word chooses, beside argparse's own subcommands
WORD_COMMANDS = {"triage": ["learn", "export"]}


def commands_of(parser: argparse.ArgumentParser, prefix: str) -> list[str]:
    """The commands under `prefix`: its subparsers' (recursively), a `*_command` positional's
    choices, or the command itself."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += commands_of(child, f"{prefix} {name}")
        elif not action.option_strings and action.choices and action.dest.endswith("_command"):
            found += [f"{prefix} {choice}" for choice in action.choices]
    return found or [prefix]


def every_command() -> set[str]:
    found: set[str] = set()
    for name in cli.COMMANDS:
        parser = cli.build_parser([name])  # builds the arguments of the command named only
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        found.update(commands_of(sub.choices[name], name))
        found.update(f"{name} {word}" for word in WORD_COMMANDS.get(name, []))
    return found


def test_every_command_is_in_the_policy_or_needs_no_principal_for_a_reason():
    commands = every_command()
    assert {"keys list", "keys rotate", "report monthly", "report evidence"} <= commands
    unaccounted = commands - set(COMMAND_ACTIONS) - set(NO_PRINCIPAL)
    assert not unaccounted, f"neither in the policy nor in NO_PRINCIPAL: {sorted(unaccounted)}"
    assert not set(COMMAND_ACTIONS) & set(NO_PRINCIPAL)
    stale = (set(COMMAND_ACTIONS) | set(NO_PRINCIPAL)) - commands
    assert not stale, f"no such command: {sorted(stale)}"
    for command, actions in COMMAND_ACTIONS.items():
        assert actions and set(actions) <= set(POLICY), command
    for command, reason in NO_PRINCIPAL.items():
        assert len(reason) > 40, command


def test_the_readme_table_has_a_row_for_every_action():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `([a-z.-]+)` \|", readme, flags=re.MULTILINE))
    assert set(POLICY) <= rows, sorted(set(POLICY) - rows)


@pytest.fixture
def records(tmp_path, monkeypatch) -> Store:
    """A records database and a state directory (the codec keyring file) of this test's own;
    the process's own codec keys, read first, stay the ones that seal."""
    assert CODEC.keyring.current
    url = f"sqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("LINKAGE_DATABASE_URL", url)
    monkeypatch.setenv("LINKAGE_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("LINKAGE_CODEC_KEYS", raising=False)
    monkeypatch.delenv("LINKAGE_CODEC_KEYS_FILE", raising=False)
    yield Store(url)
    monkeypatch.undo()
    CODEC.reload()


def token(role: str, unit: str, name: str) -> str:
    principal = make_principal(load_register(), name=name, role=role, unit=unit)
    return issue_token(principal, days=1)[0]


def run_as(monkeypatch, capsys, who: str, *args: str) -> tuple[int, str, str]:
    monkeypatch.setenv("LINKAGE_TOKEN", who)
    code = cli.run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def key_ids(state: Path) -> list[str]:
    return [e["id"] for e in json.loads((state / "codec-keys.json").read_text())["keys"]]


def test_a_member_unit_may_not_rotate_the_codec_key_and_an_operator_rotates_audited(
    records, tmp_path, monkeypatch, capsys
):
    member = token("member_unit", "区城管局", "钱科长")
    operator = token("operator", "", "值班运维")
    supervisor = token("supervisor", "", "督查室")
    state = tmp_path / "state"

    code, out, err = run_as(monkeypatch, capsys, supervisor, "keys")
    assert code == 0 and out.split() == ["k1", "(encrypts)"], err
    code, out, err = run_as(monkeypatch, capsys, member, "keys", "rotate")
    assert code == 1 and "refused: keys.rotate: a member_unit may not take it" in err
    assert "rotated by operator" in err and not out
    assert key_ids(state) == ["k1"]  # the keyring unchanged
    code, _, err = run_as(monkeypatch, capsys, member, "keys")
    assert code == 1 and "refused: keys: a member_unit may not take it" in err
    code, _, err = run_as(monkeypatch, capsys, supervisor, "keys", "rotate")
    assert code == 1 and "refused: keys.rotate: a supervisor may not take it" in err
    assert key_ids(state) == ["k1"]

    code, out, err = run_as(monkeypatch, capsys, operator, "keys", "rotate")
    assert code == 0 and "new codec key k2 encrypts from now on" in out, err
    assert key_ids(state) == ["k2", "k1"]

    entries = AuditLog(records.engine).list(action="keys.rotate")
    got = {(e.principal, e.role, e.unit, e.allowed, e.via) for e in entries}
    assert got == {
        ("钱科长", "member_unit", load_register().resolve("区城管局", None, "unit").code, False,
         "cli"),
        ("督查室", "supervisor", "", False, "cli"),
        ("值班运维", "operator", "", True, "cli"),
    }  # fmt: skip
    refused = next(e for e in entries if e.principal == "钱科长")
    assert "a member_unit may not take it" in refused.reason
    rotated = next(e for e in entries if e.allowed)
    assert rotated.detail == {"key": "k2"} and not rotated.reason
    listed = AuditLog(records.engine).list(action="keys")
    assert {(e.principal, e.allowed) for e in listed} == {("督查室", True), ("钱科长", False)}


def test_the_reports_by_their_rule(records, monkeypatch, capsys):
    unit = load_register().resolve("区城管局", None, "unit")
    member = token("member_unit", unit.code, "钱科长")
    supervisor = token("supervisor", "", "督查室")

    code, _, err = run_as(monkeypatch, capsys, member, "report", "list")
    assert code == 1 and "refused: report.list: a member_unit may not take it" in err
    code, _, err = run_as(monkeypatch, capsys, member, "report", "monthly", "--period", "2026-11")
    assert code == 1 and "refused: report.produce: a member_unit may not take it" in err
    assert "the reviews are produced by operator, supervisor" in err
    code, _, err = run_as(monkeypatch, capsys, member, "report", "evidence", "--json")
    assert code == 1 and "refused: report.evidence: a unit sees its own" in err
    code, _, err = run_as(
        monkeypatch, capsys, member, "report", "evidence", "--unit", "望亭镇政府", "--json"
    )
    assert code == 1 and "refused: report.evidence" in err
    code, out, err = run_as(
        monkeypatch, capsys, member, "report", "evidence", "--unit", "区城管局", "--json"
    )
    assert code == 0 and json.loads(out) == {"evidence": [], "interview": []}, err
    code, out, err = run_as(monkeypatch, capsys, supervisor, "report", "list", "--json")
    assert code == 0 and json.loads(out) == [], err

    audit = AuditLog(records.engine)
    refused = audit.list(principal="钱科长", refused=True)
    assert {e.action for e in refused} == {"report.list", "report.produce", "report.evidence"}
    assert all(e.reason for e in refused)
    own = [e for e in audit.list(action="report.evidence") if e.allowed]
    assert [(e.principal, e.detail["unit"]) for e in own] == [("钱科长", unit.code)]
    assert [e.allowed for e in audit.list(action="report.list", principal="督查室")] == [True]


def test_a_cli_command_is_audited_before_it_acts_and_completed_after(records, monkeypatch, capsys):
    """As the API's actions: a run killed while rotating the key leaves an entry saying the
    rotation was begun; one that fails completes it with the failure."""
    import linkage.trust.codec as codec

    operator = token("operator", "", "值班运维")
    audit = AuditLog(records.engine)
    seen = []
    rotate = codec.rotate_keys

    def rotating():
        seen.extend(audit.list(action="keys.rotate"))  # as a kill here would find it
        return rotate()

    monkeypatch.setattr(codec, "rotate_keys", rotating)
    code, _, err = run_as(monkeypatch, capsys, operator, "keys", "rotate")
    assert code == 0, err
    assert [e.detail.get("phase") for e in seen] == ["begun"]
    (entry,) = audit.list(action="keys.rotate")
    assert entry.id == seen[0].id and entry.detail == {"key": "k2"} and entry.allowed

    def broken():
        raise OSError("disk full")

    monkeypatch.setattr(codec, "rotate_keys", broken)
    with pytest.raises(OSError):  # an unforeseen failure keeps its traceback
        run_as(monkeypatch, capsys, operator, "keys", "rotate")
    failed = audit.list(action="keys.rotate")[0]
    assert failed.reason == "failed: disk full" and "phase" not in failed.detail
