"""Reminders (催办) and the escalation ladder (督办) under Temporal's time-skipping server."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from core.cases.service import CaseService
from tests.conftest import make_settings, running_worker
from tests.workflows.support import (
    DISPATCHER,
    HANDLER,
    SUPERVISOR,
    accepted_case,
    dispatched_case,
    named,
    service_for,
    serving,
    state_of,
)
from workflows.case.workflow import CaseWorkflow
from workflows.contracts import CaseEvent, Command, Status
from workflows.shared.workcal import CST, WorkCalendar

pytestmark = pytest.mark.asyncio(loop_scope="session")
CAL = WorkCalendar()


async def timeline(handle: WorkflowHandle) -> list[CaseEvent]:
    return await handle.query(CaseWorkflow.get_timeline)


def fired_between(at: datetime, due: datetime | None, before: datetime) -> bool:
    """An alarm due at `due` fired in its own slot: never early, and (however loaded the host,
    its timer can fire late) before the next instant anything was scheduled for."""
    return due is not None and due <= at < before


async def test_an_ignored_case_climbs_to_the_city_and_stays_there(
    ts_env: WorkflowEnvironment, service: CaseService
) -> None:
    async with serving(service):
        handle, state = await dispatched_case(service)  # 宁海路街道 holds it: 鼓楼区 → 南京市
        assert [u.id for u in state.escalation_chain] == ["gl", "nj"]
        await ts_env.sleep(timedelta(weeks=3))
        events = await timeline(handle)
        state = await state_of(handle)

    rungs = named(events, "escalate")
    assert [(e.payload["level"], e.payload["unit"]) for e in rungs] == [(1, "gl"), (2, "nj")]
    assert [e.payload["priority"] for e in rungs] == ["urgent", "critical"]
    overdue = named(events, "overdue")[0]
    due = state.clock.due_at
    assert due is not None
    # 鼓楼区 gets 4 working hours, 南京市 one working day, then a daily report for the city.
    second = CAL.add_working_minutes(due, 4 * 60)
    first_report = CAL.add_working_minutes(second, 540)
    day = timedelta(days=1)
    reports = named(events, "escalation_report")
    assert len(reports) >= 10
    # The first rung is climbed as the deadline passes, in the same step as the overdue mark.
    assert rungs[0].at == overdue.at and fired_between(overdue.at, due, second)
    assert fired_between(rungs[1].at, second, first_report)
    assert all(
        fired_between(r.at, first_report + i * day, first_report + (i + 1) * day)
        for i, r in enumerate(reports)
    )
    # Each rung counts from the instant it was due, not from when its timer fired: the next
    # report is due exactly one day after the last one was.
    assert state.clock.next_escalation_at == first_report + len(reports) * day
    assert all(e.payload["notify"] == ["nj"] for e in reports)
    assert state.clock.escalation_level == 2 and state.escalated_to is not None
    assert state.escalated_to.id == "nj" and state.priority == "critical"


def next_plain_friday(after: date) -> date:
    """A Friday whose weekend is a plain weekend (no make-up working day)."""
    day = after + timedelta(days=(4 - after.weekday()) % 7 or 7)
    while True:
        try:
            weekend_works = any(chinese_calendar.is_workday(day + timedelta(d)) for d in (1, 2))
        except NotImplementedError:  # a year the package does not know: a plain weekend
            weekend_works = False
        if not weekend_works:
            return day
        day += timedelta(days=7)


async def test_reminders_fall_on_working_time_across_a_weekend_and_a_holiday(
    ts_env: WorkflowEnvironment, sqlite_db: str, task_queue: str, tmp_path: Path
) -> None:
    now = await ts_env.get_current_time()
    friday = next_plain_friday(now.astimezone(CST).date() + timedelta(days=1))
    monday = friday + timedelta(days=3)
    calendar_file = tmp_path / "calendar.txt"
    calendar_file.write_text(f"-{monday.isoformat()}  # a public holiday\n")
    settings = make_settings(sqlite_db, ts_env.client, task_queue)
    service = service_for(
        ts_env, sqlite_db, settings.model_copy(update={"calendar_file": calendar_file})
    )
    start = datetime.combine(friday, datetime.min.time(), CST).replace(hour=16)
    await ts_env.sleep(start - now)
    async with running_worker(service.client, task_queue, service.sessions):
        handle, state = await dispatched_case(service)
        await ts_env.sleep(timedelta(days=6))
        events = await timeline(handle)

    tuesday = friday + timedelta(days=4)  # Sat, Sun off; Monday declared a holiday
    at = lambda h, m: datetime.combine(tuesday, datetime.min.time(), CST).replace(hour=h, minute=m)  # noqa: E731
    # The clock starts when the case is dispatched, a little after 16:00 on Friday (how much
    # depends on the host); working time counts that offset to the microsecond.
    assert state.clock.started_at is not None
    late = state.clock.started_at - start
    assert timedelta(0) <= late < timedelta(minutes=90)  # still within Friday's working hours
    # 1 working day (540 min) to accept: 90 min on Friday, 450 on Tuesday → due 16:00.
    due = at(16, 0) + late
    assert state.clock.due_at == due
    expected = [at(13, 45) + late, at(15, 6) + late]  # 75 % and 90 % of the limit used up
    assert state.clock.reminders_at == expected
    reminders = [e.at for e in named(events, "remind")]
    assert len(reminders) == 2
    # Each reminder fires at its instant or later, never early, and before the next one is due.
    assert expected[0] <= reminders[0] < expected[1] <= reminders[1] < due
    assert all(e.payload["notify"] == ["gl-nhl"] for e in named(events, "remind"))


async def test_no_reminder_or_escalation_after_the_stage_is_left(
    ts_env: WorkflowEnvironment, service: CaseService
) -> None:
    async with serving(service):
        handle, _ = await accepted_case(service)
        await handle.execute_update(
            CaseWorkflow.submit_feedback, Command(actor=HANDLER, note="完成")
        )
        await ts_env.sleep(timedelta(days=2))  # long past the accept and handle limits
        events = await timeline(handle)
    late = [e for e in events if e.action in ("remind", "overdue", "escalate")]
    assert all(e.payload.get("stage") in (None, "verify") for e in late)
    assert all(e.to_status == Status.VERIFYING for e in late)


async def test_de_escalation_and_extension_reset_the_ladder(
    ts_env: WorkflowEnvironment, service: CaseService
) -> None:
    async with serving(service):
        handle, state = await dispatched_case(service)
        await ts_env.sleep(state.clock.due_at - state.clock.started_at + timedelta(minutes=1))  # type: ignore[operator]
        assert (await state_of(handle)).clock.escalation_level == 1
        down = await handle.execute_update(
            CaseWorkflow.de_escalate, Command(actor=SUPERVISOR, reason="已协调，暂缓升级")
        )
        assert down.clock.escalation_level == 0 and down.clock.overdue
        extended = await handle.execute_update(
            CaseWorkflow.extend_deadline, Command(actor=SUPERVISOR, reason="雨天", hours=9)
        )
        assert not extended.clock.overdue and extended.clock.escalation_level == 0
        assert extended.clock.due_at == CAL.add_working_minutes(state.clock.due_at, 540)  # type: ignore[arg-type]


async def test_a_parked_case_is_reviewed_on_its_date(
    ts_env: WorkflowEnvironment, service: CaseService
) -> None:
    async with serving(service):
        handle, _ = await accepted_case(service)
        review = await ts_env.get_current_time() + timedelta(days=7)
        parked = await handle.execute_update(
            CaseWorkflow.park, Command(actor=DISPATCHER, reason="待产权认定", review_at=review)
        )
        assert parked.review_at == review
        await ts_env.sleep(timedelta(days=10))
        events = await timeline(handle)
        state = await state_of(handle)
    reviewed = named(events, "park_review")
    # Reviewed once, on its date: never before it, and not a day late.
    assert len(reviewed) == 1 and fired_between(reviewed[0].at, review, review + timedelta(days=1))
    assert reviewed[0].payload["notify"] == ["gl", "gl-nhl"]
    assert state.status == Status.PARKED and not named(events, "overdue")


async def test_a_category_sets_its_own_reminders(
    ts_env: WorkflowEnvironment, service: CaseService
) -> None:
    async with serving(service):
        _, state = await dispatched_case(service, "manhole_cover")  # 部件: 鼓楼区水务局 holds it
    clock = state.clock
    assert state.assigned_unit is not None and state.assigned_unit.id == "gl-dept-water"
    assert clock.limit_minutes == 60  # 签收 within one working hour
    start = clock.started_at
    assert start is not None
    assert clock.reminders_at == [
        CAL.add_working_minutes(start, 30),  # at half time, not the default 75 %
        CAL.add_working_minutes(start, 45),
    ]
