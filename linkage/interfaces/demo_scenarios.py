"""The incidents `linkage demo` plays, and the parties that play them.

Kept apart from the runner (linkage.interfaces.demo) so that a scenario can be read, added or
changed as data: each is a report's particulars and the steps that follow it, every step a
party, an action and its fields, in the order the parties take them.
"""

from __future__ import annotations

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
