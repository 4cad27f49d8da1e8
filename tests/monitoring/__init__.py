"""What the monitoring tests share: the files, the metric catalogue (metrics.txt), the
expressions the rules and dashboards hold, and promtool, built once like helm."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from linkage.ops.deploy import promtool
from tests.conftest import missing

MONITORING = promtool.MONITORING
ALERTS = MONITORING / "alerts.yaml"
ALERT_TESTS = MONITORING / "alerts.test.yaml"
SCRAPE_CONFIG = MONITORING / "prometheus.yml"
CATALOGUE = MONITORING / "metrics.txt"
DASHBOARDS = {path.stem: path for path in sorted((MONITORING / "dashboards").glob("*.json"))}
DOCS = MONITORING.parents[1] / "docs" / "monitoring.md"
BUILD_TIMEOUT = 1800  # the first test to ask builds promtool: minutes on 2 cores
# Grafana's own variables, and what stands in for them where promtool reads an expression
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}


def promtool_binary() -> Path:
    """promtool, built on first use; never a skip under CI."""
    if not shutil.which("go"):
        missing("Go", "go not on PATH, and promtool is built from its Go module")
    try:
        return promtool.promtool()
    except (RuntimeError, subprocess.TimeoutExpired) as err:
        pytest.fail(f"promtool cannot be built: {err}")


def load_yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def alert_rules() -> list[dict]:
    return [r for g in load_yaml(ALERTS)["groups"] for r in g["rules"] if "alert" in r]


def dashboard(name: str) -> dict:
    return json.loads(DASHBOARDS[name].read_text(encoding="utf-8"))


def panels(board: dict) -> list[dict]:
    """Every panel, those inside collapsed rows too; rows themselves included."""
    found = []
    for panel in board["panels"]:
        found += [panel, *panel.get("panels", [])]
    return found


def dashboard_exprs() -> list[tuple[str, str]]:
    """(where, expr) of every target of every dashboard."""
    return [
        (f"{name} panel {p['id']} {t['refId']}", t["expr"])
        for name in DASHBOARDS
        for p in panels(dashboard(name))
        for t in p.get("targets", [])
    ]


@dataclass(frozen=True)
class Metric:
    name: str
    labels: frozenset[str]
    kind: str
    meaning: str


def catalogue() -> dict[str, Metric]:
    """metrics.txt: `NAME{label,…} TYPE  meaning`, one a line, # for comments."""
    found = {}
    for number, line in enumerate(CATALOGUE.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        match = re.fullmatch(
            r"([a-z_][a-z0-9_]*)(?:\{([a-z_,]*)\})? (counter|gauge|histogram)  (\S.*)", line
        )
        assert match, f"metrics.txt line {number} is not NAME{{labels}} TYPE  meaning: {line}"
        name, labels, kind, meaning = match.groups()
        assert name not in found, f"metrics.txt names {name} twice"
        found[name] = Metric(
            name, frozenset(filter(None, (labels or "").split(","))), kind, meaning
        )
    return found


_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
_GROUPING = r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)"


def metric_names(expr: str) -> set[str]:
    """The metric names an expression reads: identifiers that are not functions, keywords,
    labels (in braces or grouping clauses), strings or durations."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = re.sub(_GROUPING, "", text)
    names = re.findall(r"(?<![\w.$])([a-zA-Z_:][\w:]*)\b(?!\s*\()", text)
    return {n for n in names if n.lower() not in _KEYWORDS}


def matched_labels(expr: str) -> list[tuple[str, set[str]]]:
    """(metric, the label names its selector matches on) for each `name{…}` in an expression."""
    return [
        (name, set(re.findall(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)", inside)))
        for name, inside in re.findall(r"([a-zA-Z_:][\w:]*)\{([^}]*)\}", expr)
    ]


def catalogued(name: str, metrics: dict[str, Metric]) -> Metric | None:
    """The catalogue's entry for a name, a histogram's _bucket, _sum and _count included."""
    if name in metrics:
        return metrics[name]
    base, _, suffix = name.rpartition("_")
    found = metrics.get(base)
    if found and found.kind == "histogram" and suffix in ("bucket", "sum", "count"):
        return found
    return None
