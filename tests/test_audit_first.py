"""The audit entry is written before an action is taken and completed after it: a process
killed in between leaves an entry that says the action was begun, so no incident or action
exists without one."""

from __future__ import annotations

import pytest

from linkage.client.authorized import AuthorizedClient
from linkage.records.audit import AuditLog, render_audit
from tests.conftest import open_incident
from tests.tokens import PARTIES, Tokens


def bureau(store):
    role, unit, name = PARTIES["police_bureau"]
    return Tokens(store).principal(role, unit, name)


async def test_the_entry_is_there_before_the_action_and_complete_after(env, linkage, monkeypatch):
    iid = await open_incident(env, linkage, "police")
    audit = AuditLog(linkage.store.engine)
    seen = []
    taking = linkage.act

    async def act(*args, **kwargs):
        seen.extend(audit.list(incident_id=iid, action="review"))  # as a kill here would find
        return await taking(*args, **kwargs)

    monkeypatch.setattr(linkage, "act", act)
    await AuthorizedClient(linkage, bureau(linkage.store)).act(iid, "review", {"approve": True})
    assert [e.detail.get("phase") for e in seen] == ["begun"]
    assert "begun, no outcome recorded" in render_audit(seen)
    (entry,) = audit.list(incident_id=iid, action="review")
    assert entry.allowed and entry.id == seen[0].id and "phase" not in entry.detail


async def test_an_action_that_fails_on_the_way_says_so(env, linkage, monkeypatch):
    iid = await open_incident(env, linkage, "police")

    async def act(*args, **kwargs):
        raise ConnectionError("Temporal went away")

    monkeypatch.setattr(linkage, "act", act)
    with pytest.raises(ConnectionError):
        await AuthorizedClient(linkage, bureau(linkage.store)).act(iid, "review", {"approve": True})
    (entry,) = AuditLog(linkage.store.engine).list(incident_id=iid, action="review")
    assert entry.detail["outcome"] == "no outcome: ConnectionError"
