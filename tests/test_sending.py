"""Sending never blocks deadlines: an endpoint down while a deadline passes, a push reviewed
from its delivery, and an answer that can never succeed failing visibly and escalating."""

import shutil
from datetime import timedelta

from linkage.domain.models import Owner
from linkage.records.tables import OutboxMessage
from linkage.settings.gateway import GatewayConfig
from linkage.settings.paths import config_dir
from tests.conftest import eventually, open_incident, own_worker
from tests.parties import BUREAU, CENTRE, as_, divert_to_hotline, handle_order
from tests.test_gateway import Platform110


class Switchable(Platform110):
    """An endpoint that answers `status` until it is switched to 200."""

    def __init__(self, status: int) -> None:
        super().__init__(failures=10**6)
        self.failing_status = status

    def up(self) -> None:
        self.failures = len(self.received)


async def test_a_deadline_is_handled_while_the_sms_gateway_is_down(
    env, store, tmp_path, monkeypatch
):
    # The close deadline and its supervision a few seconds long, so that they pass in real
    # time while the reply is being retried (an activity in flight holds virtual time still).
    shutil.copytree(config_dir(), tmp_path / "config")
    table = tmp_path / "config" / "time-limits.toml"
    text = table.read_text(encoding="utf-8")
    text = text.replace("close_hours = 24 ", "close_hours = 0.0005 ")
    text = text.replace("every_hours = 24 ", "every_hours = 0.0005 ")
    table.write_text(text, encoding="utf-8")
    monkeypatch.setenv("LINKAGE_CONFIG_DIR", str(tmp_path / "config"))
    sms = Switchable(503)
    config = GatewayConfig(endpoints={"sms": sms.url})
    try:
        async with own_worker(env, store, "linkage-sms-down", config) as client:
            iid = await open_incident(env, client, "police")
            await divert_to_hotline(client, iid)
            await handle_order(client, iid)
            replied = await client.act(iid, "reply", as_(CENTRE, message="您反映的问题已处理"))
            assert replied.step.value == "close"  # the answer does not wait for the gateway

            async def supervised():
                state = (await client.status(iid)).hotline
                assert any(e.action == "supervise" and e.step == "close" for e in state.timeline)
                return state

            state = await eventually(supervised, seconds=30)
            assert store.get(OutboxMessage, f"{state.order_no}:reply:0").status == "pending"
            assert len(sms.received) >= 1
            sms.up()

            def delivered():
                row = store.get(OutboxMessage, f"{state.order_no}:reply:0")
                assert row.status == "delivered"

            await eventually(delivered, seconds=40)
    finally:
        sms.close()


def _posted(platform: Platform110, count: int) -> None:
    assert len(platform.received) >= count


async def test_the_receiving_review_counts_from_delivery(env, store):
    police = Switchable(503)
    config = GatewayConfig(endpoints={"police": police.url})
    try:
        async with own_worker(env, store, "linkage-push-late", config) as client:
            iid = await open_incident(env, client, "hotline")
            await eventually(lambda: _posted(police, 1))
            state = (await client.status(iid)).incident
            assert state.stage.value == "receiving_review"
            assert not [d for d in state.deadlines if d.name == "receiving_review"]
            police.up()

            async def reviewing():
                state = (await client.status(iid)).incident
                deadlines = [d for d in state.deadlines if d.name == "receiving_review"]
                sent = [e for e in state.timeline if e.action == "sent"]
                assert deadlines and sent, "not delivered yet"
                return deadlines[0], sent[0]

            deadline, sent = await eventually(reviewing, seconds=40)
            assert deadline.at - sent.at >= timedelta(hours=2) - timedelta(seconds=5)
            assert not deadline.missed  # delivered late, the receiver still has its two hours
            accepted = await client.act(iid, "accept", as_(BUREAU))
            assert accepted.stage.value == "handling"
    finally:
        police.close()


async def test_a_push_the_receiver_refuses_fails_visibly_and_a_person_is_told(env, store):
    hotline = Switchable(422)
    config = GatewayConfig(endpoints={"hotline": hotline.url})
    try:
        async with own_worker(env, store, "linkage-push-4xx", config) as client:
            iid = await open_incident(env, client, "police")
            await client.act(iid, "review", as_(BUREAU))

            async def escalated():
                state = (await client.status(iid)).incident
                assert state.whistles and state.whistles[0].blown_by == "rule:delivery_failed"
                return state

            state = await eventually(escalated, seconds=20)
            assert len(hotline.received) == 1  # a 4xx is not retried
            row = store.get(OutboxMessage, f"{iid}:incident")
            assert row.status == "failed" and "422" in row.last_error
            assert state.owner is Owner.police and state.first_receiver_handles
            assert any(e.action == "failed" for e in state.timeline)
            # no deadline is missed: the whistle (LinkageWhistle) is what calls the duty desks
            assert not state.hotline_workflow_id  # it stays with police
    finally:
        hotline.close()
