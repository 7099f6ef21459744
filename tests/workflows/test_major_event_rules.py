"""Pure rules of a major event, without Temporal: grades, lead, reporting deadlines, phases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from workflows.contracts import Actor, Location, Role, Unit
from workflows.major_event import rules
from workflows.major_event.contracts import (
    Classification,
    MajorEventPolicy,
    MajorEventState,
    Phase,
)
from workflows.shared.workcal import CST

CITY, GULOU = Unit("nj", "南京市", "city"), Unit("gl", "鼓楼区", "district")
POLICY = MajorEventPolicy()
BOSS = Actor("supervisor1", "市督办员", Role.SUPERVISOR, "nj")


def event(grade: str, phase: Phase = Phase.RECEIVED) -> MajorEventState:
    at = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    return MajorEventState(
        event_id="major-event-ME-1",
        ticket="ME-1",
        title="鼓楼区暴雨内涝",
        classification=Classification("natural_disaster", "", grade),
        location=Location(unit_id="gl-nhl", path=["nj", "gl", "gl-nhl"], district_id="gl"),
        city=CITY,
        district=GULOU,
        received_at=at,
        phase=phase.value,
        reports=rules.first_reports(grade, at, POLICY),
    )


def test_the_lead_follows_the_grade() -> None:
    assert [rules.lead_unit(g, POLICY, CITY, GULOU).id for g in ("I", "II", "III", "IV")] == [
        "nj",
        "nj",
        "gl",
        "gl",
    ]
    city_leads_all = MajorEventPolicy(lead_level={"III": "city"})
    assert rules.lead_unit("III", city_leads_all, CITY, GULOU).id == "nj"


def test_first_report_deadlines_per_grade() -> None:
    for grade, expected in {
        "I": {"first_phone": 15, "first_written": 35},
        "II": {"first_phone": 15, "first_written": 35},
        "III": {"first_written": 60},
        "IV": {"first_written": 360},
    }.items():
        e = event(grade)
        dues = {r.kind: r.clock.due_at - e.received_at for r in e.reports}  # type: ignore[operator]
        assert dues == {k: timedelta(minutes=m) for k, m in expected.items()}


def test_progress_slots_are_8_and_17_china_time_across_midnight() -> None:
    evening = datetime(2026, 12, 2, 18, 30, tzinfo=CST)
    assert rules.next_progress_slot(evening, POLICY) == datetime(2026, 12, 3, 8, 0, tzinfo=CST)
    morning = datetime(2026, 12, 3, 8, 0, tzinfo=CST)
    assert rules.next_progress_slot(morning, POLICY) == datetime(2026, 12, 3, 17, 0, tzinfo=CST)


def test_progress_reports_only_while_responding_and_for_grade_three_and_up() -> None:
    now = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)
    assert not rules.roll_progress(event("III", Phase.ASSESSED), now, POLICY)
    assert not rules.roll_progress(event("IV", Phase.RESPONDING), now, POLICY)
    responding = event("III", Phase.RESPONDING)
    assert rules.roll_progress(responding, now, POLICY)
    assert not rules.roll_progress(responding, now, POLICY)  # one slot ahead at a time


def test_phases_and_roles() -> None:
    handler = Actor("handler_nhl", "", Role.HANDLER, "gl-nhl")
    assert rules.check(event("III"), "activate", BOSS) is not None  # assess first
    assert rules.check(event("III", Phase.ASSESSED), "activate", BOSS) is None
    refused = rules.check(event("III", Phase.ASSESSED), "activate", handler)
    assert refused is not None and refused.kind == "forbidden"
    assert rules.check(event("III", Phase.CLOSED), "regrade", BOSS) is not None


def test_regrade_moves_unmet_first_reports_only() -> None:
    e = event("III")
    e.reports[0].submitted_at = e.received_at + timedelta(minutes=30)
    e.classification.grade = "I"
    rules.regrade_reports(e, POLICY)
    kinds = sorted((r.kind, r.submitted_at is not None) for r in e.reports)
    assert kinds == [("first_phone", False), ("first_written", True)]
