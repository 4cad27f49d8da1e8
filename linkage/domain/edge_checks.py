"""What the front door checks beyond a model's types: incident IDs, and the coded fields a
caller sends against the district's register (townships in routing.toml and units.toml,
categories and subcategories in catalogue.toml).

Only where a caller's input arrives, never in a model: a history recorded before the district
renamed a township or retired a category must still decode. Each check raises ValueError with
the bad value and what would do, and returns the value as it is stored (the register's name,
the catalogue's code), so that the same thing is always stored and searched the same way.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

from linkage.domain.catalogue import Catalogue, load_catalogue
from linkage.domain.routing import RoutingTable, load_routing
from linkage.domain.text import clean_line
from linkage.domain.units import Register, load_register
from linkage.settings.paths import config_dir

# An incident is its origin platform and that platform's reference (models.incident_id_for); its
# loops, whistles and emergency linkages are `<incident>.<loop>` and are no incidents.
INCIDENT_ID = re.compile(r"^(police|hotline)-[A-Za-z0-9][A-Za-z0-9_\-]{2,39}$")
_PART_OF = re.compile(r"^(?P<incident>.+)\.(?P<part>police|hotline|whistle-\d+|emergency-\d+)$")
_PARTS = {
    "police": "the police loop",
    "hotline": "the 12345 loop",
    "whistle": "whistle #{}",
    "emergency": "emergency linkage #{}",
}


def incident_id_problem(value: str) -> str | None:
    """Why `value` is not an incident's ID, or None when it is shaped like one."""
    if INCIDENT_ID.match(value):
        return None
    shown = value if len(value) <= 80 else value[:80] + "…"
    part = _PART_OF.match(value)
    if part is not None and INCIDENT_ID.match(part["incident"]):
        kind, _, number = part["part"].partition("-")
        what = _PARTS[kind].format(number)
        return f"{shown} is {what} of incident {part['incident']}, not an incident; use that ID"
    return (
        f"{shown!r} is not an incident ID: the origin platform and its reference, "
        f"e.g. police-JJ20261129001"
    )


@dataclass(frozen=True)
class District:
    catalogue: Catalogue
    routing: RoutingTable


_LOADED: dict[tuple, District] = {}


def district() -> District:
    """The catalogue and the routing table as the files stand now (read again on a change)."""
    paths = [config_dir() / "catalogue.toml", config_dir() / "routing.toml"]
    key = tuple(_stamp(p) for p in paths)
    if key not in _LOADED:
        catalogue = load_catalogue(paths[0])
        loaded = District(catalogue, load_routing(catalogue, paths[1]))
        _LOADED.clear()
        _LOADED[key] = loaded
    return _LOADED[key]


def _stamp(path: Path) -> tuple:
    try:
        stat = path.stat()
    except OSError:
        return (path, None, None)  # the loader says what is missing
    return (path, stat.st_mtime_ns, stat.st_size)


def _nearest(value: str, names: list[str]) -> str:
    close = difflib.get_close_matches(value, names, n=3, cutoff=0.5)
    if close:
        return f"; did you mean {' or '.join(close)}?"
    return f"; one of: {', '.join(names)}"


def township(value: str, register: Register | None = None) -> str:
    """A township (镇/街道/板块) of routing.toml by its name or an alias, or by its government's
    name in units.toml (黄埭 and 黄埭镇人民政府 are 黄埭镇); its routing name is stored."""
    routing = district().routing
    name = clean_line(value)
    found = routing.township(name)
    if found is None:
        unit = (register or load_register()).find(name)
        if unit is not None and unit.kind == "township":
            found = next(
                (
                    place
                    for place, entry in routing.townships.items()
                    if (register or load_register()).find(entry.government) == unit
                ),
                None,
            )
    if found is None:
        names = list(routing.townships)
        raise ValueError(f"{value!r} is not a township of the district{_nearest(name, names)}")
    return found


def catalogue_item(value: str) -> tuple[str, str | None]:
    """(category, subcategory or None) of a catalogue code or name (H02, H02.07, 市容管理)."""
    catalogue = district().catalogue
    found = catalogue.find(clean_line(value))
    if found is None:
        raise ValueError(
            f"{value!r} is not a category of catalogue {catalogue.version}: a code or name, "
            f"e.g. H02 or 市容管理"
        )
    return found


def category(value: str) -> str:
    """A category (大类) of the catalogue by its code or name, or one of its subcategories;
    the category's name is stored (H02 and 占道经营 are 市容管理)."""
    return district().catalogue.categories[catalogue_item(value)[0]].name


def subcategory(value: str, direction: str = "both") -> str:
    """A subcategory (小类) of the catalogue by its code or name, of the side `direction` takes
    (any for both); its code is stored."""
    catalogue = district().catalogue
    found = catalogue.find(clean_line(value))
    if found is None or found[1] is None:
        what = "a category, not a subcategory" if found else "not a subcategory code or name"
        raise ValueError(
            f"{value!r} is {what} of catalogue {catalogue.version} (e.g. H02.07 or 餐饮油烟)"
        )
    side = catalogue.categories[found[0]].direction
    if direction not in ("both", side):
        raise ValueError(f"{found[1]} is a {side} item, but the direction chosen is {direction}")
    return found[1]
