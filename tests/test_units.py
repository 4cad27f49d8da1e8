"""The register of units: one source for every unit, resolved wherever a unit is named."""

from pathlib import Path

import pytest

from linkage.client import ActionRefused, LinkageError
from linkage.domain.catalogue import load_catalogue
from linkage.domain.models import Role
from linkage.domain.routing import load_routing
from linkage.domain.time_limits import load_time_limits
from linkage.domain.units import (
    DISPATCH_KINDS,
    UnknownUnit,
    check_routing,
    limits_with_units,
    load_register,
)
from linkage.records.tables import Incident
from linkage.settings.config import ConfigError
from linkage.settings.paths import config_dir
from tests.conftest import make_report, open_incident
from tests.parties import BUREAU, CENTRE, CITY_MGMT, STATION, as_, divert_to_hotline

REGISTER = load_register()


@pytest.mark.parametrize(
    "name",
    ["dept.cgj", "区城市管理局", "区城管局", "城管局", " 区 城管局 ", "ＤＥＰＴ.ＣＧＪ"],
)
def test_a_unit_is_found_by_code_full_name_short_name_or_alias(name):
    unit = REGISTER.resolve(name)
    assert unit.code == "dept.cgj" and unit.name == "区城市管理局"


def test_a_typo_is_refused_with_the_nearest_units():
    with pytest.raises(UnknownUnit) as err:
        REGISTER.resolve("区城管剧", DISPATCH_KINDS, "--unit")
    assert str(err.value) == (
        "--unit: 区城管剧 is not a unit; did you mean 区城市管理局 (区城管局)?"
    )
    with pytest.raises(UnknownUnit, match="did you mean 相城燃气公司"):
        REGISTER.resolve("gass")


def test_a_unit_of_the_wrong_kind_is_refused_for_what_it_is():
    with pytest.raises(UnknownUnit, match="区城市管理局 \\(dept.cgj\\) is a department"):
        REGISTER.resolve_for_role("区城管局", Role.police_unit)
    assert REGISTER.resolve_for_role("黄埭派出所", Role.police_unit).code == "pcs.huangdai"
    assert REGISTER.resolve_for_role("120", Role.emergency_unit).name == "区急救中心"


def test_the_register_is_validated_with_file_and_field_named(tmp_path: Path):
    path = tmp_path / "units.toml"
    path.write_text(
        'version = "t"\n'
        '[units."dept.a"]\nname = "区甲局"\nkind = "department"\nside = "hotline"\n'
        '[units."dept.b"]\nname = "区乙局"\naliases = ["区甲局"]\nkind = "department"\n'
        'side = "hotline"\n'
    )
    with pytest.raises(ConfigError, match="units.toml: .*units.dept.b: '区甲局' already names"):
        load_register(path)
    path.write_text(
        'version = "t"\n[units."dept.a"]\nname = "区甲局"\nkind = "office"\nside = "hotline"\n'
    )
    with pytest.raises(ConfigError, match="units.toml: units.dept.a.kind"):
        load_register(path)
    real = (config_dir() / "units.toml").read_text(encoding="utf-8")
    path.write_text(real.replace('parent = "police.bureau"', 'parent = "police.bureu"'))
    with pytest.raises(ConfigError, match="units.police.command.parent: police.bureu is not"):
        load_register(path)


def test_a_units_queue_holds_the_work_of_the_units_that_are_part_of_it():
    assert REGISTER.with_parts("police.bureau") == ["police.bureau", "police.command"]
    assert REGISTER.with_parts("pcs.huangdai") == ["pcs.huangdai"]


def test_every_unit_routing_and_the_time_limits_name_is_in_the_register(tmp_path: Path):
    routing = load_routing(load_catalogue())
    check_routing(routing, REGISTER)  # the district's own files agree
    limits = limits_with_units(load_time_limits(), REGISTER)
    assert limits.emergency.units["120"] == "区急救中心"
    assert limits.whistle.rules["return_limit"].summon == ["hotline.command"]

    broken = routing.model_copy(deep=True)
    broken.townships["黄埭镇"].police_station = "黄埭派出"
    with pytest.raises(ConfigError, match="townships.黄埭镇.police_station: 黄埭派出"):
        check_routing(broken, REGISTER)
    text = (config_dir() / "time-limits.toml").read_text()
    (tmp_path / "time-limits.toml").write_text(text.replace('"gas", "power"]', '"gas", "heat"]'))
    with pytest.raises(ConfigError, match="emergency.units: heat is not a unit"):
        limits_with_units(load_time_limits(tmp_path / "time-limits.toml"), REGISTER)


# --- every entry point resolves, and refuses a name that is no unit ---------------------------


async def test_dispatch_command_and_as_take_any_name_and_refuse_a_typo(env, linkage):
    iid = await open_incident(env, linkage, "police")
    await divert_to_hotline(linkage, iid)
    with pytest.raises(LinkageError, match="dispatch: --unit: 区城管剧 is not a unit; did you"):
        await linkage.act(iid, "dispatch", as_(CENTRE, unit="区城管剧"))
    with pytest.raises(LinkageError, match="is a police station; this takes a department"):
        await linkage.act(iid, "dispatch", as_(CENTRE, unit="黄埭派出所"))
    with pytest.raises(LinkageError, match="--as: 区集成指挥心 is not a unit"):
        await linkage.act(iid, "dispatch", as_({**CENTRE, "unit": "区集成指挥心"}, unit="城管局"))
    assert (await linkage.status(iid)).hotline.step.value == "dispatch"  # nothing changed

    state = await linkage.act(iid, "dispatch", as_(CENTRE, unit="城管"))
    assert state.unit == "dept.cgj"
    # The unit signs under any of its names: the order was dispatched to the unit, not a spelling.
    state = await linkage.act(iid, "sign", as_({**CITY_MGMT, "unit": "区城市管理局"}))
    assert state.step.value == "handle"
    entry = (await linkage.status(iid)).hotline.timeline[-1]
    assert entry.actor == "member_unit:区城市管理局/钱科长"


async def test_command_whistle_and_emergency_units_are_resolved(env, linkage):
    iid = await open_incident(env, linkage, "hotline")
    await linkage.act(iid, "accept", as_(BUREAU))
    with pytest.raises(LinkageError, match="command: --unit: 黄埭派处所 is not a unit"):
        await linkage.act(iid, "command", as_(BUREAU, unit="黄埭派处所"))
    state = await linkage.act(iid, "command", as_(BUREAU, unit="黄埭镇派出所"))
    assert state.unit == "pcs.huangdai"
    await linkage.act(iid, "arrive", as_(STATION))

    with pytest.raises(LinkageError, match="whistle: --units: 区水务句 is not a unit"):
        await linkage.whistle(
            iid, {"actor": CENTRE, "reason": "联处", "units": ["区城管局", "区水务句"]}
        )
    with pytest.raises(LinkageError, match="--units: 区城市管理局 \\(dept.cgj\\) is a department"):
        await linkage.act(iid, "emergency-linkage", as_(BUREAU, units=["120", "区城管局"]))
    state = await linkage.act(iid, "emergency-linkage", as_(BUREAU, units=["急救中心", "119"]))
    assert state.emergencies[0].units == {"120": "区急救中心", "119": "区消防救援大队"}
    with pytest.raises(ActionRefused, match="for emergency_unit, not member_unit"):
        await linkage.act(iid, "acknowledge", as_({"role": "member_unit", "unit": "区急救中心"}))
    state = await linkage.act(
        iid, "acknowledge", as_({"role": "emergency_unit", "unit": "区急救中心"})
    )
    assert list(state.acknowledged) == ["120"]


async def test_the_unit_that_pushes_is_resolved_or_the_report_refused(env, linkage, store):
    with pytest.raises(LinkageError, match="originating_unit: 黄埭派出 is not a unit"):
        await linkage.divert(make_report("police", originating_unit="黄埭派出"))
    with pytest.raises(LinkageError, match="originating_unit: 区城市管理局 .* is a department"):
        await linkage.divert(make_report("police", originating_unit="区城管局"))
    result = await linkage.divert(make_report("hotline", originating_unit="12345"))
    assert store.get(Incident, result.incident_id).originating_unit == "hotline.command"
