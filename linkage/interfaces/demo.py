"""`linkage demo`: realistic incidents in both directions, with every party played.

Each scenario diverts one incident and then acts for the bureau, the command centre, the units
and the citizen with short pauses, so a person watching the Web UI sees incidents move through
review, negotiation, both loops and the push back. The paths cover send-back, dispute, return,
extension, rejected feedback, reopening after dissatisfaction, an unreachable citizen, joint
handling, a whistle (双哨联处) and police linkage (派警联动).
"""

from __future__ import annotations

import asyncio
import sys
import time
from datetime import datetime, timedelta, timezone

from linkage.client import ActionRefused, LinkageClient
from linkage.client.authorized import AuthorizedClient
from linkage.domain.models import Stage
from linkage.domain.units import load_register
from linkage.trust.principals import make_principal
from linkage.trust.tokens import TokenVerifier, issue_token
from workflows.contracts import IncidentSummary

CST = timezone(timedelta(hours=8))

BUREAU = {"role": "police_bureau", "unit": "区公安分局", "person": "值班民警"}
CENTRE = {"role": "command_center", "unit": "区集成指挥中心", "person": "张坐席"}
DESK = {"role": "linkage_desk", "unit": "对接联动专席", "person": "陈专席"}
# who pushes a scenario's report: its station on 110's side, the command centre on 12345's
ORIGIN_ROLE = {"police": "police_unit", "hotline": "command_center"}


def unit(name: str) -> dict:
    return {"role": "member_unit", "unit": name}


def police(name: str) -> dict:
    return {"role": "police_unit", "unit": name}


HAPPY_HOTLINE_LOOP = [
    (CENTRE, "dispatch", {"unit": "区城管局"}),
    (unit("区城管局"), "sign", {}),
    (unit("区城管局"), "feedback", {"result": "执法队员到场，摊贩已劝离，消防通道恢复畅通"}),
    (CENTRE, "reply", {"message": "您反映的占道经营问题已由区城管局处理完毕"}),
    (CENTRE, "close", {}),
    (CENTRE, "revisit", {"outcome": "satisfied"}),
]

SCENARIOS: list[tuple[dict, list[tuple[dict, str, dict]]]] = [
    (  # police → 12345, the happy path
        {
            "origin": "police",
            "township": "黄埭镇",
            "address": "潘阳路12号小区东门",
            "category": "市容管理",
            "description": "小区门口有人占道摆摊，堵住消防通道",
            "reason": "占道经营属城管职责，先期处置无治安问题",
            "from": "黄埭派出所",
        },
        [(BUREAU, "review", {}), (CENTRE, "accept", {}), *HAPPY_HOTLINE_LOOP],
    ),
    (  # police → 12345: sent back once, a unit returns the order, an extension is approved
        {
            "origin": "police",
            "township": "渭塘镇",
            "address": "渭塘镇凤阳路168号",
            "category": "施工管理",
            "description": "夜里工地一直在施工，噪音很大睡不着",
            "reason": "夜间施工噪音",
            "from": "渭塘派出所",
        },
        [
            (BUREAU, "send-back", {"reason": "推送原因过简，请写明先期处置情况"}),
            (
                police("渭塘派出所"),
                "resubmit",
                {"divert_reason": "民警到场，施工方无治安违法行为，夜间施工噪音属住建部门管理"},
            ),
            (BUREAU, "review", {}),
            (CENTRE, "accept", {}),
            (CENTRE, "dispatch", {"unit": "渭塘镇政府"}),
            (unit("渭塘镇政府"), "return", {"reason": "夜间施工许可由区住建局审批，非本单位职责"}),
            (CENTRE, "dispatch", {"unit": "区住建局"}),
            (unit("区住建局"), "sign", {}),
            (unit("区住建局"), "extend", {"hours": 48, "reason": "需联合执法核查施工许可"}),
            (CENTRE, "approve-extension", {}),
            (unit("区住建局"), "feedback", {"result": "已责令施工方停止夜间施工并立案调查"}),
            (CENTRE, "reply", {"message": "夜间施工问题已由区住建局责令整改"}),
            (CENTRE, "close", {}),
            (CENTRE, "revisit", {"outcome": "basically_satisfied"}),
        ],
    ),
    (  # police → 12345: disputed, settled to 12345; feedback rejected; dissatisfied, reopened
        {
            "origin": "police",
            "township": "元和街道",
            "address": "元和街道御窑花园12幢",
            "category": "其他求助类",
            "description": "物业不给修漏水的水管，楼下天花板一直滴水",
            "reason": "物业管理投诉，非警务类",
            "from": "元和派出所",
        },
        [
            (BUREAU, "review", {}),
            (CENTRE, "dispute", {"reason": "报警人称与物业人员有肢体冲突，需先核实是否涉治安"}),
            (BUREAU, "settle", {"owner": "hotline", "note": "民警已核实无肢体冲突，由12345承办"}),
            (CENTRE, "settle", {"owner": "hotline", "note": "同意由12345承办"}),  # both agree
            (CENTRE, "dispatch", {"unit": "元和街道办事处"}),
            (unit("元和街道办事处"), "sign", {}),
            (unit("元和街道办事处"), "feedback", {"result": "已联系物业"}),
            (CENTRE, "reply", {"message": "已督促物业维修"}),
            (CENTRE, "reject", {"reason": "反馈过简，未说明维修结果"}),
            (unit("元和街道办事处"), "feedback", {"result": "物业已更换破损水管，楼下不再漏水"}),
            (CENTRE, "reply", {"message": "漏水水管已由物业更换"}),
            (CENTRE, "close", {}),
            (CENTRE, "revisit", {"outcome": "dissatisfied", "note": "天花板受损未赔偿"}),
            (unit("元和街道办事处"), "feedback", {"result": "协调物业赔偿天花板修复费用"}),
            (CENTRE, "reply", {"message": "物业已同意赔偿修复费用"}),
            (CENTRE, "close", {}),
            (CENTRE, "revisit", {"outcome": "satisfied"}),
        ],
    ),
    (  # 12345 → police, the happy path of the police loop
        {
            "origin": "hotline",
            "township": "北桥街道",
            "address": "北桥街道灵峰村5组",
            "category": "违法犯罪类",
            "description": "灵峰村村口几个人打架斗殴，还在打",
            "reason": "正在发生的治安案件，转110处置",
            "from": "区12345热线",
            "urgency": "urgent",
        },
        [
            (BUREAU, "accept", {}),
            (BUREAU, "command", {"unit": "北桥派出所"}),
            (police("北桥派出所"), "arrive", {}),
            (police("北桥派出所"), "feedback", {"result": "民警到场调解，双方签订调解协议"}),
        ],
    ),
    (  # 12345 → police, disputed, settled as joint handling: both loops at once
        {
            "origin": "hotline",
            "township": "太平街道",
            "address": "太平街道金澄路20号",
            "category": "违法犯罪类",
            "description": "出租屋住了二十多人，电线乱拉，有人打架",
            "reason": "群租房内发生打架，涉治安",
            "from": "区12345热线",
        },
        [
            (BUREAU, "dispute", {"reason": "群租安全隐患属住建、消防职责"}),
            (CENTRE, "settle", {"owner": "joint", "note": "打架由派出所处置，群租隐患由街道整治"}),
            (BUREAU, "settle", {"owner": "joint", "note": "同意会同处置"}),  # both agree
            (BUREAU, "command", {"unit": "太平派出所"}),
            (CENTRE, "dispatch", {"unit": "太平街道办事处"}),
            (police("太平派出所"), "arrive", {}),
            (unit("太平街道办事处"), "sign", {}),
            (police("太平派出所"), "feedback", {"result": "打架双方已带回调查"}),
            (unit("太平街道办事处"), "feedback", {"result": "已约谈房东，限期清退超员租户"}),
            (CENTRE, "reply", {"message": "群租问题已由街道整治，打架由派出所依法处理"}),
            (CENTRE, "close", {}),
            (CENTRE, "revisit", {"outcome": "satisfied"}),
        ],
    ),
    (  # police → 12345: the citizen cannot be reached for the revisit
        {
            "origin": "police",
            "township": "漕湖街道",
            "address": "漕湖街道永昌泾路口",
            "category": "公共设施",
            "description": "路口路灯坏了好几天，晚上一片漆黑",
            "reason": "公共设施故障，非警务类",
            "from": "漕湖派出所",
        },
        [
            (BUREAU, "review", {}),
            (CENTRE, "accept", {}),
            (CENTRE, "dispatch", {"unit": "区市政集团"}),
            (unit("区市政集团"), "sign", {}),
            (unit("区市政集团"), "feedback", {"result": "已更换路灯灯头，恢复照明"}),
            (CENTRE, "reply", {"message": "路灯已修复"}),
            (CENTRE, "close", {}),
            (CENTRE, "revisit", {"outcome": "unreachable"}),
            (CENTRE, "revisit", {"outcome": "unreachable"}),
            (CENTRE, "revisit", {"outcome": "unreachable"}),
        ],
    ),
    (  # police → 12345, whistled: units report in, the unit calls police, joint handling
        {
            "origin": "police",
            "township": "黄桥街道",
            "address": "黄桥街道旺盛路菜场门口",
            "category": "市容管理",
            "description": "菜场门口摊贩占道经营，多次报警，摊贩与居民争吵",
            "reason": "占道经营属城管职责，先期处置无治安问题",
            "from": "黄桥派出所",
        },
        [
            (BUREAU, "review", {}),
            (CENTRE, "accept", {}),
            (CENTRE, "dispatch", {"unit": "区城管局"}),
            (unit("区城管局"), "sign", {}),
            (
                CENTRE,
                "whistle",
                {
                    "reason": "重复报警，群众情绪激动，可能影响社会稳定",
                    "units": ["区城管局", "黄桥街道办事处"],
                },
            ),
            (unit("区城管局"), "report-in", {}),
            (unit("黄桥街道办事处"), "report-in", {}),
            (CENTRE, "whistle-plan", {"note": "城管清理占道，街道在菜场内安置摊位"}),
            (unit("区城管局"), "police-linkage", {"reason": "执法受阻，摊贩扬言动手"}),
            (BUREAU, "command", {"unit": "黄桥派出所"}),
            (police("黄桥派出所"), "arrive", {}),
            (police("黄桥派出所"), "feedback", {"result": "民警到场维持秩序，摊贩已配合"}),
            (unit("黄桥街道办事处"), "whistle-handle", {"note": "已安置摊贩 6 户"}),
            (CENTRE, "close-whistle", {"note": "联合处置完毕"}),
            (unit("区城管局"), "feedback", {"result": "占道摊位已清理，消防通道畅通"}),
            (CENTRE, "reply", {"message": "占道问题已由城管、街道和派出所联合处置"}),
            (CENTRE, "close", {}),
            (CENTRE, "revisit", {"outcome": "satisfied"}),
        ],
    ),
]


def build_report(spec: dict, run: str, index: int) -> dict:
    origin = spec["origin"]
    return {
        "origin": origin,
        "reference": f"{'JJ' if origin == 'police' else 'GD'}DEMO{run}{index:02d}",
        "received_at": datetime.now(CST).isoformat(timespec="seconds"),
        "caller": {"name": "演示来电人", "phone": f"139{run[-4:]}{index:04d}"},
        # a place of this run's own: a demo run again never joins the open incidents of the last
        "location": {"address": f"{spec['address']}（演示 {run}）", "township": spec["township"]},
        "description": spec["description"],
        "divert_reason": spec["reason"],
        "urgency": spec.get("urgency", "routine"),
        "originating_unit": spec["from"],
        "category": spec["category"],
    }


PARTIES: Parties | None = None  # set when the demo runs


class Parties:
    """Every party of the demo with a token of its own: issued with the host's key, verified
    back to its principal, and acting through the policy (the audit names each one)."""

    def __init__(self, client: LinkageClient) -> None:
        self.client = client
        self.register = load_register()
        self.verifier = TokenVerifier(register=self.register)
        self._as: dict[tuple[str, str, str], AuthorizedClient] = {}

    def of(self, actor: dict) -> AuthorizedClient:
        key = (actor["role"], actor["unit"], actor.get("person") or actor["unit"])
        if key not in self._as:
            principal = make_principal(
                self.register, name=key[2], role=key[0], unit=key[1], what="demo: "
            )
            token, _ = issue_token(principal, days=1)
            self._as[key] = AuthorizedClient(self.client, self.verifier.verify(token), via="demo")
        return self._as[key]


async def desk_review(client: LinkageClient, incident: str, spec: dict, say) -> None:
    """Once triage has read the report: where it is unsure or disagrees with the push, the
    linkage desk looks at it and, in this demo, confirms the push's direction."""
    while True:
        status = await client.status(incident)
        if status.incident is None or status.incident.triage is not None:
            break
        await asyncio.sleep(0.1)
    if status.stage is not Stage.triage_review:
        return
    triage = status.incident.triage
    say(f"[{incident}] triage: {triage.reason}")
    receiver = "hotline" if spec["origin"] == "police" else "police"
    await PARTIES.of(DESK).act(
        incident, "triage-decide", {"direction": receiver, "reason": "专席核实：按推送方向流转"}
    )
    say(f"[{incident}] {DESK['unit']}: triage-decide ({receiver})")


async def play(client: LinkageClient, index: int, run: str, pace: float, say) -> IncidentSummary:
    spec, steps = SCENARIOS[index]
    pusher = {"role": ORIGIN_ROLE[spec["origin"]], "unit": spec["from"], "person": "推送专席"}
    result = await PARTIES.of(pusher).divert(build_report(spec, run, index))
    incident = result.incident_id
    if not result.new:  # the intake joined it to an incident someone else has open
        raise ActionRefused(
            f"[{incident}] the report joined an open incident ({result.matched_by}); "
            f"this scenario is skipped"
        )
    say(f"[{incident}] diverted: {spec['description']}")
    await desk_review(client, incident, spec, say)
    for actor, action, fields in steps:
        await asyncio.sleep(pace)
        try:
            party = PARTIES.of(actor)
            if action == "whistle":
                await party.whistle(incident, fields)
            else:
                await party.act(incident, action, fields)
        except ActionRefused as err:
            say(f"[{incident}] {err}")
            raise
        say(f"[{incident}] {actor['unit']}: {action}")
    return await client.result(incident)


async def run_demo(pace: float = 2.0, as_json: bool = False) -> int:
    """Play every scenario at once; with as_json, print one JSON summary line per incident."""

    def say(line: str) -> None:
        if not as_json:
            print(line, flush=True)

    global PARTIES
    client = await LinkageClient.connect()
    PARTIES = Parties(client)
    run = datetime.now(CST).strftime("%m%d%H%M%S")
    started = time.monotonic()
    from linkage.settings import runfile

    where = runfile.ui_url() or "the Temporal Web UI"
    say(f"Feeding {len(SCENARIOS)} incidents; watch them in the Web UI ({where})")
    results = await asyncio.gather(
        *(play(client, i, run, pace, say) for i in range(len(SCENARIOS))),
        return_exceptions=True,
    )
    failed = [r for r in results if isinstance(r, BaseException)]
    for summary in results:
        if isinstance(summary, BaseException):
            continue
        if as_json:
            print(summary.model_dump_json(exclude={"timeline"}), flush=True)
        else:
            say(f"[{summary.incident_id}] {summary.stage.value}: {summary.outcome}")
    say(
        f"{len(results) - len(failed)} of {len(results)} incidents closed in "
        f"{time.monotonic() - started:.0f}s. Try: linkage list, linkage status ID, linkage outbox"
    )
    for err in failed:
        print(f"linkage demo: failed: {err}", file=sys.stderr)
    return 1 if failed else 0
