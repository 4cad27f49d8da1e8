"""The worker's metrics: the Temporal SDK's Prometheus exporter (its `temporal_*` metrics and
the project's counters) at LINKAGE_METRICS_ADDRESS, and the counters the activities add to
through the SDK's meter.

The exporter keeps the SDK's defaults, so the `temporal_*` names are Temporal's documented ones
(counters without `_total`, latencies in milliseconds); the project's counters are named with
their `_total` already. The worker's SDK logging stays as it was (core warnings, to stderr).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping

from temporalio import activity
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from linkage.domain.triage_result import TriageResult
from linkage.metrics.names import METRICS
from linkage.settings.config import ConfigError
from linkage.settings.logs import get_logger

ADDRESS_ENV = "LINKAGE_METRICS_ADDRESS"
DEFAULT_ADDRESS = "127.0.0.1:9464"  # loopback: a deployment sets 0.0.0.0:9464 for its scraper


def metrics_address(environ: Mapping[str, str] | None = None) -> str | None:
    """host:port of LINKAGE_METRICS_ADDRESS (the default when unset), or None when it is set
    empty (the exporter off). The host is an IP address: the SDK binds no host name."""
    environ = os.environ if environ is None else environ
    given = environ.get(ADDRESS_ENV)
    if given is None:
        return DEFAULT_ADDRESS
    given = given.strip()
    if not given:
        return None
    host, _, port = given.rpartition(":")
    try:
        ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
        number = int(port)
    except ValueError:
        number = -1
    if not 0 < number <= 65535:
        raise ConfigError(
            f"{ADDRESS_ENV}={given!r}: an IP address and a port are required (0.0.0.0:9464, "
            f"127.0.0.1:9464, [::]:9464), or an empty value to serve no metrics"
        )
    return given


def worker_runtime(environ: Mapping[str, str] | None = None) -> Runtime | None:
    """A runtime exporting the SDK's metrics at LINKAGE_METRICS_ADDRESS, or None (the default
    runtime, no metrics) when it is off. An address set and unusable is a ConfigError; the
    default address already taken (a second worker on this host) only turns the metrics off,
    with a warning."""
    environ = os.environ if environ is None else environ
    address = metrics_address(environ)
    if address is None:
        return None
    try:
        runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(address)))
    except ValueError as err:  # the bridge's: address in use, or not one it can bind
        if ADDRESS_ENV in environ:
            raise ConfigError(f"{ADDRESS_ENV}={address}: cannot serve metrics: {err}") from None
        get_logger().warning("worker metrics off", address=address, error=str(err))
        return None
    get_logger().info("worker metrics listening", address=address, path="/metrics")
    return runtime


def count(name: str, **labels: str) -> None:
    """Add one to a project counter of the table, through the running activity's meter (a
    no-op when the worker exports nothing; nothing outside an activity)."""
    try:
        meter = activity.metric_meter()
    except RuntimeError:  # not in an activity: a method called directly
        return
    meter.create_counter(name, METRICS[name].help).add(1, labels)


def reading(result: TriageResult) -> str:
    """What triage found: the side it routes to (police | hotline | both), or "unsure" when
    the linkage desk must decide first (its `needs_review`)."""
    return "unsure" if result.needs_review else str(result.direction)


def triage_read(result: TriageResult) -> None:
    """Triage read a report."""
    count("linkage_triage_readings_total", direction=reading(result))


def report_taken(origin: str) -> None:
    """The intake took a report into the records (police | hotline)."""
    count("linkage_reports_taken_total", origin=origin)
