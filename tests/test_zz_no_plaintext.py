"""Run last (by name): after the suite's incidents, no workflow history holds a phone number,
the test caller's name or an ID number in the clear, decoded from every payload's bytes."""

import base64
import json
import re

from tests.test_privacy import payloads_of

MOBILE = re.compile(rb"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
ID_NUMBER = re.compile(rb"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])")
NAMES = ["王小明".encode(), json.dumps("王小明").strip('"').encode()]


async def test_no_personal_data_in_any_history_of_the_suite(env, linkage):
    scanned = 0
    async for wf in env.client.list_workflows("", limit=400):  # the newest, of every type
        history = await env.client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
        for payload in payloads_of(json.loads(history.to_json())):
            raw = base64.b64decode(payload.get("data") or "")
            assert not MOBILE.search(raw), (wf.id, raw[:120])
            assert not ID_NUMBER.search(raw), (wf.id, raw[:120])
            assert not any(name in raw for name in NAMES), (wf.id, raw[:120])
        for values in (wf.search_attributes or {}).values():
            text = json.dumps(values, ensure_ascii=False, default=str).encode()
            assert not MOBILE.search(text) and not any(n in text for n in NAMES)
        scanned += 1
    assert scanned >= 1
