"""The system's own notes never embed a caller's data: a repeat report is named by its
reference and the time its platform received it, never by its description."""

import asyncio

from tests.conftest import make_report


async def test_the_repeat_report_note_names_the_report_not_the_caller(env, linkage):
    first = make_report("hotline")
    caller = first["caller"]
    said = f"来电人{caller['name']}，电话{caller['phone']}，身份证32050719900101123X，反映有人打架"
    second = make_report("police", caller=caller, description=said)
    with env.with_time_skipping_disabled():
        a = await linkage.divert(first)
        await asyncio.sleep(0.5)  # the first opens; the second joins it
        b = await linkage.divert(second)
    assert a.incident_id == b.incident_id and not b.new
    state = (await linkage.status(a.incident_id)).incident
    notes = [e.note for e in state.timeline if "重复报告" in e.note]
    assert len(notes) == 1
    assert second["reference"] in notes[0] and "受理于" in notes[0]
    for secret in (caller["name"], caller["phone"], "32050719900101123X", "打架"):
        assert secret not in notes[0]
