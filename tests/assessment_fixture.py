# ruff: noqa: E501 (the month reads best one step per tuple)
"""A month of incidents written through the store's own write path, with every case the
indicators count: late sign, return, reopen, extension, dissatisfied, unreachable, a dispute
each way, joint handling, police linkage, emergency linkage, a whistle with a missed report-in,
repeat reports by place and by caller; and one incident of the month before, which November's
figures must leave out. The expected figures in test_indicators are computed by hand from this.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from linkage.domain.record_inputs import (
    IncidentProgress,
    PoliceCaseRecord,
    RecordStepInput,
    StepRecord,
    WorkOrderRecord,
)
from linkage.records.store import Store
from tests.conftest import CST
from tests.test_store import report_record, take_input

T0 = datetime(2026, 11, 10, 9, 0, tzinfo=CST)
CITY, WATER = "区城管局", "区水务局"
HUANGDAI, WEITANG = "黄埭派出所", "渭塘派出所"
CATEGORIES = {"H01": "公共设施", "H02": "市容管理", "H07": "矛盾纠纷类", "P04": "治安灾害事故"}
OVERDUE = {"E", "H"}  # the incidents still open with a missed deadline
CENTRE = "command_center:区集成指挥中心/张坐席"


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


class Month:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.ids: dict[str, str] = {}
        self.records = {}
        self._seq: dict[str, int] = {}

    def incident(
        self, name, origin, owner, township="黄埭镇", received=T0, stage="closed", item="H02.01"
    ):
        record = report_record(
            origin=origin,
            received_at=received.isoformat(),
            location={"address": f"{township}测试路{len(self.ids) + 1}号", "township": township},
        )
        self.store.take_report(take_input(record))
        self.ids[name], self.records[name] = record.id, record
        progress = IncidentProgress(
            stage=stage,
            owner=owner,
            pushes=1,
            overdue=stage != "closed" and name in OVERDUE,
            category=CATEGORIES[item[:3]],
            subcategory=item,
            version=1,
        )
        self.steps(name, "incident", [(0, "receiving_review", "enter", "")], incident=progress)
        return record.id

    def steps(self, name, loop, steps, **snapshots):
        iid = self.ids[name]
        rows = []
        for hours, step, action, unit in steps:
            key = f"{iid}.{loop}"
            self._seq[key] = self._seq.get(key, 0) + 1
            rows.append(
                StepRecord(
                    id=f"{key}#{self._seq[key]}",
                    incident_id=iid,
                    at=h(hours) if isinstance(hours, int | float) else hours,
                    loop=loop,
                    step=step,
                    action=action,
                    actor=f"member_unit:{unit}" if unit else CENTRE,
                    note=f"{step}/{action}",
                    unit=unit,
                )
            )
        self.store.record_steps(RecordStepInput(steps=rows, **snapshots))

    def order(self, name, unit, steps, **fields):
        values = dict(returns=0, reopens=0, overdue=False, completed=False, step="done") | fields
        order = WorkOrderRecord(
            order_no=f"GD-{self.ids[name]}", incident_id=self.ids[name], unit=unit, **values
        )
        self.steps(name, "hotline", steps, order=order)

    def case(self, name, unit, minutes, **fields):
        values = dict(overdue=False, completed=True, on_time=True, step="done") | fields
        case = PoliceCaseRecord(
            case_no=f"JJ-{self.ids[name]}", incident_id=self.ids[name], unit=unit, **values
        )
        steps = [
            (T0 + timedelta(minutes=m), s, a, unit if s != "receive" else "") for m, s, a in minutes
        ]
        self.steps(name, "police", steps, case=case)


def build(store: Store) -> Month:
    m = Month(store)
    ok = {"completed": True, "on_time": True}
    # A: happy path, once sent back by the bureau; a later report at its place joins it
    m.incident("A", "police", "hotline")
    m.steps(
        "A", "incident", [(0, "sending_review", "send_back", ""), (0, "sent_back", "resubmit", "")]
    )
    m.order(
        "A",
        CITY,
        [
            (0, "dispatch", "dispatch", CITY),
            (1, "sign", "sign", CITY),
            (12, "close", "close", ""),
            (13, "revisit", "satisfied", ""),
        ],
        satisfaction="satisfied",
        **ok,
    )
    a = m.records["A"]
    joined = report_record(
        received_at=h(1).isoformat(),
        location={"address": a.address, "township": a.township},
        category=a.category,
    )
    assert store.take_report(take_input(joined)).matched_by == "place"
    # B: signed late (the limit passed: auto_sign); the same caller reports again
    m.incident("B", "police", "hotline")
    m.order(
        "B",
        CITY,
        [
            (0, "dispatch", "dispatch", CITY),
            (2, "sign", "auto_sign", CITY),
            (30, "close", "close", ""),
            (31, "revisit", "basically_satisfied", ""),
        ],
        satisfaction="basically_satisfied",
        completed=True,
        on_time=False,
    )
    b = m.records["B"]
    again = report_record(
        received_at=h(2).isoformat(), caller={"name": "x", "phone": b.caller_phone}
    )
    assert store.take_report(take_input(again)).matched_by == "caller"
    # C: returned by 城管, redispatched to 水务, extended, unreachable once, reopened, satisfied
    m.incident("C", "police", "hotline", item="H01.01")
    m.order(
        "C",
        WATER,
        [
            (0, "dispatch", "dispatch", CITY),
            (1, "sign", "return", CITY),
            (2, "dispatch", "dispatch", WATER),
            (3, "sign", "sign", WATER),
            (10, "handle", "extension_approved", WATER),
            (50, "close", "close", ""),
            (51, "revisit", "unreachable", ""),
            (52, "revisit", "dissatisfied", ""),
            (80, "close", "close", ""),
            (81, "revisit", "satisfied", ""),
        ],
        satisfaction="satisfied",
        returns=1,
        reopens=1,
        **ok,
    )
    # D: handling limit missed and supervised twice, reopened, dissatisfied in the end
    m.incident("D", "police", "hotline", item="H01.01")
    m.order(
        "D",
        WATER,
        [
            (0, "dispatch", "dispatch", WATER),
            (0.25, "sign", "sign", WATER),
            (40, "handle", "supervise", WATER),
            (64, "handle", "supervise", WATER),
            (60, "close", "close", ""),
            (61, "revisit", "dissatisfied", ""),
            (100, "close", "close", ""),
            (101, "revisit", "dissatisfied", ""),
        ],
        satisfaction="dissatisfied",
        reopens=1,
        completed=True,
        on_time=False,
        overdue=True,
    )
    # E: still open and overdue in 渭塘镇; a whistle: one unit on time, one late, one missed
    m.incident("E", "police", "hotline", township="渭塘镇", stage="handling")
    m.order(
        "E",
        CITY,
        [
            (0, "dispatch", "dispatch", CITY),
            (0.5, "sign", "sign", CITY),
            (130, "handle", "supervise", CITY),
        ],
        step="handle",
        overdue=True,
    )
    m.steps(
        "E",
        "whistle",
        [
            (131, "whistle", "blow", ""),
            (132, "report_in", "report_in", CITY),
            (133, "report_in", "missed", "区公安分局"),
            (133, "report_in", "missed", "黄埭镇政府"),
            (134, "report_in", "report_in", "黄埭镇政府"),
        ],
    )
    # F: 110's push disputed by 12345, settled with police as owner
    m.incident("F", "police", "police", item="H07.01")
    m.steps(
        "F", "incident", [(0, "receiving_review", "dispute", ""), (1, "negotiation", "settle", "")]
    )
    m.case(
        "F",
        HUANGDAI,
        [
            (0, "receive", "receive"),
            (4, "command", "command"),
            (18, "handle", "arrive"),
            (180, "feedback", "feedback"),
        ],
    )
    # G: 12345's push disputed by 110, unsettled: the first receiver handles it; order unsigned
    m.incident("G", "hotline", "hotline", stage="handling", item="H07.01")
    m.steps(
        "G",
        "incident",
        [(0, "receiving_review", "dispute", ""), (4, "negotiation", "first_receiver_handles", "")],
    )
    m.order("G", CITY, [(5, "dispatch", "dispatch", CITY)], step="sign")
    # H: joint handling in 渭塘镇: police slow and not fed back; the 12345 unit calls police
    m.incident("H", "police", "joint", township="渭塘镇", stage="handling", item="H02.02")
    m.case(
        "H",
        WEITANG,
        [
            (0, "receive", "receive"),
            (20, "command", "command"),
            (90, "handle", "arrive"),
            (1500, "feedback", "supervise"),
        ],
        completed=False,
        on_time=None,
        overdue=True,
        step="handle",
    )
    m.order(
        "H",
        CITY,
        [
            (0, "dispatch", "dispatch", CITY),
            (1.5, "sign", "sign", CITY),
            (3, "handle", "police_linkage", CITY),
        ],
        step="handle",
    )
    # I: 12345 → 110 with an emergency linkage: 119 in 3 minutes, 120 late, one never
    m.incident("I", "hotline", "police", item="P04.01")
    m.steps("I", "incident", [(T0 + timedelta(minutes=5), "handling", "emergency_linkage", "")])
    m.steps(
        "I",
        "emergency",
        [
            (T0 + timedelta(minutes=8), "ack", "acknowledge", "区消防救援大队"),
            (T0 + timedelta(minutes=20), "ack", "acknowledge", "区急救中心"),
            (T0 + timedelta(minutes=16), "ack", "unacknowledged", "区应急管理局"),
        ],
    )
    m.case(
        "I",
        HUANGDAI,
        [
            (0, "receive", "receive"),
            (3, "command", "command"),
            (9, "handle", "arrive"),
            (60, "feedback", "feedback"),
        ],
    )
    # M: October's: left out of November
    m.incident("M", "police", "hotline", received=datetime(2026, 10, 31, 23, 0, tzinfo=CST))
    m.order(
        "M",
        CITY,
        [(0, "dispatch", "dispatch", CITY), (0.1, "sign", "sign", CITY), (1, "close", "close", "")],
        satisfaction="satisfied",
        **ok,
    )
    return m
