"""The routing table (temporal-config/routing.toml), as validated district data.

Which unit a matter goes to: by its category or subcategory, to a department, the township's
government or police station, or the command centre of its side. Kept apart from the catalogue
it routes, which it is checked against when loaded: every code it names must be in the
catalogue, and no 12345 matter may go to a police station.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, PrivateAttr, model_validator

from linkage.domain.catalogue import Catalogue
from linkage.domain.district_data import Strict, load_table
from linkage.settings.config import ConfigError
from linkage.settings.paths import config_dir


class Township(Strict):
    government: str = Field(min_length=2, max_length=60)
    police_station: str = Field(min_length=2, max_length=60)
    aliases: list[str] = Field(default_factory=list)


class CommandCenters(Strict):
    hotline: str = Field(min_length=2, max_length=60)
    police: str = Field(min_length=2, max_length=60)


class Departments(Strict):
    names: list[str] = Field(min_length=1)


RouteKind = Literal["department", "township", "police_station", "command_center"]


class Route(BaseModel):
    """Where a matter goes: the unit, what kind of unit it is, and why."""

    unit: str
    kind: RouteKind
    township: str = ""
    basis: str = ""


class RoutingTable(Strict):
    version: str = Field(min_length=1, max_length=40)
    command_center: CommandCenters
    townships: dict[str, Township] = Field(min_length=1)
    departments: Departments
    routes: dict[str, str] = Field(default_factory=dict)
    _by_name: dict[str, str] | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _references(self) -> RoutingTable:
        seen: dict[str, str] = {}
        for name, township in self.townships.items():
            for alias in [name, *township.aliases]:
                if alias in seen and seen[alias] != name:
                    raise ValueError(
                        f"townships.{name}.aliases: {alias!r} already names {seen[alias]}"
                    )
                seen[alias] = name
        special = {"township", "police_station", "command_center"}
        for code, unit in self.routes.items():
            if unit not in special and unit not in self.departments.names:
                raise ValueError(
                    f"routes.{code}: {unit!r} is not in [departments] names, nor one of "
                    f"{', '.join(sorted(special))}"
                )
        return self

    def township(self, name: str) -> str | None:
        """The township a caller's name for it means (元和 → 元和街道), or None."""
        return self._names.get(name.strip())

    @property
    def _names(self) -> dict[str, str]:
        names = self._by_name
        if names is None:
            names = {}
            for canonical, township in self.townships.items():
                names.update(dict.fromkeys(township.aliases, canonical))
            names.update({name: name for name in self.townships})
            self._by_name = names
        return names

    def route(self, category: str | None, subcategory: str | None, township: str) -> Route:
        """Category + township → the responsible unit; anything unknown to the command centre."""
        side = "police" if (category or "P").startswith("P") else "hotline"
        centre = getattr(self.command_center, side)
        place = self.township(township) if township else None
        target = None
        basis = ""
        for code in (subcategory, category):
            if code and code in self.routes:
                target, basis = self.routes[code], code
                break
        if target is None:
            why = f"{subcategory or category or '未分类'} 无路由" if category else "未分类"
            return Route(unit=centre, kind="command_center", township=place or "", basis=why)
        if target == "command_center":
            return Route(unit=centre, kind="command_center", township=place or "", basis=basis)
        if target in ("township", "police_station"):
            if place is None:
                why = f"镇（街道）{township or '未提供'} 不在路由表中"
                return Route(unit=centre, kind="command_center", township="", basis=why)
            entry = self.townships[place]
            unit = entry.government if target == "township" else entry.police_station
            return Route(unit=unit, kind=target, township=place, basis=basis)
        return Route(unit=target, kind="department", township=place or "", basis=basis)


def load_routing(catalogue: Catalogue, path: Path | None = None) -> RoutingTable:
    """The routing table, checked against the catalogue it routes."""
    path = path or config_dir() / "routing.toml"
    table = load_table(RoutingTable, path)
    for code in table.routes:
        known = catalogue.categories.get(code) if "." not in code else catalogue.subcategory(code)
        if known is None:
            raise ConfigError(f"{path.name}: routes.{code}: no such code in the catalogue")
        if code.startswith("H") and table.routes[code] == "police_station":
            raise ConfigError(
                f"{path.name}: routes.{code}: a 12345 matter cannot go to a police station"
            )
    return table
