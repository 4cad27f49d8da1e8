"""No worker polls (it is down, or being deployed): callers are answered within seconds instead
of waiting without end. A new report is accepted and queued (its incident is started, which is
durable) and opens once a worker runs; an action is a 503 to be sent again."""

from __future__ import annotations

import shutil
import time
import uuid

import httpx
import pytest
from sqlmodel import Session

from linkage.client import LinkageClient, NoAnswer
from linkage.interfaces.api.app import make_app
from linkage.interfaces.cli.diverting import _divert_note
from linkage.records.tables import Incident
from tests.conftest import eventually, make_report, own_worker
from tests.parties import BUREAU, as_
from tests.test_api import bearer
from tests.tokens import Tokens

QUEUE = "linkage-nobody-polls"


@pytest.fixture
def quick(monkeypatch):
    monkeypatch.setenv("LINKAGE_ANSWER_SECONDS", "2")


async def test_a_report_is_queued_and_an_action_answered_in_seconds(env, store, quick):
    client = LinkageClient(env.client, QUEUE, store=store)
    started = time.monotonic()
    with env.with_time_skipping_disabled():
        queued = await client.divert(make_report("police"))
    assert queued.queued and not queued.new
    assert "queued: no worker answered in time" in _divert_note(queued)  # what the CLI prints
    with pytest.raises(NoAnswer, match="no answer .* within 2 s .* request_id abc123"):
        await client.act(queued.incident_id, "review", as_(BUREAU, request_id="abc123"))
    assert time.monotonic() - started < 20

    async with own_worker(env, store, QUEUE) as served:  # a worker comes: it opens by itself

        async def opened():  # (the review that got no answer may be applied by now, too)
            stage = (await served.status(queued.incident_id)).stage.value
            assert stage in ("sending_review", "receiving_review")

        await eventually(opened, seconds=30)
        # sent again with its request ID: applied once, whether or not it was applied before
        done = await served.act(queued.incident_id, "review", as_(BUREAU, request_id="abc123"))
        assert done.stage.value == "receiving_review"
        timeline = (await served.status(queued.incident_id)).incident.timeline
        reviews = [e for e in timeline if e.step == "sending_review" and e.action == "approve"]
        assert len(reviews) == 1


async def test_the_api_answers_202_for_a_queued_report_and_503_for_an_action(env, store, quick):
    client = LinkageClient(env.client, QUEUE, store=store)
    tokens = Tokens(store)
    transport = httpx.ASGITransport(app=make_app(client, tokens.verifier))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as api:
        station = bearer(tokens.party("police_unit"))
        with env.with_time_skipping_disabled():
            answer = await api.post("/reports", json=make_report("police"), headers=station)
        assert answer.status_code == 202, answer.text
        assert answer.json()["queued"] is True
        iid = answer.json()["incident_id"]
        bureau = bearer(tokens.party("police_bureau"))
        acted = await api.post(f"/incidents/{iid}/actions/review", json={}, headers=bureau)
        assert acted.status_code == 503, acted.text
        assert acted.json()["error"]["code"] == "no_answer"
        assert acted.headers["retry-after"] == "10"


async def test_an_action_waits_rather_than_saying_no_incident_while_the_records_are_down(
    env, store, tmp_path
):
    """Temporal answers "not found" for a moment after an outage of its database, which is
    often the records' too (one PostgreSQL): only records that answer make it final."""
    from linkage.client import ActionRefused, UnknownIncident
    from linkage.records.store import Store

    up = LinkageClient(env.client, QUEUE, store=store)
    with pytest.raises(ActionRefused, match="no incident police-JJNOSUCH0001"):
        await up.act("police-JJNOSUCH0001", "review", as_(BUREAU, request_id="r1"))
    gone = tmp_path / "gone"
    gone.mkdir()
    down_store = Store(f"sqlite:///{gone / 'records.db'}")
    down_store.engine.dispose()
    shutil.rmtree(gone)  # its folder removed: the records cannot be asked
    down = LinkageClient(env.client, QUEUE, store=down_store)
    with pytest.raises(NoAnswer, match="does not find .* send it again with request_id r2"):
        await down.act("police-JJNOSUCH0001", "review", as_(BUREAU, request_id="r2"))
    # the status the API reads first, to authorise an action against the incident's units
    with pytest.raises(UnknownIncident, match="no incident police-JJNOSUCH0001"):
        await up.status("police-JJNOSUCH0001")
    with pytest.raises(NoAnswer, match="does not find police-JJNOSUCH0001 just now"):
        await down.status("police-JJNOSUCH0001")


async def test_an_ended_incident_past_retention_is_unknown_at_once_and_an_open_one_waits(
    env, store
):
    """Temporal's retention removes an ended incident's history while its record stays: that
    "not found" is final. One the records hold open is Temporal's passing answer."""
    from linkage.client import UnknownIncident
    from tests.test_triage_model import desk_decision

    client = LinkageClient(env.client, QUEUE, store=store)
    suffix = uuid.uuid4().hex[:10].upper()
    ended, open_ = f"police-JJE{suffix}", f"police-JJO{suffix}"
    desk_decision(store, ended, "路灯坏了", "hotline", "H01.04", "confirm")
    desk_decision(store, open_, "路灯坏了", "hotline", "H01.04", "confirm")
    with Session(store.engine) as session:
        row = session.get(Incident, ended)
        row.stage = "closed"
        session.add(row)
        session.commit()
    started = time.monotonic()
    with pytest.raises(UnknownIncident, match=f"no incident {ended}"):
        await client.status(ended)
    assert time.monotonic() - started < 2
    with pytest.raises(NoAnswer, match=f"does not find {open_} just now"):
        await client.status(open_)
