"""The whistle projection and the rating it takes from the case's events (SQLite, PostgreSQL)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import func, select

from activities.case import CaseActivities
from activities.whistle import WhistleActivities
from core.db import SessionFactory, session_scope
from core.models import CaseEventRecord, InboxItem, WhistleRecord
from tests.activities.test_case import snapshot
from workflows.contracts import (
    SYSTEM,
    CaseEvent,
    RecordEventsInput,
    RecordWhistleInput,
    Status,
    WhistleSnapshot,
)
from workflows.shared.workcal import CST

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=CST)
WID = "whistle-X1-1-gl-dept-police"


def whistle(seq: int, step: str) -> WhistleSnapshot:
    return WhistleSnapshot(
        id=WID,
        case_id="case-X1",
        ticket="X1",
        title="占道经营",
        round=1,
        kind="work_push",
        dept_id="gl-dept-police",
        dept_name="鼓楼区公安分局",
        blower_unit_id="gl-nhl",
        blower_unit_name="宁海路街道",
        district_id="gl",
        street_id="gl-nhl",
        need="到场",
        step=step,
        summoned_at=T0,
        sign_due=T0 + timedelta(hours=1),
        contact_due=T0 + timedelta(hours=24),
        report_due=T0 + timedelta(days=3),
        due_at=T0 + timedelta(hours=1),
        signed_at=T0 + timedelta(minutes=10) if seq > 1 else None,
        contacted_at=None,
        reported_at=None,
        signed_in_time=True if seq > 1 else None,
        reported_in_time=None,
        overdue=False,
        escalation_level=0,
        closed_reason="",
        last_seq=seq,
    )


def event(seq: int, action: str, **payload: object) -> CaseEvent:
    at = T0 + timedelta(minutes=seq)
    return CaseEvent(seq, at, action, SYSTEM, "summoned", "summoned", payload=dict(payload))


def test_a_whistle_projects_its_timeline_inbox_and_row_once(sessions: SessionFactory) -> None:
    acts = WhistleActivities(sessions)
    first = RecordWhistleInput(
        whistle(1, "summoned"), [event(1, "summon", notify=["gl-dept-police"])]
    )
    assert acts.write_whistle(first) == 1
    assert acts.write_whistle(first) == 0  # a retry writes nothing twice
    signed = RecordWhistleInput(whistle(2, "signed"), [event(2, "sign", notify=["gl-nhl"])])
    assert acts.write_whistle(signed) == 1
    acts.write_whistle(first)  # a stale snapshot arriving late
    with session_scope(sessions) as session:
        row = session.get(WhistleRecord, WID)
        inbox = session.exec(select(InboxItem).where(InboxItem.case_id == WID)).all()
        n = session.exec(
            select(func.count()).select_from(CaseEventRecord).where(CaseEventRecord.case_id == WID)
        ).one()
    assert row is not None and (row.step, row.signed_in_time, row.last_seq) == ("signed", True, 2)
    assert n == 2
    assert sorted((i.unit_id, i.kind, i.title) for i in inbox) == [
        ("gl-dept-police", "summon", "吹哨报到：占道经营"),
        ("gl-nhl", "sign", "吹哨报到：占道经营"),
    ]


def test_a_rating_lands_on_the_whistles_row_whichever_is_written_first(
    sessions: SessionFactory,
) -> None:
    rate = event(9, "whistle_rate", whistle_id=WID, score=4, note="及时", notify=["gl-dept-police"])
    case = RecordEventsInput(snapshot(9, Status.HANDLING), [rate])
    CaseActivities(sessions).write_case(case)  # before the whistle's own row
    WhistleActivities(sessions).write_whistle(RecordWhistleInput(whistle(2, "signed"), []))
    CaseActivities(sessions).write_case(case)  # a retry repeats it harmlessly
    with session_scope(sessions) as session:
        row = session.get(WhistleRecord, WID)
    assert row is not None and (row.rating, row.rating_note, row.step) == (4, "及时", "signed")
    assert row.dept_id == "gl-dept-police" and row.rated_at is not None
