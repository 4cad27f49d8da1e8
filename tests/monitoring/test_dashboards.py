"""The Grafana dashboards: well-formed, laid out without overlaps, on the datasource variable,
every expression valid PromQL to promtool, and every metric in them and in the alerting rules
one the catalogue (metrics.txt) lists, which the processes' own tests hold them to."""

from __future__ import annotations

import itertools
import re

import pytest
import yaml

from linkage.ops.deploy import promtool
from tests.monitoring import (
    BUILD_TIMEOUT,
    DASHBOARDS,
    GRAFANA_VARIABLES,
    alert_rules,
    catalogue,
    catalogued,
    dashboard,
    dashboard_exprs,
    matched_labels,
    metric_names,
    panels,
    promtool_binary,
)

ALWAYS_THERE = {"up"}  # Prometheus' own, for every job
SCRAPE_LABELS = {"job", "instance"}
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def built():
    return promtool_binary()


def all_exprs() -> list[tuple[str, str]]:
    return dashboard_exprs() + [(r["alert"], r["expr"]) for r in alert_rules()]


def test_there_are_the_operators_and_the_duty_desks_dashboards():
    assert set(DASHBOARDS) == {"operators", "duty-desk"}
    uids = [dashboard(name)["uid"] for name in DASHBOARDS]
    assert all(uids) and len(set(uids)) == len(uids)


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_a_dashboard_is_well_formed_on_the_datasource_variable(name):
    board = dashboard(name)
    assert board["schemaVersion"] >= 36
    assert CJK.search(board["title"]) and re.search(r"[A-Za-z]{3}", board["title"])
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in panels(board)]
    assert len(ids) == len(set(ids)), f"{name}: panel ids repeat"
    for panel in panels(board):
        where = f"{name} panel {panel['id']} ({panel['title']})"
        assert CJK.search(panel["title"]) and re.search(r"[A-Za-z]{2}", panel["title"]), where
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", where
        assert panel["fieldConfig"]["defaults"].get("unit"), f"{where}: no unit"
        assert panel["targets"], f"{where}: no target"
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", where
            assert target["expr"].strip() and target["legendFormat"].strip(), where


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_a_dashboards_panels_do_not_overlap(name):
    boxes = []
    for panel in dashboard(name)["panels"]:  # the top level: what Grafana lays out
        grid = panel["gridPos"]
        assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] >= 0 and grid["y"] >= 0
        assert grid["x"] + grid["w"] <= 24, f"{name} panel {panel['id']} is wider than the grid"
        boxes.append((panel["id"], grid))
    for (one, a), (other, b) in itertools.combinations(boxes, 2):
        apart = (
            a["x"] + a["w"] <= b["x"]
            or b["x"] + b["w"] <= a["x"]
            or a["y"] + a["h"] <= b["y"]
            or b["y"] + b["h"] <= a["y"]
        )
        assert apart, f"{name}: panels {one} and {other} overlap"


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_every_dashboard_expression_is_valid_promql(built, tmp_path):
    """Each expression, Grafana's variables given values, as a recording rule: promtool parses
    it and names the rule of any it refuses."""
    rules = []
    for where, expr in dashboard_exprs():
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, f"{where}: a variable promtool cannot stand in for: {expr}"
        rules.append({"record": "dashboard:" + re.sub(r"\W", "_", where), "expr": expr})
    assert rules
    path = tmp_path / "dashboard-exprs.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    done = promtool.check_rules(path)
    assert f"{len(rules)} rules found" in done.stdout


def test_the_catalogue_lists_metric_names_and_their_meanings():
    metrics = catalogue()
    project = [m for m in metrics.values() if m.name.startswith("linkage_")]
    assert project
    for metric in project:
        if metric.kind == "counter":
            assert metric.name.endswith("_total"), metric.name
        if metric.kind == "histogram":
            assert metric.name.endswith("_seconds"), metric.name


def test_every_metric_the_dashboards_and_rules_read_is_in_the_catalogue():
    metrics = catalogue()
    for where, expr in all_exprs():
        for name in metric_names(expr) - ALWAYS_THERE:
            assert catalogued(name, metrics), f"{where}: {name} is not in metrics.txt"
        for name, labels in matched_labels(expr):
            entry = catalogued(name, metrics)
            if entry is None:
                continue
            extra = {"le"} if name.endswith("_bucket") else set()
            unknown = labels - entry.labels - SCRAPE_LABELS - extra
            assert not unknown, f"{where}: {name} has no label {unknown} in metrics.txt"


def test_every_catalogued_metric_is_shown_or_alerted_on():
    """The catalogue is what the rules and dashboards need, nothing more."""
    metrics = catalogue()
    read = {
        catalogued(n, metrics).name
        for _, e in all_exprs()
        for n in metric_names(e)
        if catalogued(n, metrics)
    }
    assert set(metrics) - read == set()
