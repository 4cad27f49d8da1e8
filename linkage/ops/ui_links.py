"""Ready Web UI views for supervisors: the workflows list filtered by the search attributes, as
links to bookmark (`linkage up` prints them; the README has them too)."""

from __future__ import annotations

from urllib.parse import quote

RUNNING = 'ExecutionStatus = "Running"'
INCIDENTS = 'LinkageKind = "incident"'


def view(ui: str, namespace: str, query: str) -> str:
    return f"{ui.rstrip('/')}/namespaces/{quote(namespace)}/workflows?query={quote(query)}"


def views(unit: str = "dept.cgj", unit_name: str = "区城市管理局", township: str = "黄埭镇"):
    """(what it shows, its visibility query): incidents only, the overdue, a unit's, a
    township's. A unit's view lists its orders, police cases, whistles and notices."""
    return [
        ("incidents 事件 (no loops or escalations)", INCIDENTS),
        ("open and overdue 超时未结", f"{INCIDENTS} AND LinkageOverdue = true AND {RUNNING}"),
        (f"a unit's open work 单位待办 ({unit_name})", f'LinkageUnits = "{unit}" AND {RUNNING}'),
        (
            f"a township's incidents 镇街 ({township})",
            f'{INCIDENTS} AND LinkageTownship = "{township}"',
        ),
    ]


def printed(ui: str, namespace: str) -> str:
    lines = [f"    {label}\n      {view(ui, namespace, query)}" for label, query in views()]
    return "\n".join(lines)
