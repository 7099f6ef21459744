"""Stage facts and case facts from a case's events; the projection and the backfill agree."""

from __future__ import annotations

from datetime import datetime, timedelta

from alembic import command
from sqlalchemy import select

from activities.case import CaseActivities
from core.db import SessionFactory, make_engine, session_factory, session_scope
from core.measures.facts import derive
from core.measures.store import FACTS, STAGES, backfill
from tests.activities.test_case import snapshot
from tests.conftest import migrations
from tests.measures.story import Story
from workflows.contracts import RecordEventsInput, Status
from workflows.shared.workcal import CST

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=CST)
DUE = (T0 + timedelta(minutes=100)).isoformat()


def long_story() -> Story:
    """Returned once, accepted late, extended, reworked, reopened by an unhappy caller."""
    s = Story(T0).opened("u1").at(10, "return_case").at(12, "dispatch", unit="u2")
    s.at(20, "remind", due_at=DUE).at(100, "overdue", due_at=DUE).at(100, "escalate", level=1)
    s.at(110, "accept").at(120, "extend_deadline", hours=2, due_at=DUE).at(150, "submit_feedback")
    s.verified(160, passed=False).at(170, "submit_feedback").verified(180)
    s.callback(200, "unsatisfied", "REWORK").at(210, "submit_feedback").verified(220)
    return s.callback(240, "satisfied", resolved=True)


def test_stages_follow_the_workflows_clock() -> None:
    stages, _ = derive(long_story().events)
    got = [
        (s.stage, s.unit_id, s.met, s.returns, s.reworks, s.reminders, s.escalations, s.extensions)
        for s in stages
    ]
    assert got == [
        ("dispatch", "u1", True, 0, 0, 0, 0, 0),  # the holder as it ended
        ("accept", "u1", True, 1, 0, 0, 0, 0),  # returned in time
        ("dispatch", "u2", True, 0, 0, 0, 0, 0),
        ("accept", "u2", False, 0, 0, 1, 1, 0),  # accepted after its deadline
        ("handle", "u2", True, 0, 0, 0, 0, 1),
        ("verify", "u2", True, 0, 1, 0, 0, 0),  # sent back for rework
        ("handle", "u2", True, 0, 0, 0, 0, 0),
        ("verify", "u2", True, 0, 0, 0, 0, 0),
        ("callback", "u2", True, 0, 1, 0, 0, 0),  # 不满意: 重办
        ("handle", "u2", True, 0, 0, 0, 0, 0),
        ("verify", "u2", True, 0, 0, 0, 0, 0),
        ("callback", "u2", True, 0, 0, 0, 0, 0),
    ]
    assert stages[3].due_at == T0 + timedelta(minutes=100)
    assert stages[-1].ended_at == T0 + timedelta(minutes=240)


def test_case_facts_count_the_whole_loop() -> None:
    _, f = derive(long_story().events)
    assert f["received_at"] == T0 and f["dispatched_at"] == T0 + timedelta(minutes=2)
    assert (f["first_unit_id"], f["accept_met"], f["feedback_met"]) == ("u1", True, True)
    assert f["closed_at"] == T0 + timedelta(minutes=220)  # the last closure counts
    assert (f["closed_on_time"], f["handling_minutes"]) == (True, 220)
    assert (f["satisfaction"], f["resolved"], f["unreachable"], f["callbacks"]) == (
        "satisfied",
        True,
        False,
        2,
    )
    assert (f["returns"], f["reworks"], f["extensions"], f["escalations"]) == (1, 2, 1, 1)
    assert f["overdue"] and "first_contact_at" not in f  # nothing records a contact yet


def test_an_open_case_is_not_closed_and_its_overdue_stage_failed() -> None:
    s = Story(T0).opened().at(5, "accept").at(50, "overdue", due_at=DUE)
    stages, f = derive(s.at(60, "park", reason="x").at(70, "unpark").events)
    assert [(x.stage, x.met, x.ended_at) for x in stages][-1] == ("handle", False, None)
    assert f.get("closed_at") is None and f["closed_on_time"] is None


def _write(acts: CaseActivities, events: list, status: Status) -> None:
    snap = snapshot(len(events), status)
    acts.write_case(RecordEventsInput(snap, events))


def _rows(sessions: SessionFactory) -> tuple[list, list]:
    with session_scope(sessions) as session:
        stages = list(session.execute(select(STAGES).order_by(STAGES.c.n)))
        facts = list(session.execute(select(FACTS)))
    return stages, facts


def test_projection_in_batches_and_the_backfill_write_the_same_rows(
    sessions: SessionFactory,
) -> None:
    events = long_story().events
    acts = CaseActivities(sessions)
    _write(acts, events[:7], Status.DISPATCHED)
    _write(acts, events, Status.ARCHIVED)
    once = _rows(sessions)
    _write(acts, events, Status.ARCHIVED)  # a retried batch
    assert _rows(sessions) == once and len(once[0]) == 12
    with session_scope(sessions) as session:
        session.execute(STAGES.delete())
        session.execute(FACTS.delete())
        assert backfill(session.connection()) == 1
    assert _rows(sessions) == once
    assert once[1][0].satisfaction == "satisfied" and once[1][0].district_id == "gl"


def test_migration_0014_backfills_the_cases_already_projected(sqlite_db: str) -> None:
    """Down to 0012 (the tables go) and up again: the backfill derives the same rows."""
    sessions = session_factory(make_engine(sqlite_db))
    _write(CaseActivities(sessions), long_story().events, Status.ARCHIVED)
    before = _rows(sessions)
    cfg = migrations(sqlite_db)
    command.downgrade(cfg, "0012")
    command.upgrade(cfg, "head")
    assert _rows(sessions) == before and len(before[0]) == 12


def test_the_backfill_pages_through_every_case(sessions: SessionFactory) -> None:
    acts = CaseActivities(sessions)
    for n in range(5):
        case_events = long_story().events
        snap = snapshot(len(case_events), Status.ARCHIVED)
        snap.id, snap.ticket = f"case-P{n}", f"P{n}"
        acts.write_case(RecordEventsInput(snap, case_events))
    with session_scope(sessions) as session:
        session.execute(STAGES.delete())
        session.execute(FACTS.delete())
        assert backfill(session.connection(), batch=2) == 5
    stages, facts = _rows(sessions)
    assert len(facts) == 5 and len(stages) == 5 * 12


def test_callback_outcomes_as_the_workflow_records_them() -> None:
    """`outcome` (workflows.contracts.CallbackOutcome) gives 已解决/未解决/联系不上 and contact;
    the citizen's own 评价 counts as the 回访."""

    def facts_after(action: str, **payload: object) -> dict[str, object]:
        s = Story(T0).opened("u1").at(5, "accept").at(10, "submit_feedback").verified(20)
        return derive(s.at(30, action, "ARCHIVED", **payload).events)[1]

    solved = facts_after("record_callback", rating="satisfied", outcome="solved")
    unsolved = facts_after("rate_by_citizen", rating="unsatisfied", outcome="unsolved")
    unreachable = facts_after("record_callback", rating="", outcome="unreachable")
    assert (solved["resolved"], solved["unreachable"], solved["callbacks"]) == (True, False, 1)
    assert solved["first_contact_at"] == T0 + timedelta(minutes=30)
    assert (unsolved["resolved"], unsolved["satisfaction"]) == (False, "unsatisfied")
    assert unsolved["first_contact_at"] is not None
    assert (unreachable["resolved"], unreachable["unreachable"]) == (None, True)
    assert unreachable.get("first_contact_at") is None
