"""The parties as tests act for them."""

BUREAU = {"role": "police_bureau", "unit": "区公安分局", "person": "李警官"}
CENTRE = {"role": "command_center", "unit": "区集成指挥中心", "person": "张坐席"}
STATION = {"role": "police_unit", "unit": "黄埭派出所", "person": "赵所长"}
CITY_MGMT = {"role": "member_unit", "unit": "区城管局", "person": "钱科长"}
TOWNSHIP = {"role": "member_unit", "unit": "黄埭镇政府", "person": "孙主任"}


def as_(actor: dict, **fields) -> dict:
    return {"actor": actor, **fields}
