"""The work's gauges, read from the records database when Prometheus scrapes the API: a custom
collector, so the figures are the database's at that moment (every API instance answers the
same), computed by GROUP BY queries (a few rows each, never the rows themselves, no sealed
column) at most once per CACHE_SECONDS however many scrape.

A scrape never fails for the records: a database that does not answer within QUERY_SECONDS,
or at all, gives `linkage_records_up 0` and none of the records' other gauges (the
certificates', read from files, stay).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select, text
from sqlalchemy.engine import Connection, Engine

from linkage.domain.models import Stage
from linkage.metrics.certificates import certificate_files, expiries
from linkage.metrics.names import METRICS
from linkage.records.health import probe_engine
from linkage.records.tables import Incident, OutboxMessage, PoliceCase, StepEvent, WorkOrder
from linkage.records.tokens import IssuedToken
from linkage.settings.logs import get_logger

CACHE_SECONDS = 15.0
QUERY_SECONDS = 5.0
SUPERVISION = "supervise"  # the step action of a supervision (督办): workflows/deadlines.py
ENTERED = "enter"  # the incident's step action on entering a stage: workflows/incident.py
TARGETS = ("police", "hotline", "sms", "emergency")  # every outbox target, shown when idle
# the desks' stages: an incident there waits on a review (the linkage desk's, the sending or
# the receiving platform's) or on the two centres' negotiation; each stage is its own desk
DESKS = (Stage.triage_review, Stage.sending_review, Stage.receiving_review, Stage.negotiation)
ENDED = (Stage.closed, Stage.withdrawn, Stage.merged)


def gauge(name: str) -> GaugeMetricFamily:
    spec = METRICS[name]
    return GaugeMetricFamily(name, spec.help, labels=spec.labels)


def _seconds(at: datetime | None) -> float | None:
    """Unix seconds; a time the database returns without a zone is UTC (as the store writes)."""
    if at is None:
        return None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


class RecordsCollector(Collector):
    """The records' gauges and the certificates', cached for `cache_seconds`."""

    def __init__(
        self,
        database_url: Callable[[], str],
        cache_seconds: float = CACHE_SECONDS,
        certificates: Callable[[], dict] = certificate_files,
    ) -> None:
        self._url, self._certificates = database_url, certificates
        self.cache_seconds = cache_seconds
        self._engine: tuple[str, Engine] | None = None
        self._lock = threading.Lock()  # one scrape queries; those beside it wait and share
        self._cached: list[GaugeMetricFamily] = []
        self._at: float | None = None

    def describe(self) -> Iterable[GaugeMetricFamily]:
        """The families without samples: registering the collector queries nothing."""
        return [gauge(name) for name, spec in METRICS.items() if spec.process == "records"]

    def collect(self) -> Iterable[GaugeMetricFamily]:
        with self._lock:
            now = time.monotonic()
            if self._at is None or now - self._at >= self.cache_seconds:
                self._cached, self._at = self._gather(), now
            return list(self._cached)

    def _gather(self) -> list[GaugeMetricFamily]:
        try:
            families = self._from_records()
        except Exception as err:  # an outage, a database not migrated, a timeout: never raised
            get_logger().warning("records metrics: no answer", error=type(err).__name__)
            up = gauge("linkage_records_up")
            up.add_metric([], 0)
            families = [up]
        try:
            families.append(self._certificate_expiries())
        except Exception as err:  # a folder that went away between the listing and the read
            get_logger().warning("certificate metrics: unreadable", error=type(err).__name__)
        return families

    def _certificate_expiries(self) -> GaugeMetricFamily:
        family = gauge("linkage_certificate_expiry_timestamp_seconds")
        for name, at in sorted(expiries(self._certificates()).items()):
            family.add_metric([name], at)
        return family

    def _connect(self) -> Connection:
        url = self._url()
        if self._engine is None or self._engine[0] != url:
            self._engine = (url, probe_engine(url, QUERY_SECONDS))
        return self._engine[1].connect()

    def _from_records(self) -> list[GaugeMetricFamily]:
        with self._connect() as conn:
            if conn.dialect.name == "postgresql":  # a query that hangs is given up on too
                conn.execute(text(f"SET LOCAL statement_timeout = {int(QUERY_SECONDS * 1000)}"))
            now = datetime.now(UTC)
            families = [
                self._incidents(conn),
                self._overdue(conn),
                self._supervisions(conn),
                *self._outbox(conn, now),
                *self._desks(conn, now),
                self._tokens(conn, now),
            ]
        up = gauge("linkage_records_up")
        up.add_metric([], 1)
        return [up, *families]

    def _incidents(self, conn: Connection) -> GaugeMetricFamily:
        family = gauge("linkage_incidents")
        query = select(Incident.stage, Incident.owner, func.count()).group_by(
            Incident.stage, Incident.owner
        )
        for stage, owner, count in conn.execute(query):
            family.add_metric([stage, owner], count)  # "": not owned yet
        return family

    def _overdue(self, conn: Connection) -> GaugeMetricFamily:
        family = gauge("linkage_overdue_items")
        for loop, table in (("police", PoliceCase), ("hotline", WorkOrder)):
            query = (
                select(table.unit, table.step, func.count())
                .where(table.overdue.is_(True), table.completed.is_(False))
                .group_by(table.unit, table.step)
            )
            for unit, step, count in conn.execute(query):
                family.add_metric([loop, unit, step], count)
        return family

    def _supervisions(self, conn: Connection) -> GaugeMetricFamily:
        """Supervisions on the incidents not yet ended, by the unit each counts against."""
        family = gauge("linkage_supervisions")
        query = (
            select(StepEvent.unit, func.count())
            .join(Incident, Incident.id == StepEvent.incident_id)
            .where(StepEvent.action == SUPERVISION, Incident.stage.not_in([s.value for s in ENDED]))
            .group_by(StepEvent.unit)
        )
        for unit, count in conn.execute(query):
            family.add_metric([unit], count)
        return family

    def _outbox(self, conn: Connection, now: datetime) -> list[GaugeMetricFamily]:
        query = (
            select(
                OutboxMessage.target,
                OutboxMessage.status,
                func.count(),
                func.min(OutboxMessage.created_at),
            )
            .where(OutboxMessage.status.in_(("pending", "failed")))
            .group_by(OutboxMessage.target, OutboxMessage.status)
        )
        backlog = dict.fromkeys(TARGETS, 0)
        failed = dict.fromkeys(TARGETS, 0)
        oldest = dict.fromkeys(TARGETS, 0.0)
        for target, status, count, first in conn.execute(query):
            if status == "failed":
                failed[target] = count
                continue
            backlog[target] = count
            oldest[target] = max(0.0, now.timestamp() - (_seconds(first) or now.timestamp()))
        families = []
        for name, values in (
            ("linkage_outbox_backlog", backlog),
            ("linkage_outbox_oldest_age_seconds", oldest),
            ("linkage_outbox_failed", failed),
        ):
            family = gauge(name)
            for target, value in values.items():
                family.add_metric([target], value)
            families.append(family)
        return families

    def _desks(self, conn: Connection, now: datetime) -> list[GaugeMetricFamily]:
        """Incidents at each desk's stage; each one's time there counts from its entry on the
        timeline (the last `enter` step of that stage), else from its record's last change."""
        entered = (
            select(func.max(StepEvent.at))
            .where(
                StepEvent.incident_id == Incident.id,
                StepEvent.step == Incident.stage,
                StepEvent.action == ENTERED,
            )
            .correlate(Incident)
            .scalar_subquery()
        )
        waiting = (
            select(Incident.stage, func.coalesce(entered, Incident.updated_at).label("since"))
            .where(Incident.stage.in_([s.value for s in DESKS]))
            .subquery()
        )
        query = select(waiting.c.stage, func.count(), func.min(waiting.c.since)).group_by(
            waiting.c.stage
        )
        queued = dict.fromkeys([s.value for s in DESKS], 0)
        oldest = dict.fromkeys([s.value for s in DESKS], 0.0)
        for stage, count, since in conn.execute(query):
            queued[stage] = count
            oldest[stage] = max(0.0, now.timestamp() - (_seconds(since) or now.timestamp()))
        size = gauge("linkage_desk_queue")
        age = gauge("linkage_desk_queue_oldest_age_seconds")
        for desk in queued:
            size.add_metric([desk], queued[desk])
            age.add_metric([desk], oldest[desk])
        return [size, age]

    def _tokens(self, conn: Connection, now: datetime) -> GaugeMetricFamily:
        family = gauge("linkage_token_earliest_expiry_timestamp_seconds")
        query = (
            select(IssuedToken.role, func.min(IssuedToken.expires_at))
            .where(IssuedToken.revoked_at.is_(None), IssuedToken.expires_at > now)
            .group_by(IssuedToken.role)
        )
        for role, expires in conn.execute(query):
            if expires is not None:
                family.add_metric([role], _seconds(expires))
        return family
