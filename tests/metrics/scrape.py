"""Reading a /metrics page as Prometheus does (prometheus_client's parser), for the tests."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from linkage.metrics.names import exported_name


def families(page: str) -> dict:
    """{the name the table uses (a counter's with `_total`): its family}."""
    return {
        exported_name(family.name, family.type): family
        for family in text_string_to_metric_families(page)
    }


def linkage_names(page: str) -> set[str]:
    return {name for name in families(page) if name.startswith("linkage_")}


def value(page: str, name: str, /, **labels: str) -> float:
    """The sum of the samples named `name` whose labels include `labels` (0 when none)."""
    total = 0.0
    for family in text_string_to_metric_families(page):
        for sample in family.samples:
            if sample.name == name and labels.items() <= sample.labels.items():
                total += sample.value
    return total


def label_values(page: str, name: str, label: str) -> set[str]:
    return {
        sample.labels[label]
        for family in text_string_to_metric_families(page)
        for sample in family.samples
        if sample.name == name and label in sample.labels
    }


def sampled(page: str) -> set[str]:
    """The linkage_* names with at least one sample on the page."""
    return {
        sample.name
        for family in text_string_to_metric_families(page)
        for sample in family.samples
        if sample.name.startswith("linkage_")
    }
