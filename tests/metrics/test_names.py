"""The metrics the processes export are the ones the alert rules and dashboards are written
against: temporal-config/monitoring/metrics.txt names every linkage_* metric (its labels and
type too), and the table the code counts by (linkage.metrics.names) names the same, no more.
What each process actually serves is checked against the table by the tests beside this one
(test_api, test_codec, test_records, test_worker)."""

from __future__ import annotations

import re

from linkage.metrics.names import METRICS
from linkage.settings.paths import PROJECT_ROOT

LISTED = PROJECT_ROOT / "temporal-config" / "monitoring" / "metrics.txt"
# `NAME{label,…} TYPE  meaning` or `NAME TYPE  meaning`
LINE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<kind>\w+)(?:\s|$)")


def listed() -> dict[str, tuple[set[str], str]]:
    """{linkage_* name: (its labels, its type)} as metrics.txt lists them."""
    found = {}
    for line in LISTED.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = LINE.match(line.strip())
        assert match, f"metrics.txt: a line not `NAME{{labels}} TYPE meaning`: {line!r}"
        if match["name"].startswith("linkage_"):
            labels = {x.strip() for x in (match["labels"] or "").split(",") if x.strip()}
            found[match["name"]] = (labels, match["kind"])
    return found


def test_every_name_listed_is_exported_and_every_name_exported_is_listed():
    names = listed()
    assert set(names) - set(METRICS) == set(), "listed, never exported"
    assert set(METRICS) - set(names) == set(), "exported, not listed in metrics.txt"


def test_the_labels_and_types_are_the_ones_listed():
    for name, (labels, kind) in listed().items():
        metric = METRICS[name]
        assert set(metric.labels) == labels, name
        assert metric.kind == kind, name
