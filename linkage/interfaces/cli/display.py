"""How the CLI shows things to a person: Chinese terms beside the English, times in the district's
zone, and no caller's personal data."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from linkage.domain.models import STAGE_LABELS, DeadlineView, TimelineEntry
from linkage.domain.outbox_content import outbox_content
from linkage.domain.timefmt import local
from linkage.domain.units import load_register
from linkage.settings.config import ConfigError
from workflows.contracts import IncidentState
from workflows.loop_contracts import EmergencyState, HotlineLoopState, PoliceLoopState, WhistleState

LOOP_LABELS = {"incident": "分流 incident", "police": "110 police", "hotline": "12345 hotline"}


def unit_name(code: str) -> str:
    """The full name of a unit stored by its code (a value the register does not know, as it
    is)."""
    if not code:
        return ""
    try:
        return load_register().name_of(code)
    except ConfigError:
        return code


def _yes(value: bool | None) -> str:
    return "-" if value is None else ("是 yes" if value else "否 no")


def _left(at: datetime) -> str:
    seconds = (at - datetime.now(UTC)).total_seconds()
    sign, seconds = ("overdue by ", -seconds) if seconds < 0 else ("in ", seconds)
    days, rem = divmod(int(seconds), 86400)
    hours, rem = divmod(rem, 3600)
    text = f"{days}d {hours}h" if days else f"{hours}h {rem // 60}m"
    return sign + text


def _deadlines(deadlines: Iterable[DeadlineView]) -> str:
    parts = []
    for d in deadlines:
        late = f", missed, supervised {d.supervisions}x" if d.missed else ""
        parts.append(f"{d.label} {d.name} {local(d.at)} ({_left(d.at)}{late})")
    return "; ".join(parts) or "none"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max([_width(h), *(_width(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    lines = ["  ".join(_pad(h, w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(_pad(c, w) for c, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(lines)


def _width(text: str) -> int:
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def render_timeline(entries: list[TimelineEntry]) -> str:
    if not entries:
        return "  no entries yet 暂无记录"
    rows = [
        [local(e.at), LOOP_LABELS.get(e.loop, e.loop), e.step, e.action, e.actor, e.note]
        for e in entries
    ]
    return _table(["time 时间", "loop", "step 步骤", "action", "actor 操作方", "note 说明"], rows)


def render_status(status) -> str:
    stage = f"{STAGE_LABELS[status.stage]} {status.stage.value}"
    lines = [f"Incident {status.incident_id}   stage 阶段: {stage}"]
    if status.summary is not None:
        summary = status.summary
        owner = summary.owner.value if summary.owner else "-"
        lines.append(f"  closed 已结束: {summary.outcome}   owner 责任方: {owner}")
        if summary.first_receiver_handles:
            lines.append("  首接平台先行受理 (dispute unsettled: the first receiver handled it)")
        for a in summary.assessments:
            satisfaction = f", satisfaction {a.satisfaction}" if a.satisfaction else ""
            lines.append(
                f"  assessment 考核 ({a.assessor}): {a.loop} loop, unit {unit_name(a.unit)}, "
                f"completed 办结 {_yes(a.completed)}, on time 按时 {_yes(a.on_time)}{satisfaction}"
            )
    source = status.incident or status.summary
    if source is not None and source.triage is not None:
        lines += _triage_lines(source.triage, source.triage_override)
    if status.incident is not None:
        s = status.incident
        owner = s.owner.value if s.owner else "not decided 未定"
        lines.append(
            f"  {s.origin.label} → {s.receiver.label}   owner 责任方: {owner}   "
            f"pushes 推送次数: {s.pushes}   overdue 超时: {'yes' if s.late else 'no'}"
        )
        lines.append(f"  push reason 推送原因: {s.divert_reason}")
        if s.dispute_reason:
            lines.append(f"  dispute 异议: {s.dispute_reason}")
        lines.append(f"  deadlines 时限: {_deadlines(s.deadlines)}")
        for item in s.late:
            who = "、".join(unit_name(u) for u in item.units) or "-"
            due = local(item.due) if item.due else "-"
            lines.append(
                f"  ⚠ overdue 超时: {item.label} ({item.loop}) due {due}, late 超时方 {who}, "
                f"supervised 督办 {item.supervisions}x"
            )
    if status.police is not None:
        p = status.police
        lines.append(
            f"  110 loop 警单 {p.case_no}: step {p.step.value}, unit {unit_name(p.unit) or '-'}"
            + (
                f" (suggested {unit_name(p.suggested_unit)})"
                if not p.unit and p.suggested_unit
                else ""
            )
            + ", "
            f"{'已到场 arrived' if p.arrived else '未到场 not arrived'}; "
            f"deadlines: {_deadlines(p.deadlines)}"
        )
    if status.hotline is not None:
        h = status.hotline
        extra = f", extension asked {h.pending_extension.hours:g}h" if h.pending_extension else ""
        lines.append(
            f"  12345 loop 工单 {h.order_no}: step {h.step.value}, unit {unit_name(h.unit) or '-'}"
            + (
                f" (suggested {unit_name(h.suggested_unit)})"
                if not h.unit and h.suggested_unit
                else ""
            )
            + ", "
            f"returns {h.returns}, reopens {h.reopens}{extra}; "
            f"deadlines: {_deadlines(h.deadlines)}"
        )
    for w in status.whistles:
        state = "closed 已结束" if w.closed else "open 进行中"
        waiting = [unit_name(u) for u in w.units if u not in w.reported]
        lines.append(
            f"  whistle 吹哨 #{w.number} ({state}): {w.reason}; reported 已报到 "
            f"{len(w.reported)}/{len(w.units)}"
            + (f", waiting 未报到 {'、'.join(waiting)}" if waiting else "")
            + f"; deadlines: {_deadlines(w.deadlines)}"
        )
    for e in status.emergencies:
        waiting = [n for c, n in e.units.items() if c not in e.acknowledged]
        lines.append(
            f"  emergency 应急联动 #{e.number}: acknowledged 已确认 "
            f"{len(e.acknowledged)}/{len(e.units)}"
            + (f", waiting 未确认 {'、'.join(waiting)}" if waiting else "")
        )
    if status.summary is not None:
        for e in status.summary.emergencies:
            names = [e.units[c] for c in e.unacknowledged]
            lines.append(
                f"  emergency 应急联动 #{e.number}: {'、'.join(e.units.values())}; "
                f"never acknowledged 未确认 {'、'.join(names) or '-'}"
            )
        for w in status.summary.whistles:
            lines.append(
                f"  whistle 吹哨 #{w.number}: {w.reason}; on time {'、'.join(w.on_time)}"
                f"; late {'、'.join(w.late) or '-'}; missed {'、'.join(w.missed) or '-'}"
            )
    lines += ["", "Timeline 时间线", render_timeline(status.timeline())]
    return "\n".join(lines)


def _triage_lines(triage, override) -> list[str]:
    item = str(triage.subcategory) if triage.subcategory else "未分类 unclassified"
    lines = [
        f"  triage 分诊: {DIRECTION_LABELS[triage.direction]} · {item} · confidence "
        f"{triage.confidence:.2f} · route 派往 {unit_name(triage.route.unit)} · catalogue "
        f"{triage.catalogue_version}",
        f"    reason 理由: {triage.reason}",
    ]
    if triage.hotline_route is not None:
        lines.append(f"    12345 part 会同部分派往: {unit_name(triage.hotline_route.unit)}")
    if triage.safety:
        lines.append(f"    safety floor 安全底线: {'、'.join(triage.safety)}")
    if override is not None:
        lines.append(
            f"    override 人工改判 by {override.actor}: was {override.direction_before} "
            f"{override.subcategory_before or '-'}; {override.reason}"
        )
    return lines


def render_action_done(incident_id: str, action: str, state) -> str:
    """What an action led to, in the terms of the workflow that took it."""
    if isinstance(state, PoliceLoopState | HotlineLoopState):
        where = state.step.value
    elif isinstance(state, IncidentState):
        where = state.stage.value
    elif isinstance(state, WhistleState):
        where = f"whistle #{state.number}, reported {len(state.reported)}/{len(state.units)}"
    elif isinstance(state, EmergencyState):
        where = (
            f"emergency linkage #{state.number}, acknowledged "
            f"{len(state.acknowledged)}/{len(state.units)}"
        )
    else:
        where = type(state).__name__
    then = getattr(state, "incident_stage", None)
    incident = f"; incident {STAGE_LABELS[then]} {then.value}" if then else ""
    return f"{incident_id}: {action} done; now at {where}{incident}"


def render_listing(rows) -> str:
    if not rows:
        return "no incidents match"
    return _table(
        [
            "incident",
            "stage 阶段",
            "owner",
            "township 属地",
            "category",
            "waiting 待办",
            "on 承办",
            "due 时限",
            "overdue 超时",
            "whistle",
            "started",
        ],
        [
            [
                r.incident_id + ("" if r.status == "running" else f" ({r.status})"),
                r.stage,
                r.owner or "-",
                r.township,
                r.category,
                r.step or "-",
                "、".join(r.waiting_on) or "-",
                local(r.due) if r.due else "-",
                _overdue_cell(r),
                "吹哨" if r.whistled else "",
                local(r.started) if r.started else "-",
            ]
            for r in rows
        ],
    )


def _overdue_cell(row) -> str:
    if not row.overdue:
        return ""
    return f"yes, 督办 {row.supervisions}x" if row.supervisions else "yes"


def render_outbox(rows) -> str:
    if not rows:
        return "the outbox is empty"
    return _table(
        ["key", "target", "status", "attempts", "created", "content 内容", "last error"],
        [
            [
                r.id,
                r.target,
                r.status,
                str(r.attempts),
                local(r.created_at),
                outbox_content(r.kind, r.incident_id, r.payload),
                r.last_error,
            ]
            for r in rows
        ],
    )


DIRECTION_LABELS = {
    "police": "110 警务 police",
    "hotline": "12345 非警务 hotline",
    "both": "110 与 12345 会同 both",
}


def render_triage(result) -> str:
    """A triage result as a duty officer reads it."""
    item = "未分类 unclassified"
    if result.subcategory is not None:
        item = f"{result.category.code} {result.category.name} / {result.subcategory}"
    route = f"{result.route.unit} ({result.route.kind}"
    route += f", {result.route.township})" if result.route.township else ")"
    lines = [
        f"direction 分流方向: {DIRECTION_LABELS[result.direction]}",
        f"category 事项: {item}",
        f"confidence 置信度: {result.confidence:.2f}   evidence 依据: "
        f"{'、'.join(result.evidence) or '-'}",
        f"route 派往: {route}",
    ]
    if result.hotline_route is not None:
        lines.append(f"12345 part 会同部分派往: {result.hotline_route.unit}")
    if result.safety:
        units = "、".join(result.emergency_units) or "-"
        lines.append(f"safety floor 安全底线: {'、'.join(result.safety)}; 应急联动 {units}")
    review = "no"
    if result.needs_review:
        review = "yes 转对接联动专席 " + "；".join(result.review_reasons)
    lines.append(f"needs review 人工复核: {review}")
    lines.append(f"reason 理由: {result.reason}")
    lines.append(f"catalogue 事项明细版本: {result.catalogue_version}")
    return "\n".join(lines)
