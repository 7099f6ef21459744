"""The audit's own checks on made-up data: they count what they should, so a clean report
from the experiments means something."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import (
    HistoryEvent,
    TimerFiredEventAttributes,
    TimerStartedEventAttributes,
    WorkflowTaskCompletedEventAttributes,
)

from core.models import CaseEventRecord
from tests.faults.audit import Report, _compare_events, _pending_timers
from workflows.contracts import Actor, CaseEvent, Role

pytestmark = pytest.mark.faults
T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
HANDLER = Actor("handler_nhl", "宁海路街道处置员", Role.HANDLER, "gl-nhl")


def event(seq: int, action: str, at: datetime) -> CaseEvent:
    return CaseEvent(seq, at, action, HANDLER, "DISPATCHED", "ACCEPTED", payload={"k": [1]})


def stored(e: CaseEvent) -> CaseEventRecord:
    a = e.actor
    return CaseEventRecord(
        case_id="case-X", seq=e.seq, at=e.at, action=e.action, actor_username=a.username,
        actor_name=a.name, actor_role=a.role, actor_unit_id=a.unit_id, from_status=e.from_status,
        to_status=e.to_status, reason=e.reason, payload=dict(e.payload),
    )  # fmt: skip


def test_events_missing_phantom_and_mismatched_are_counted() -> None:
    timeline = [event(1, "receive", T0), event(2, "accept", T0), event(3, "add_progress", T0)]
    late = event(2, "accept", T0 + timedelta(milliseconds=1))  # the same, a millisecond off
    rows = [stored(timeline[0]), stored(late), stored(event(4, "verify", T0))]
    report = Report("made up")
    _compare_events(report, "case-X", timeline, rows)
    assert (report.events_missing, report.events_mismatched, report.events_phantom) == (1, 1, 1)
    assert report.events_duplicated == 0
    assert "at: sql" in report.examples["events_mismatched"][0]


def test_identical_events_pass() -> None:
    timeline = [event(1, "receive", T0), event(2, "accept", T0)]
    report = Report("made up")
    _compare_events(report, "case-X", timeline, [stored(e) for e in timeline])
    assert report.bad() == {}


def recorded(event_id: int, kind: int, after_ms: int = 0, **attributes: object) -> HistoryEvent:
    when = Timestamp()
    when.FromDatetime(T0 + timedelta(milliseconds=after_ms))
    return HistoryEvent(event_id=event_id, event_type=kind, event_time=when, **attributes)  # type: ignore[arg-type]


def history(*, fired: bool) -> list[HistoryEvent]:
    """A workflow task started at T0 that set a one-hour timer, recorded 50 ms later."""
    task = WorkflowTaskCompletedEventAttributes(started_event_id=3)
    timer = TimerStartedEventAttributes(
        timer_id="1",
        start_to_fire_timeout=Duration(seconds=3600),
        workflow_task_completed_event_id=4,
    )
    events = [
        recorded(3, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED),
        recorded(
            4,
            EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
            40,
            workflow_task_completed_event_attributes=task,
        ),
        recorded(5, EventType.EVENT_TYPE_TIMER_STARTED, 50, timer_started_event_attributes=timer),
    ]
    if fired:
        done = TimerFiredEventAttributes(timer_id="1")
        events.append(
            recorded(6, EventType.EVENT_TYPE_TIMER_FIRED, timer_fired_event_attributes=done)
        )
    return events


def test_a_pending_timer_covers_the_instants_it_may_have_been_set_for() -> None:
    [(lo, hi)] = _pending_timers(history(fired=False))
    hour = timedelta(hours=1)
    assert (lo, hi) == (T0 + hour, T0 + hour + timedelta(milliseconds=50))
    assert _pending_timers(history(fired=True)) == []
