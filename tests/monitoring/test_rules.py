"""The alerting rules: valid to promtool, every alert tested firing and quiet by promtool's unit
tests, labelled for routing, explained in docs/monitoring.md, its desk limits the district's,
and the scrape config valid with the rule file beside it."""

from __future__ import annotations

import re
import tomllib
import unicodedata

import pytest

from linkage.ops.deploy import promtool
from linkage.settings.paths import PROJECT_ROOT
from tests.monitoring import (
    ALERT_TESTS,
    ALERTS,
    BUILD_TIMEOUT,
    DOCS,
    SCRAPE_CONFIG,
    alert_rules,
    load_yaml,
    promtool_binary,
)

SEVERITIES = {"page", "ticket"}
AUDIENCES = {"operators", "duty-desk"}


@pytest.fixture(scope="module")
def built():
    return promtool_binary()


def anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors, and explicit <a id> ones."""
    found = set(re.findall(r'<a (?:id|name)="([^"]+)"', markdown))
    for heading in re.findall(r"^#{1,6}\s+(.+?)\s*#*$", markdown, flags=re.MULTILINE):
        text = unicodedata.normalize("NFC", heading).lower()
        found.add(re.sub(r"[^\w\- ]", "", text).replace(" ", "-"))
    return found


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_promtool_checks_the_rules_lint_included(built):
    promtool.check_rules(ALERTS)


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_every_alerts_unit_tests_pass(built):
    done = promtool.test_rules(ALERT_TESTS)
    assert "SUCCESS" in done.stdout + done.stderr


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_the_scrape_config_is_valid_with_its_rule_file(built):
    config = load_yaml(SCRAPE_CONFIG)
    assert config["rule_files"] == [ALERTS.name]  # relative: the file beside it
    done = promtool.check_config(SCRAPE_CONFIG)
    assert ALERTS.name in done.stdout + done.stderr  # the rule file was read and checked


def test_every_job_the_rules_name_is_scraped():
    jobs = {c["job_name"] for c in load_yaml(SCRAPE_CONFIG)["scrape_configs"]}
    for rule in alert_rules():
        for job in re.findall(r'job="([^"]+)"', rule["expr"]):
            assert job in jobs, f"{rule['alert']} reads job {job}, which nothing scrapes"
        for pattern in re.findall(r'job=~"([^"]+)"', rule["expr"]):
            assert any(re.fullmatch(pattern, j) for j in jobs), f"{rule['alert']}: {pattern}"


def test_every_alert_has_a_case_that_fires_and_one_that_does_not():
    cases = [c for t in load_yaml(ALERT_TESTS)["tests"] for c in t.get("alert_rule_test", [])]
    names = [rule["alert"] for rule in alert_rules()]
    assert len(names) == len(set(names)), "an alert name is used twice"
    for name in names:
        mine = [c for c in cases if c["alertname"] == name]
        assert any(c.get("exp_alerts") for c in mine), f"no test case fires {name}"
        assert any(not c.get("exp_alerts") for c in mine), f"no test case keeps {name} quiet"
    unknown = {c["alertname"] for c in cases} - set(names)
    assert not unknown, f"test cases for alerts that do not exist: {unknown}"


def test_every_alert_is_labelled_and_has_a_runbook_in_the_docs():
    documented = anchors(DOCS.read_text(encoding="utf-8"))
    for rule in alert_rules():
        name, labels, notes = rule["alert"], rule.get("labels", {}), rule.get("annotations", {})
        assert labels.get("severity") in SEVERITIES, f"{name}: severity"
        assert labels.get("audience") in AUDIENCES, f"{name}: audience"
        for field in ("summary", "description", "runbook_url"):
            assert notes.get(field, "").strip(), f"{name}: no {field}"
        page, _, anchor = notes["runbook_url"].partition("#")
        assert page == "docs/monitoring.md", f"{name}: runbook {notes['runbook_url']}"
        assert anchor in documented, f"{name}: docs/monitoring.md has no #{anchor}"


def test_desk_alerts_use_the_districts_review_limits():
    """The routine limit where it depends on urgency: the longest, so a desk pages only when
    even a routine push is late (supervision chases the urgent ones meanwhile)."""
    review = tomllib.loads((PROJECT_ROOT / "temporal-config" / "time-limits.toml").read_text())
    review = review["review"]
    (rule,) = [r for r in alert_rules() if r["alert"] == "LinkageDeskBacklog"]
    found = dict(re.findall(r'desk="(\w+)"\}\)\s*>\s*(\d+)', rule["expr"]))
    for desk in ("triage_review", "sending_review", "receiving_review", "negotiation"):
        hours = review[f"{desk}_hours"]
        hours = max(hours.values()) if isinstance(hours, dict) else hours
        assert isinstance(hours, int | float), f"{desk}: {hours!r} (working days?) needs hours"
        assert int(found[desk]) == round(hours * 3600), f"{desk}: {found[desk]} s, not {hours} h"
