"""Limits in working days: counted across a national holiday and an adjusted working weekend,
with the district's overrides; written in the time-limit table; recorded by the incident so that
a replay computes the same due time after the calendar changed."""

from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta

import pytest
from temporalio.worker import Replayer

from linkage.domain.calendar_source import Overrides, excerpt
from linkage.domain.periods import DISTRICT_TZ
from linkage.domain.time_limits import load_time_limits
from linkage.domain.workdays import due, span
from linkage.settings.config import ConfigError
from linkage.settings.paths import config_dir
from linkage.trust.temporal import DATA_CONVERTER
from tests.conftest import open_incident
from tests.parties import CENTRE, as_, divert_to_hotline
from workers.main import WORKFLOWS, workflow_runner


def local(*args) -> datetime:
    return datetime(*args, tzinfo=DISTRICT_TZ)


NATIONAL_DAY = excerpt(local(2026, 9, 20, 12))  # 2026: 1–7 October off, Sunday 20 September
# and Saturday 10 October worked (调休上班); 25–27 September the Mid-autumn Festival


def test_one_working_day_before_national_day_is_due_after_it():
    # Wednesday 30 September 10:00 → Thursday 8 October 10:00, the week of holidays skipped
    assert due(local(2026, 9, 30, 10), 1, NATIONAL_DAY) == local(2026, 10, 8, 10)


def test_the_adjusted_working_saturday_counts():
    # from Thursday 8 October: Fri 9, Sat 10 (worked), Mon 12, Tue 13, Wed 14
    assert due(local(2026, 10, 8, 10), 5, NATIONAL_DAY) == local(2026, 10, 14, 10)


def test_from_a_day_off_the_count_starts_with_the_next_working_day():
    # Saturday 19 September is off; Sunday 20 September is worked: its end is one working day
    assert due(local(2026, 9, 19, 15), 1, NATIONAL_DAY) == local(2026, 9, 21, 0)
    # a holiday run: from the Mid-autumn Saturday, the next working day is Monday 28
    assert due(local(2026, 9, 26, 9), 1, NATIONAL_DAY) == local(2026, 9, 29, 0)


def test_hours_stay_hours():
    start = local(2026, 9, 30, 10)
    assert span(2.0, start, None) == timedelta(hours=2)
    assert span("1wd", start, NATIONAL_DAY) == local(2026, 10, 8, 10) - start
    with pytest.raises(ValueError, match="needs the working calendar"):
        span("1wd", start, None)


def test_the_districts_overrides_change_the_count():
    district = Overrides(version="t", days={date(2026, 10, 9): "off", date(2026, 10, 11): "work"})
    calendar = excerpt(local(2026, 9, 20, 12), district)
    # Fri 9 off by the district, Sat 10 worked nationally, Sun 11 worked by the district
    assert due(local(2026, 10, 8, 10), 2, calendar) == local(2026, 10, 11, 10)
    assert "+t" in calendar.version


def test_the_time_limit_table_takes_working_days_and_refuses_other_words(tmp_path):
    text = (config_dir() / "time-limits.toml").read_text()
    path = tmp_path / "time-limits.toml"
    path.write_text(
        text.replace("sign_hours = 2 ", 'sign_hours = "1wd" ').replace(
            "routine = 120", 'routine = "5wd"'
        )
    )
    limits = load_time_limits(path)
    assert (limits.hotline.sign_hours, limits.hotline.handle_hours["routine"]) == ("1wd", "5wd")
    assert limits.uses_working_days() and not load_time_limits().uses_working_days()
    path.write_text(text.replace("sign_hours = 2 ", 'sign_hours = "1d" '))
    with pytest.raises(ConfigError, match='hotline.sign_hours: .*working days like "1wd"'):
        load_time_limits(path)
    path.write_text(
        text.replace("command_minutes = { routine = 15", 'command_minutes = { routine = "1wd"')
    )
    with pytest.raises(ConfigError, match="police.command_minutes"):
        load_time_limits(path)


def next_working(day: date, off: set[date]) -> date:
    """Counted by hand: weekends and the given days off skipped (no national holiday falls in
    the fortnight after the tests run in December)."""
    day += timedelta(days=1)
    while day.weekday() >= 5 or day in off:
        day += timedelta(days=1)
    return day


@pytest.fixture
def working_day_table(tmp_path, monkeypatch):
    """The district's files with signing in 1 working day and tomorrow a district day off."""
    folder = tmp_path / "temporal-config"
    shutil.copytree(config_dir(), folder)
    limits = folder / "time-limits.toml"
    limits.write_text(limits.read_text().replace("sign_hours = 2 ", 'sign_hours = "1wd" '))
    tomorrow = datetime.now(DISTRICT_TZ).date() + timedelta(days=1)
    (folder / "workdays.toml").write_text(f'version = "t1"\n[days]\n"{tomorrow}" = "off"\n')
    monkeypatch.setenv("LINKAGE_CONFIG_DIR", str(folder))
    return folder, tomorrow


async def test_a_working_day_deadline_is_recorded_and_replays_after_the_calendar_changes(
    env, linkage, working_day_table
):
    folder, tomorrow = working_day_table
    iid = await open_incident(env, linkage, "police")
    await divert_to_hotline(linkage, iid)
    await linkage.act(iid, "dispatch", as_(CENTRE, unit="区城管局"))
    state = (await linkage.status(iid)).hotline
    (sign,) = state.deadlines
    dispatched = next(e.at for e in state.timeline if e.action == "dispatch")
    start = dispatched.astimezone(DISTRICT_TZ)
    day = start.date()
    if day.weekday() >= 5 or day == tomorrow:  # dispatched on a day off: from the next one
        day, start = next_working(day, {tomorrow}), start.replace(hour=0, minute=0, second=0)
        start = start.replace(microsecond=0)
    expected = datetime.combine(next_working(day, {tomorrow}), start.timetz())
    assert sign.name == "sign" and abs(sign.at - expected) < timedelta(seconds=1)
    assert sign.at.astimezone(DISTRICT_TZ).date() != tomorrow
    # the calendar changes (tomorrow is worked after all): the recorded history replays
    (folder / "workdays.toml").write_text('version = "t2"\n[days]\n')
    replayer = Replayer(
        workflows=WORKFLOWS, workflow_runner=workflow_runner(), data_converter=DATA_CONVERTER
    )
    for workflow_id in (iid, f"{iid}.hotline"):
        history = await env.client.get_workflow_handle(workflow_id).fetch_history()
        await replayer.replay_workflow(history)
    assert (await linkage.status(iid)).hotline.deadlines[0].at == sign.at
