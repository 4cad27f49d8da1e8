"""The register of units (temporal-config/units.toml): one source for every unit the system names.

Wherever a person or a platform names a unit (dispatch, command, `--as`, whistle and emergency
units, the unit that pushes), the name is resolved here to the unit's code: its code, full name,
short name or alias is accepted, anything else is refused with the nearest matches. Workflows
and records keep the code; people are shown the full name.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from linkage.domain.models import DESKS, Role
from linkage.domain.time_limits import TimeLimits
from linkage.settings.config import ConfigError, format_validation_error, read_toml
from linkage.settings.paths import config_dir

UnitKind = Literal[
    "command_center",
    "bureau",
    "department",
    "township",
    "police_station",
    "police_unit",
    "emergency_unit",
    "desk",
]
Side = Literal["hotline", "police", "both"]

# The kinds of unit each role acts for: a member unit cannot act as a police station.
ROLE_KINDS: dict[Role, tuple[str, ...]] = {
    Role.police_bureau: ("bureau", "command_center"),
    Role.police_unit: ("police_station", "police_unit"),
    Role.command_center: ("command_center",),
    Role.member_unit: ("department", "township", "emergency_unit"),
    Role.emergency_unit: ("emergency_unit",),
    Role.linkage_desk: ("desk",),
}
# What each unit-taking place accepts.
DISPATCH_KINDS = ("department", "township", "emergency_unit")  # 12345 dispatches to these
COMMAND_KINDS = ("police_station", "police_unit")  # 110 commands these to the scene
EMERGENCY_KINDS = ("emergency_unit",)
# The units that push from each platform (the report's originating_unit).
ORIGIN_KINDS: dict[str, tuple[str, ...]] = {
    "police": ("bureau", "command_center", "police_station", "police_unit"),
    "hotline": ("command_center", "department", "township"),
}

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")


_CODE_IN_TEXT = re.compile(r"(?<![\w.])[a-z]+\.[a-z0-9_-]+(?![\w.])")


class UnknownUnit(ValueError):
    """A name that is no unit of the register (or not one of the kind the place needs)."""


class Unit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str = ""
    name: str = Field(min_length=2, max_length=80)
    aliases: list[str] = Field(default_factory=list)
    kind: UnitKind
    side: Side
    parent: str = ""  # the code of the unit it is part of (分局指挥中心 → 区公安分局)

    def __str__(self) -> str:
        return self.name


def _key(name: str) -> str:
    """Names compare after NFKC and without spaces: `区城管局 `, `区 城管局` and full-width
    brackets all mean the same unit."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", name)).casefold()


class Register(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str = Field(min_length=1, max_length=40)
    units: dict[str, Unit] = Field(min_length=1)
    _index: dict[str, str] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _codes_from_keys(cls, data):
        units = data.get("units") if isinstance(data, dict) else None
        if isinstance(units, dict):
            data = {
                **data,
                "units": {
                    code: {**unit, "code": code} if isinstance(unit, dict) else unit
                    for code, unit in units.items()
                },
            }
        return data

    @model_validator(mode="after")
    def _names_are_unique(self) -> Register:
        seen: dict[str, str] = {}
        for code, unit in self.units.items():
            if not _CODE.match(code):
                raise ValueError(
                    f"units.{code}: a code is 1 to 40 letters, digits, '.', '_' or '-'"
                )
            for name in [code, unit.name, *unit.aliases]:
                key = _key(name)
                if not key:
                    raise ValueError(f"units.{code}: an empty name or alias")
                if key in seen and seen[key] != code:
                    raise ValueError(f"units.{code}: {name!r} already names unit {seen[key]}")
                seen[key] = code
        self._index = seen
        for code, unit in self.units.items():
            if unit.parent and unit.parent not in self.units:
                raise ValueError(f"units.{code}.parent: {unit.parent} is not a unit's code")
            above, chain = unit.parent, [code]
            while above:
                if above in chain:
                    raise ValueError(f"units.{code}.parent: a circle ({' → '.join(chain)})")
                chain.append(above)
                above = self.units[above].parent
        for code, kind in DESKS.items():
            unit = self.units.get(code)
            if unit is None or unit.kind != kind:
                raise ValueError(
                    f"units.{code}: the register needs this {kind.replace('_', ' ')} (the "
                    f"stages that wait on it name it by this code)"
                )
        return self

    # --- resolving -------------------------------------------------------------------------

    def find(self, name: str) -> Unit | None:
        code = self._index.get(_key(name))
        return self.units[code] if code else None

    def resolve(self, name: str, kinds: tuple[str, ...] | None = None, what: str = "") -> Unit:
        """The unit a name means; refused, with the nearest matches, when it means none (or a
        unit of another kind than the place takes)."""
        unit = self.find(name)
        label = f"{what}: " if what else ""
        if unit is None:
            raise UnknownUnit(f"{label}{name} is not a unit{self._suggest(name, kinds)}")
        if kinds is not None and unit.kind not in kinds:
            raise UnknownUnit(
                f"{label}{unit.name} ({unit.code}) is a {unit.kind.replace('_', ' ')}; "
                f"this takes a {' or '.join(k.replace('_', ' ') for k in kinds)}"
            )
        return unit

    def resolve_for_role(self, name: str, role: Role, what: str = "--as") -> Unit:
        return self.resolve(name, ROLE_KINDS[role], what=what)

    def code(self, name: str) -> str:
        return self.resolve(name).code

    def name_of(self, code_or_name: str) -> str:
        """The full name to show; a value the register does not know is shown as it is (an
        incident opened before the register, or the system's own actor)."""
        unit = self.find(code_or_name)
        return unit.name if unit else code_or_name

    def with_parts(self, code: str) -> list[str]:
        """The unit and every unit that is part of it, however deep (its queue holds theirs:
        the bureau sees what its command centre owes)."""
        found = [code]
        for part, unit in self.units.items():
            if unit.parent == code:
                found += self.with_parts(part)
        return found

    def humanize(self, text: str) -> str:
        """Free text (a timeline note, a refusal) with the register's codes (`派遣至 dept.cgj`)
        shown as full names (`派遣至 区城市管理局`)."""
        return _CODE_IN_TEXT.sub(lambda m: self.name_of(m.group(0)), text)

    def _suggest(self, name: str, kinds: tuple[str, ...] | None) -> str:
        candidates: dict[str, str] = {}
        for unit in self.units.values():
            if kinds is None or unit.kind in kinds:
                for alias in [unit.code, unit.name, *unit.aliases]:
                    candidates.setdefault(_key(alias), unit.code)
        close = difflib.get_close_matches(_key(name), list(candidates), n=6, cutoff=0.5)
        codes = list(dict.fromkeys(candidates[c] for c in close))[:3]
        if not codes:
            return "; see temporal-config/units.toml for the units"
        shown = []
        for code in codes:
            unit = self.units[code]
            short = f" ({unit.aliases[0]})" if unit.aliases else ""
            shown.append(f"{unit.name}{short}")
        return f"; did you mean {' or '.join(shown)}?"

    def of_kind(self, *kinds: str) -> list[Unit]:
        return [u for u in self.units.values() if u.kind in kinds]


_LOADED: dict[tuple[Path, int, int], Register] = {}


def load_register(path: Path | None = None) -> Register:
    """The register as the file stands now (read again when it changes), validated on load."""
    path = path or config_dir() / "units.toml"
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ConfigError(f"{path}: file not found") from None
    key = (path, stat.st_mtime_ns, stat.st_size)
    if key not in _LOADED:
        try:
            register = Register.model_validate(read_toml(path))
        except ValidationError as err:
            raise ConfigError(format_validation_error(path.name, err)) from err
        _LOADED.clear()
        _LOADED[key] = register
    return _LOADED[key]


# --- the district's other files, checked against the register ---------------------------------


def check_routing(routing, register: Register) -> None:
    """Every unit routing.toml names is a unit of the register, of the right kind."""
    places = [
        ("command_center.hotline", routing.command_center.hotline, ("command_center",)),
        ("command_center.police", routing.command_center.police, ("command_center",)),
    ]
    for name, township in routing.townships.items():
        places.append((f"townships.{name}.government", township.government, ("township",)))
        places.append(
            (f"townships.{name}.police_station", township.police_station, ("police_station",))
        )
    for unit in routing.departments.names:
        places.append(("departments.names", unit, DISPATCH_KINDS + COMMAND_KINDS))
    for where, unit, kinds in places:
        try:
            register.resolve(unit, kinds)
        except UnknownUnit as err:
            raise ConfigError(f"routing.toml: {where}: {err} (units.toml)") from None


def limits_with_units(limits: TimeLimits, register: Register) -> TimeLimits:
    """The time-limit table with its units as the register's codes: the emergency units (named
    from the register) and the units each whistle rule summons."""
    emergency: dict[str, str] = {}
    for code in limits.emergency.units:
        try:
            unit = register.resolve(code, EMERGENCY_KINDS)
        except UnknownUnit as err:
            raise ConfigError(f"time-limits.toml: emergency.units: {err} (units.toml)") from None
        emergency[unit.code] = unit.name
    categories = {
        category: [register.code(c) for c in codes]
        for category, codes in limits.emergency.categories.items()
    }
    rules = {}
    for name, rule in limits.whistle.rules.items():
        try:
            summon = [register.code(u) for u in rule.summon]
        except UnknownUnit as err:
            raise ConfigError(
                f"time-limits.toml: whistle.rules.{name}.summon: {err} (units.toml)"
            ) from None
        rules[name] = rule.model_copy(update={"summon": list(dict.fromkeys(summon))})
    try:
        arbiters = [register.code(u) for u in limits.review.negotiation_arbiters]
    except UnknownUnit as err:
        raise ConfigError(f"time-limits.toml: review.negotiation_arbiters: {err}") from None
    return limits.model_copy(
        update={
            "review": limits.review.model_copy(update={"negotiation_arbiters": arbiters}),
            "emergency": limits.emergency.model_copy(
                update={"units": emergency, "categories": categories}
            ),
            "whistle": limits.whistle.model_copy(update={"rules": rules}),
        }
    )


def route_with_code(route, register: Register):
    """A triage route with its unit as the register's code."""
    if route is None:
        return None
    return route.model_copy(update={"unit": register.code(route.unit)})
