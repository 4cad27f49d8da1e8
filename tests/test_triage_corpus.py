"""Triage's rows: the real posts' held-out fifth never reaches training, a district's own files
are read strictly (a bad row names its line and field, and nothing is learned), and
`linkage triage learn --data` refuses a bad file before it reads or writes anything."""

from __future__ import annotations

import json

import pytest

from linkage.domain.catalogue import load_catalogue
from linkage.interfaces.cli import main as cli
from linkage.triage import corpus
from linkage.triage.corpus import data_rows, held_out, real_rows
from linkage.triage.training import UNKNOWN


def posts(folder, n: int) -> None:
    """A folder shaped like the real posts' (their text is never in the repository)."""
    folder.mkdir()
    with (folder / "board-labelled.jsonl").open("w", encoding="utf-8") as f:
        for i in range(n):
            row = {"id": f"lab-{i}", "text": f"小区{i}号楼垃圾没人清运", "label": "城乡建设"}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    with (folder / "board-unlabelled.jsonl").open("w", encoding="utf-8") as f:
        for i in range(n):
            row = {"id": f"un-{i}", "text": f"路灯{i}不亮", "reply_mentions_police": i % 10 == 0}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def test_the_held_out_fifth_is_fixed_and_never_in_the_training_part(tmp_path, monkeypatch):
    folder = tmp_path / "real"
    posts(folder, 500)
    labels = tmp_path / "labels.jsonl"
    labels.write_text(
        json.dumps({"id": "un-0", "direction": "police", "category": "P01", "safety": False})
        + "\n"
        + json.dumps({"id": "un-10", "direction": "hotline", "category": "-", "safety": False})
        + "\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(corpus, "REAL_LABELS", labels)
    train, kept = real_rows("train", folder), real_rows("held_out", folder)
    assert not {r.source for r in train} & {r.source for r in kept}
    assert 0.15 < len(kept) / (len(train) + len(kept)) < 0.25
    assert all(held_out(r.source.removeprefix("real:")) for r in kept)
    assert held_out("lab-1") == held_out("lab-1")  # a hash, not a draw
    # police-handled posts come in only with a person's label; the rest are 12345 matters
    by_id = {r.source.removeprefix("real:"): r for r in train + kept}
    assert by_id["un-0"].direction == "police" and by_id["un-0"].category == "P01"
    assert by_id["un-10"].direction == "hotline" and by_id["un-10"].category == UNKNOWN
    assert "un-20" not in by_id  # a police reply, no label yet: left out
    assert {r.category for r in by_id.values() if r.source != "real:un-0"} == {UNKNOWN}
    assert real_rows("train", tmp_path / "absent") == []


def test_a_districts_file_in_json_lines_or_csv(tmp_path):
    catalogue = set(load_catalogue().categories)
    jsonl = tmp_path / "decided.jsonl"
    jsonl.write_text(
        '{"text": "楼下饭店油烟太大", "direction": "hotline", "category": "H02.07"}\n\n'
        '{"text": "有人在小区里偷电瓶车", "direction": "police", "safety": true, '
        '"township": "黄埭镇"}\n',
        encoding="utf-8",
    )
    rows = data_rows(jsonl, categories=catalogue)
    assert [(r.direction, r.category, r.safety, r.township) for r in rows] == [
        ("hotline", "H02", False, ""),
        ("police", UNKNOWN, True, "黄埭镇"),
    ]
    assert rows[1].source == "decided.jsonl:decided.jsonl line 3"
    export = tmp_path / "export.csv"
    export.write_text("text,category,safety\n路灯不亮,H01,false\n井盖丢了,,\n", encoding="utf-8")
    rows = data_rows(export, default_direction="hotline", categories=catalogue)
    assert [(r.text, r.direction, r.category, r.safety) for r in rows] == [
        ("路灯不亮", "hotline", "H01", False),
        ("井盖丢了", "hotline", UNKNOWN, False),
    ]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"text": "路灯不亮"}\n', "line 1: direction: None is not one of police, hotline, both"),
        ('{"text": "", "direction": "hotline"}\n', "line 1: text: required"),
        ('{"text": "a", "direction": "hotline"}\n{oops\n', "line 2: not valid JSON"),
        ('{"text": "a", "direction": "hotline", "safety": "maybe"}\n', "line 1: safety"),
        ('{"text": "a", "direction": "hotline", "category": "Z99"}\n', "category: 'Z99' is not"),
        ("[1, 2]\n", "line 1: a row must be an object"),
        ("\n\n", "no rows"),
    ],
)
def test_a_bad_row_names_its_line_and_field(tmp_path, content, problem):
    path = tmp_path / "rows.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        data_rows(path, categories=set(load_catalogue().categories))


def test_learn_refuses_a_bad_data_file_before_anything_is_read_or_written(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("LINKAGE_DATABASE_URL", f"sqlite:///{tmp_path / 'records.db'}")
    bad = tmp_path / "rows.jsonl"
    bad.write_text('{"text": "路灯不亮", "direction": "sideways"}\n', encoding="utf-8")
    out = tmp_path / "model.json"
    code = cli.run(["triage", "learn", "--data", str(bad), "--out", str(out)])
    err = capsys.readouterr().err
    assert code != 0 and "rows.jsonl line 1: direction: 'sideways'" in err
    code = cli.run(["triage", "learn", "--data", str(tmp_path / "none.jsonl")])
    assert code != 0 and "none.jsonl: no such file" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "records.db").exists()


@pytest.mark.timeout(300)  # two folds of training twice: half a minute on a busy machine
def test_an_operator_learns_a_candidate_from_a_districts_export(tmp_path, monkeypatch, capsys):
    """`learn --data FILE --out PATH`: the candidate is written where asked, records the file
    it learned from, and the running model is left alone; a member unit may not learn."""
    from linkage.domain.units import load_register
    from linkage.records.audit import AuditLog
    from linkage.records.store import Store
    from linkage.settings.paths import config_dir
    from linkage.triage.model import load_model
    from linkage.trust.principals import make_principal
    from linkage.trust.tokens import issue_token

    url = f"sqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("LINKAGE_DATABASE_URL", url)
    monkeypatch.setenv("LINKAGE_STATE_DIR", str(tmp_path / "state"))
    register = load_register()
    operator = make_principal(register, name="值班运维", role="operator", unit="")
    member = make_principal(register, name="钱科长", role="member_unit", unit="区城管局")
    export = tmp_path / "export.csv"
    export.write_text(
        "text,category\n" + "".join(f"{i}号楼下的路灯坏了好几天,H01\n" for i in range(6)),
        encoding="utf-8",
    )
    shipped = config_dir() / "triage-model/model.json"
    before = shipped.read_bytes()
    out = tmp_path / "candidate.json"
    args = ["triage", "learn", "--data", str(export), "--default-direction", "hotline"]
    args += ["--out", str(out), "--no-real", "--folds", "2", "--json"]
    monkeypatch.setenv("LINKAGE_TOKEN", issue_token(member, days=1)[0])
    assert cli.run(args) == 1 and "triage.learn" in capsys.readouterr().err
    assert not out.exists()
    monkeypatch.setenv("LINKAGE_TOKEN", issue_token(operator, days=1)[0])
    code = cli.run(args)
    answer = json.loads(capsys.readouterr().out)
    assert code == 0 and answer["written"], answer
    model = load_model(out)
    assert model.version == answer["version"] and model.info["data"] == {"export.csv": 6}
    assert model.info["real"] == {}  # --no-real
    assert shipped.read_bytes() == before
    entries = AuditLog(Store(url).engine).list(action="triage.learn")
    assert {(e.principal, e.allowed) for e in entries} == {("值班运维", True), ("钱科长", False)}


def test_the_desks_decisions_are_exported_for_learn(tmp_path, monkeypatch, capsys):
    from sqlmodel import Session

    from linkage.domain.units import load_register
    from linkage.records.audit import AuditLog
    from linkage.records.store import Store
    from linkage.records.tables import Incident
    from linkage.trust.principals import make_principal
    from linkage.trust.tokens import issue_token
    from tests.test_triage_model import desk_decision

    url = f"sqlite:///{tmp_path / 'records.db'}"
    monkeypatch.setenv("LINKAGE_DATABASE_URL", url)
    monkeypatch.setenv("LINKAGE_STATE_DIR", str(tmp_path / "state"))
    store = Store(url)
    text = "楼道冒烟，王小明说回拨13812012345"
    desk_decision(store, "police-1", text, "police", "P04.05", "override")
    with Session(store.engine) as session:  # the caller's name, sealed in its own column
        row = session.get(Incident, "police-1")
        row.caller_name = "王小明"
        session.add(row)
        session.commit()
    desk_decision(store, "police-2", "小区门口垃圾没人清运", "hotline", "H02.02", "confirm")
    register = load_register()
    operator = make_principal(register, name="值班运维", role="operator", unit="")
    supervisor = make_principal(register, name="督查室", role="supervisor", unit="")
    out = tmp_path / "desk.jsonl"
    monkeypatch.setenv("LINKAGE_TOKEN", issue_token(supervisor, days=1)[0])
    assert cli.run(["triage", "export", "--out", str(out)]) == 1 and not out.exists()
    monkeypatch.setenv("LINKAGE_TOKEN", issue_token(operator, days=1)[0])
    assert cli.run(["triage", "export", "--out", str(out)]) == 0
    assert "2 desk decisions" in capsys.readouterr().out
    assert out.stat().st_mode & 0o077 == 0  # the callers' words: the owner's only
    exported = out.read_text(encoding="utf-8")
    assert "13812012345" not in exported and "王小明" not in exported  # no caller data
    rows = data_rows(out, categories=set(load_catalogue().categories))
    assert [(r.direction, r.category, r.safety) for r in rows] == [
        ("police", "P04", True),
        ("hotline", "H02", False),
    ]
    assert cli.run(["triage", "export", "--out", str(out)]) == 1  # never over a file
    assert "exists" in capsys.readouterr().err
    entries = AuditLog(store.engine).list(action="triage.export")
    assert {(e.principal, e.allowed) for e in entries} == {("值班运维", True), ("督查室", False)}
