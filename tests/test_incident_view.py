"""An incident as a unit sees it: free text with the caller's phone, ID number and name masked,
unless the unit holds the order and the report is not confidential (保密); the desks see all."""

import json
from datetime import UTC, datetime

from linkage.client.status import IncidentStatus
from linkage.client.views import incident_view
from linkage.domain.models import IncidentReport, Stage, TimelineEntry
from linkage.domain.record_inputs import IncidentRecord
from linkage.trust.principals import Principal, PrincipalRole
from tests.conftest import make_report
from workflows.loop_contracts import HotlineLoopState

NAME, PHONE, ID_NUMBER = "欧阳明月", "13987654321", "32050719900101123X"
SAID = f"已电话联系{NAME}（{PHONE}，身份证{ID_NUMBER}），现场已处理"
SECRETS = (NAME[1:], PHONE, ID_NUMBER)


def construct(cls, **given):
    """A model with the fields the test names, the rest None (the view reads, never checks)."""
    return cls.model_construct(**({name: None for name in cls.model_fields} | given))


def status(running: bool = True, unit: str = "U1") -> IncidentStatus:
    entry = TimelineEntry(
        at=datetime.now(UTC),
        loop="hotline",
        step="handle",
        action="feedback",
        actor="unit:U1",
        note=SAID,
    )
    hotline = construct(
        HotlineLoopState,
        unit=unit,
        feedback=SAID,
        reply=SAID,
        timeline=[entry],
        deadlines=[],
        pending_extension=None,
        satisfaction=None,
    )
    return IncidentStatus(
        incident_id="police-JJ9", running=running, stage=Stage.handling, hotline=hotline
    )


def shown(principal: Principal, found: IncidentStatus, confidential: bool = False) -> str:
    view = incident_view(principal, found, caller_names=(NAME,), confidential=confidential)
    return json.dumps(view.model_dump(mode="json"), ensure_ascii=False)


def unit(role: PrincipalRole, code: str = "U1") -> Principal:
    return Principal(name="someone", role=role, unit=code, unit_name=f"{code} 单位")


def test_a_unit_that_does_not_hold_the_order_sees_the_free_text_masked():
    for principal in (unit(PrincipalRole.member_unit, "U2"), unit(PrincipalRole.police_unit)):
        text = shown(principal, status())
        assert not any(secret in text for secret in SECRETS), principal.role
        assert "已电话联系欧***" in text and "139****4321" in text


def test_the_unit_holding_the_order_sees_the_caller_unless_the_report_is_confidential():
    holder = unit(PrincipalRole.member_unit)
    assert all(secret in shown(holder, status()) for secret in SECRETS)
    assert not any(secret in shown(holder, status(), confidential=True) for secret in SECRETS)
    assert not any(secret in shown(holder, status(running=False)) for secret in SECRETS)


def test_the_desks_see_everything_and_the_operator_does_not():
    desk = Principal(name="desk", role=PrincipalRole.command_center, unit="C1")
    assert all(secret in shown(desk, status(), confidential=True) for secret in SECRETS)
    operator = Principal(name="op", role=PrincipalRole.operator)
    assert not any(secret in shown(operator, status()) for secret in SECRETS)


def test_a_report_may_be_marked_confidential_and_the_records_keep_it():
    assert IncidentReport.model_validate(make_report()).confidential is False
    report = IncidentReport.model_validate(make_report(confidential=True))
    assert IncidentRecord.from_report(report, stage="handling").confidential is True


def test_the_records_give_the_view_the_callers_name_and_the_confidential_mark():
    from types import SimpleNamespace

    from linkage.client.views import status_as_seen

    row = SimpleNamespace(caller_name=NAME, confidential=True)
    store = SimpleNamespace(get=lambda _table, _key: row)
    holder = unit(PrincipalRole.member_unit)
    text = json.dumps(
        status_as_seen(holder, status(), store).model_dump(mode="json"), ensure_ascii=False
    )
    assert not any(secret in text for secret in SECRETS)
    row.confidential = False
    text = json.dumps(
        status_as_seen(holder, status(), store).model_dump(mode="json"), ensure_ascii=False
    )
    assert all(secret in text for secret in SECRETS)
