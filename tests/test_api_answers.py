"""What a platform's integrator reads from the API: a status code that says whether anything was
made, one time convention in every answer, and errors that point where the mistake is."""

from __future__ import annotations

import re

from tests.conftest import make_report, open_incident
from tests.parties import BUREAU, CENTRE, STATION, as_
from tests.test_api import api, bearer, tokens  # noqa: F401  (fixtures)

OFFSET = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


def times(value, path=""):
    """Every (path, string) of the answer that is a time."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from times(item, f"{path}.{key}")
    elif isinstance(value, list):
        for n, item in enumerate(value):
            yield from times(item, f"{path}[{n}]")
    elif isinstance(value, str) and ISO.match(value):
        yield path, value


async def test_a_report_sent_again_answers_200_and_not_new(api, tokens, linkage):  # noqa: F811
    station = bearer(tokens.party("police_unit"))
    report = make_report("police")
    first = await api.post("/reports", json=report, headers=station)
    assert first.status_code == 201 and first.json()["new"] is True
    again = await api.post("/reports", json=report, headers=station)
    assert again.status_code == 200, again.text
    assert again.json()["new"] is False and again.json()["resent"] is True

    iid = first.json()["incident_id"]
    await linkage.act(iid, "send-back", as_(BUREAU, reason="属治安案件"))
    await linkage.act(iid, "withdraw", as_(STATION))
    closed = await api.post("/reports", json=report, headers=station)
    assert closed.status_code == 200, closed.text
    assert closed.json() | {"incident_id": iid, "new": False, "closed": True} == closed.json()
    assert closed.json()["stage"] == "withdrawn"


async def test_every_answer_gives_times_with_the_districts_offset(api, tokens, env, linkage):  # noqa: F811
    iid = await open_incident(env, linkage, "police")
    bureau = bearer(tokens.party("police_bureau"))
    acted = await api.post(f"/incidents/{iid}/actions/review", json={}, headers=bureau)
    status = await api.get(f"/incidents/{iid}", headers=bureau)
    listed = await api.get("/incidents", params={"unit": "区集成指挥中心"}, headers=bureau)
    supervisor = bearer(tokens.party("supervisor"))
    audit = await api.get("/audit", params={"incident": iid}, headers=supervisor)
    for answer in (acted, status, listed, audit):
        assert answer.status_code == 200, answer.text
        found = list(times(answer.json()))
        assert found, answer.request.url
        wrong = [(path, at) for path, at in found if not OFFSET.match(at)]
        assert wrong == [], answer.request.url


async def test_a_broken_json_body_names_the_line_and_column(api, tokens):  # noqa: F811
    centre = bearer(tokens.party("command_center"))
    body = '{"origin": "hotline",\n "reference": }'
    answer = await api.post(
        "/reports", content=body, headers=centre | {"Content-Type": "application/json"}
    )
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["field"] == "body" and error["code"] == "invalid_json"
    assert "line 2, column 15" in error["message"], error["message"]


async def test_an_unknown_field_lists_only_what_the_caller_may_send(api, tokens, env, linkage):  # noqa: F811
    iid = await open_incident(env, linkage, "police")
    bureau = bearer(tokens.party("police_bureau"))
    answer = await api.post(
        f"/incidents/{iid}/actions/send-back",
        json={"reason": "属治安案件", "reson": "错字"},
        headers=bureau,
    )
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert "reson" in error["message"] and "known: " in error["message"]
    known = error["message"].split("known: ")[1].split("\n")[0].split(", ")
    assert "reason" in known and "actor" not in known, known


async def test_a_refused_whistle_is_a_409_with_the_reason_and_a_blown_one_answers_its_state(
    api,  # noqa: F811
    tokens,  # noqa: F811
    env,
    linkage,
):
    centre = bearer(tokens.party("command_center"))
    iid = await open_incident(env, linkage, "police")
    body = {"reason": "重复报警，群众情绪激动", "units": ["区城管局"]}
    blown = await api.post(f"/incidents/{iid}/whistle", json=body, headers=centre)
    assert blown.status_code == 200, blown.text
    assert [w["number"] for w in blown.json()["state"]["whistles"]] == [1]
    await linkage.act(iid, "close-whistle", as_(CENTRE))
    await linkage.act(iid, "send-back", as_(BUREAU, reason="属治安案件"))
    await linkage.act(iid, "withdraw", as_(STATION))
    await linkage.result(iid)
    refused = await api.post(f"/incidents/{iid}/whistle", json=body, headers=centre)
    assert refused.status_code == 409, refused.text
    assert "already" in refused.json()["error"]["message"]


async def test_a_whistle_posted_again_is_blown_once(
    api,  # noqa: F811
    tokens,  # noqa: F811
    env,
    linkage,
):
    """The same post five times (a desk's retries) is one whistle: by its request ID, and
    without one, by its reason while that whistle is open."""
    centre = bearer(tokens.party("command_center"))
    iid = await open_incident(env, linkage, "police")
    body = {"reason": "群众聚集，情绪激动", "units": ["区城管局"], "request_id": "desk-7"}
    answers = [
        await api.post(f"/incidents/{iid}/whistle", json=body, headers=centre) for _ in range(5)
    ]
    assert [a.status_code for a in answers] == [200] * 5, answers[-1].text
    assert [w["number"] for w in answers[-1].json()["state"]["whistles"]] == [1]
    again = {**body, "request_id": "desk-8"}
    refused = await api.post(f"/incidents/{iid}/whistle", json=again, headers=centre)
    assert refused.status_code == 409, refused.text
    assert "whistle #1 for the same reason is open" in refused.json()["error"]["message"]
    other = {**again, "reason": "现场发现燃气泄漏"}
    blown = await api.post(f"/incidents/{iid}/whistle", json=other, headers=centre)
    assert [w["number"] for w in blown.json()["state"]["whistles"]] == [1, 2]
