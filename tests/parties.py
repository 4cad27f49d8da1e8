"""The parties as the tests act for them, and the common sequences of their actions."""

BUREAU = {"role": "police_bureau", "unit": "区公安分局", "person": "李警官"}
CENTRE = {"role": "command_center", "unit": "区集成指挥中心", "person": "张坐席"}
STATION = {"role": "police_unit", "unit": "黄埭派出所", "person": "赵警官"}
CITY_MGMT = {"role": "member_unit", "unit": "区城管局", "person": "钱科长"}
TOWNSHIP = {"role": "member_unit", "unit": "黄埭镇政府", "person": "孙主任"}
WATER = {"role": "member_unit", "unit": "区水务局", "person": "周工"}


def as_(actor: dict, **fields) -> dict:
    return {"actor": actor, **fields}


async def divert_to_hotline(linkage, incident_id: str) -> None:
    """A station's push approved by the bureau and accepted by the centre."""
    await linkage.act(incident_id, "review", as_(BUREAU))
    await linkage.act(incident_id, "accept", as_(CENTRE))


async def handle_order(linkage, incident_id: str, unit: dict = CITY_MGMT) -> None:
    """Dispatch, sign and feed back on a 12345 order."""
    await linkage.act(incident_id, "dispatch", as_(CENTRE, unit=unit["unit"]))
    await linkage.act(incident_id, "sign", as_(unit))
    await linkage.act(incident_id, "feedback", as_(unit, result="已到现场处理完毕，问题已解决"))


async def reply_and_close(linkage, incident_id: str) -> None:
    await linkage.act(incident_id, "reply", as_(CENTRE, message="您反映的问题已处理"))
    await linkage.act(incident_id, "close", as_(CENTRE))


async def police_loop(linkage, incident_id: str, station: dict = STATION) -> None:
    await linkage.act(incident_id, "command", as_(BUREAU, unit=station["unit"]))
    await linkage.act(incident_id, "arrive", as_(station))
    await linkage.act(incident_id, "feedback", as_(station, result="民警到场调解，双方达成和解"))
