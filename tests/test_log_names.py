"""Logs mask the callers' names they were told about wherever they appear (a step's note says
已电话联系王小明, with no word before the name that the patterns know), and phones and ID
numbers as ever."""

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import structlog

from activities.records import RecordActivities
from linkage.domain.record_inputs import RecordStepInput, StepRecord
from linkage.settings.logs import configure, get_logger, tell_names


def last_line(capsys) -> str:
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_a_told_name_is_masked_in_every_field(capsys):
    structlog.reset_defaults()
    configure()
    tell_names("欧阳明月")
    get_logger(incident_id="police-JJ2").info(
        "step 已电话联系欧阳明月",
        note="已电话联系欧阳明月，电话13987654321，身份证32050719900101123X",
    )
    line = last_line(capsys)
    for secret in ("明月", "13987654321", "32050719900101123X"):
        assert secret not in line
    assert "已电话联系欧***" in json.loads(line)["note"]


def test_a_log_call_names_its_own_callers_and_they_are_not_logged(capsys):
    structlog.reset_defaults()
    configure()
    get_logger().info("reply sent", note="已回访司马相如，满意", callers=["司马相如"])
    line = last_line(capsys)
    assert "相如" not in line and "callers" not in json.loads(line)


def test_the_step_log_masks_the_caller_the_records_name(capsys):
    structlog.reset_defaults()
    configure()
    store = SimpleNamespace(
        record_steps=lambda _input, _outbox=(), _sent=None: {},
        caller=lambda _incident_id: ("诸葛孔亮", "13800000000"),
    )
    activities = RecordActivities(store, gateway=None)
    step = StepRecord(
        id="police-JJ3#1",
        incident_id="police-JJ3",
        at=datetime.now(UTC),
        loop="hotline",
        step="handle",
        action="feedback",
        actor="unit:区城管局",
        note="已电话联系诸葛孔亮，现场已清理",
    )
    activities.record_steps(RecordStepInput(steps=[step]))
    line = last_line(capsys)
    assert "孔亮" not in line and "已电话联系诸***" in line
