"""Every `linkage_*` metric the processes export, in one table: its kind, its labels (each with
a bounded set of values: never an ID, a path or a person) and what it means. The alert rules
and the dashboards (temporal-config/monitoring/) name exactly these."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    kind: str  # counter | histogram | gauge
    labels: tuple[str, ...]
    help: str
    process: str  # who exports it: worker | api | codec | records (the API, from the records)


METRICS: dict[str, Metric] = {
    # the worker, through the Temporal SDK's meter (with the SDK's namespace, task_queue,
    # activity_type and service_name labels beside these)
    "linkage_triage_readings_total": Metric(
        "counter",
        ("direction",),
        "Reports triage has read, by the side it found (unsure: the desk decides)",
        "worker",
    ),
    "linkage_reports_taken_total": Metric(
        "counter", ("origin",), "Reports taken into the records by the intake", "worker"
    ),
    # the HTTP API
    "linkage_api_requests_total": Metric(
        "counter", ("route", "method", "status"), "HTTP requests answered, by route template", "api"
    ),
    "linkage_api_request_duration_seconds": Metric(
        "histogram", ("route", "method"), "Time to answer an HTTP request", "api"
    ),
    "linkage_reports_received_total": Metric(
        "counter", ("origin",), "Diverts the API took (a new incident, a repeat, or queued)", "api"
    ),
    "linkage_reports_refused_total": Metric(
        "counter", ("origin", "reason"), "Diverts the API did not take, and why", "api"
    ),
    # the codec server
    "linkage_codec_decodes_total": Metric(
        "counter",
        ("role", "outcome"),
        "Decode requests of the Web UI, by role and outcome",
        "codec",
    ),
    # the work, from the records database (the API computes them when scraped)
    "linkage_records_up": Metric(
        "gauge", (), "1 when the records database answered the last scrape's queries", "records"
    ),
    "linkage_incidents": Metric(
        "gauge", ("stage", "owner"), "Incidents on record by stage and owner", "records"
    ),
    "linkage_overdue_items": Metric(
        "gauge", ("loop", "unit", "step"), "Open police cases and work orders overdue", "records"
    ),
    "linkage_supervisions": Metric(
        "gauge",
        ("unit",),
        "Supervisions (督办) on incidents not yet ended, by the unit they count against",
        "records",
    ),
    "linkage_outbox_backlog": Metric(
        "gauge", ("target",), "Outbox messages pending (not yet delivered)", "records"
    ),
    "linkage_outbox_oldest_age_seconds": Metric(
        "gauge", ("target",), "Age of the oldest pending outbox message", "records"
    ),
    "linkage_outbox_failed": Metric(
        "gauge", ("target",), "Outbox messages given up on (failed)", "records"
    ),
    "linkage_desk_queue": Metric(
        "gauge", ("desk",), "Incidents at a desk's stage (a review, or negotiation)", "records"
    ),
    "linkage_desk_queue_oldest_age_seconds": Metric(
        "gauge", ("desk",), "Time the longest-waiting incident has been in its stage", "records"
    ),
    "linkage_token_earliest_expiry_timestamp_seconds": Metric(
        "gauge", ("role",), "Earliest expiry of the unrevoked tokens issued, by role", "records"
    ),
    "linkage_certificate_expiry_timestamp_seconds": Metric(
        "gauge", ("name",), "When each PEM certificate held for Temporal's TLS expires", "records"
    ),
}


def exported_name(family: str, kind: str) -> str:
    """The table's name of a family as a Prometheus parser reports it (a counter's family is
    named without `_total`)."""
    return f"{family}_total" if kind == "counter" else family
