"""The work's gauges, read from the records when scraped: by GROUP BY, cached, and never an
exception out of a scrape (a database that does not answer is `linkage_records_up 0`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from prometheus_client import CollectorRegistry, generate_latest

from linkage.metrics.names import METRICS
from linkage.metrics.records import RecordsCollector
from linkage.ops.cluster.certificates import ensure_certificates
from linkage.records.store import Store
from linkage.records.tables import Incident, OutboxMessage, PoliceCase, StepEvent, WorkOrder
from linkage.records.tokens import TokenRecords
from tests.conftest import fresh_schema, open_incident
from tests.metrics.scrape import linkage_names, sampled, value

RECORDS = {name for name, m in METRICS.items() if m.process == "records"}
NOW = datetime.now(UTC)


def scraped(collector: RecordsCollector) -> str:
    registry = CollectorRegistry()
    registry.register(collector)
    return generate_latest(registry).decode()


def incident(iid: str, stage: str, owner: str = "", origin: str = "police", **more) -> Incident:
    return Incident(
        id=iid,
        origin=origin,
        reference=iid.split("-")[1],
        received_at=NOW - timedelta(hours=3),
        township="黄埭镇",
        address="春申路1号",
        urgency="routine",
        description="占道经营",
        divert_reason="非警务类",
        originating_unit="黄埭派出所",
        caller_phone="13900000000",
        stage=stage,
        owner=owner,
        **more,
    )


def step(iid: str, n: int, action: str, step: str, at: datetime, unit: str = "") -> StepEvent:
    loop = "incident" if action == "enter" else "police"
    return StepEvent(
        id=f"{iid}#{n}", incident_id=iid, at=at, loop=loop, step=step, action=action,
        actor="system", unit=unit,
    )  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
def records(request, tmp_path) -> Iterator[Store]:
    """A records database of its own, holding one of everything the gauges count."""
    if request.param == "sqlite":
        yield filled(Store(f"sqlite:///{tmp_path / 'records.db'}"))
    else:
        with fresh_schema("linkage_metrics") as url:
            store = filled(Store(url))
            yield store
            store.engine.dispose()


def filled(store: Store) -> Store:
    rows = [
        # waiting at the bureau's review for 2 h by its timeline; its record changed since
        incident("police-A1", "sending_review", updated_at=NOW - timedelta(minutes=5)),
        step("police-A1", 1, "enter", "sending_review", NOW - timedelta(hours=2)),
        incident("hotline-B1", "handling", "police"),
        incident("police-C1", "closed", "hotline"),
        incident("hotline-D1", "negotiation", updated_at=NOW - timedelta(minutes=30)),
        PoliceCase(case_no="B1-1", incident_id="hotline-B1", unit="元和派出所", step="arrive",
                   overdue=True),
        PoliceCase(case_no="C1-1", incident_id="police-C1", unit="元和派出所", step="done",
                   overdue=True, completed=True),
        WorkOrder(order_no="B1-2", incident_id="hotline-B1", unit="区城管局", step="sign",
                  overdue=True),
        step("hotline-B1", 2, "supervise", "arrive", NOW, unit="元和派出所"),
        step("hotline-B1", 3, "supervise", "arrive", NOW, unit="元和派出所"),
        step("police-C1", 4, "supervise", "sign", NOW, unit="区城管局"),  # its incident closed
        OutboxMessage(id="m1", target="police", kind="result", incident_id="hotline-B1",
                      payload={}, created_at=NOW - timedelta(minutes=10)),
        OutboxMessage(id="m2", target="sms", kind="reply", incident_id="police-C1", payload={},
                      status="failed"),
        OutboxMessage(id="m3", target="hotline", kind="result", incident_id="police-C1",
                      payload={}, status="delivered"),
    ]  # fmt: skip
    store.write(lambda session: session.add_all(rows))
    tokens = TokenRecords(store.engine)
    soon, later = NOW + timedelta(days=3), NOW + timedelta(days=30)
    for jti, role, expires in (("t1", "operator", later), ("t2", "operator", soon)):
        tokens.record_issued(
            {"jti": jti, "iss": "linkage", "name": "吴", "role": role,
             "iat": NOW.timestamp(), "exp": expires.timestamp()}
        )  # fmt: skip
    tokens.record_issued(
        {"jti": "t3", "iss": "linkage", "name": "周", "role": "supervisor",
         "iat": NOW.timestamp(), "exp": soon.timestamp()}
    )  # fmt: skip
    tokens.revoke("t3", by="operator:运维吴")  # revoked: no supervisor's token is live
    return store


def test_the_gauges_count_what_the_records_hold(records):
    text = scraped(RecordsCollector(lambda: records.url))
    assert value(text, "linkage_records_up") == 1
    assert linkage_names(text) == RECORDS
    assert value(text, "linkage_incidents", stage="sending_review", owner="") == 1
    assert value(text, "linkage_incidents", stage="handling", owner="police") == 1
    assert value(text, "linkage_incidents", stage="closed", owner="hotline") == 1
    overdue = "linkage_overdue_items"
    assert value(text, overdue, loop="police", unit="元和派出所", step="arrive") == 1
    assert value(text, overdue, loop="hotline", unit="区城管局", step="sign") == 1
    assert value(text, overdue) == 2  # the completed case is not overdue work
    assert value(text, "linkage_supervisions", unit="元和派出所") == 2
    assert value(text, "linkage_supervisions") == 2  # the closed incident's is over
    assert value(text, "linkage_outbox_backlog", target="police") == 1
    assert value(text, "linkage_outbox_backlog", target="hotline") == 0  # delivered
    assert value(text, "linkage_outbox_failed", target="sms") == 1
    assert 590 < value(text, "linkage_outbox_oldest_age_seconds", target="police") < 1200
    assert value(text, "linkage_desk_queue", desk="sending_review") == 1
    assert value(text, "linkage_desk_queue", desk="negotiation") == 1
    assert value(text, "linkage_desk_queue", desk="triage_review") == 0
    sending = value(text, "linkage_desk_queue_oldest_age_seconds", desk="sending_review")
    assert 7190 < sending < 7800  # from its entry on the timeline, not its record's change
    negotiating = value(text, "linkage_desk_queue_oldest_age_seconds", desk="negotiation")
    assert 1790 < negotiating < 2400  # no entry on record: from its record's last change
    expiry = "linkage_token_earliest_expiry_timestamp_seconds"
    assert value(text, expiry, role="operator") == pytest.approx(
        (NOW + timedelta(days=3)).timestamp(), abs=1
    )
    assert value(text, expiry, role="supervisor") == 0  # revoked: not there


def test_a_scrape_within_the_cache_asks_the_database_once(records):
    collector = RecordsCollector(lambda: records.url, cache_seconds=60)
    first = scraped(collector)
    records.write(lambda session: session.add(incident("police-E1", "triage_review")))
    assert scraped(collector) == first
    assert value(scraped(RecordsCollector(lambda: records.url)), "linkage_desk_queue",
                 desk="triage_review") == 1  # fmt: skip


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://linkage:linkage@127.0.0.1:1/nowhere",  # nothing listens there
        "sqlite:////nonexistent/folder/records.db",  # never made: the probe makes none
    ],
)
def test_a_database_that_does_not_answer_is_records_up_0_and_nothing_else(url):
    started = time.monotonic()
    text = scraped(RecordsCollector(lambda: url))
    assert time.monotonic() - started < 10
    assert value(text, "linkage_records_up") == 0
    assert sampled(text) == {"linkage_records_up"}


def test_the_certificates_of_the_tls_folder_and_the_connection(tmp_path, monkeypatch):
    folder = tmp_path / "tls"
    folder.mkdir()
    ensure_certificates(folder)
    monkeypatch.setenv("TEMPORAL_TLS_DIR", str(folder))
    monkeypatch.setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", str(folder / "ca.pem"))  # once
    text = scraped(RecordsCollector(lambda: "sqlite:////nonexistent/records.db"))
    expiry = "linkage_certificate_expiry_timestamp_seconds"
    for name in ("ca", "frontend", "internode"):
        cert = x509.load_pem_x509_certificate((folder / f"{name}.pem").read_bytes())
        assert value(text, expiry, name=name) == cert.not_valid_after_utc.timestamp()
    assert f'{expiry}{{name="ca-key"}}' not in text  # keys are never read
    assert text.count(f"{expiry}{{") == 3


async def test_an_incident_opened_by_the_worker_is_counted(env, linkage, store):
    before = scraped(RecordsCollector(lambda: store.url))
    await open_incident(env, linkage, "police")  # waits for the bureau's review
    after = scraped(RecordsCollector(lambda: store.url))
    for name, labels in (
        ("linkage_incidents", {"stage": "sending_review", "owner": ""}),
        ("linkage_desk_queue", {"desk": "sending_review"}),
    ):
        assert value(after, name, **labels) == value(before, name, **labels) + 1, name
