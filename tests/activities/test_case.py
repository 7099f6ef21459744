"""The projection and routing activities against real databases (SQLite, and PostgreSQL)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, func, select
from temporalio.testing import ActivityEnvironment

from activities.case import CaseActivities
from core.cases import audit
from core.cases.service import ActionRequest, CaseService, IntakeRequest
from core.db import SessionFactory, make_engine, session_factory, session_scope
from core.models import CaseEventRecord, CaseRecord, InboxItem, User
from tests.cases import GRID, case_state
from tests.conftest import make_settings, projected, running_worker, user_named
from workflows.contracts import (
    SYSTEM,
    CaseEvent,
    CaseSnapshot,
    Location,
    RecordEventsInput,
    RouteInput,
    Status,
)
from workflows.shared.workcal import CST

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=CST)


def snapshot(seq: int, status: Status) -> CaseSnapshot:
    return case_state(
        "X1",
        title="t",
        status=status,
        created_at=T0,
        updated_at=T0 + timedelta(minutes=seq),
        last_seq=seq,
    ).snapshot()


def event(seq: int, to: Status) -> CaseEvent:
    return CaseEvent(
        seq=seq,
        at=T0 + timedelta(minutes=seq),
        action=f"a{seq}",
        actor=SYSTEM,
        from_status="",
        to_status=to.value,
    )


def count_events(sessions: SessionFactory) -> int:
    with session_scope(sessions) as session:
        return session.exec(select(func.count()).select_from(CaseEventRecord)).one()


def stored(sessions: SessionFactory, case_id: str = "case-X1") -> list[CaseEventRecord]:
    with session_scope(sessions) as session:
        query = select(CaseEventRecord).where(CaseEventRecord.case_id == case_id)
        return list(session.exec(query.order_by(CaseEventRecord.seq)))  # type: ignore[arg-type]


def test_a_retried_batch_converges_and_a_stale_one_changes_nothing(
    sessions: SessionFactory,
) -> None:
    acts = CaseActivities(sessions)
    first = RecordEventsInput(
        snapshot(2, Status.REGISTERED), [event(1, Status.RECEIVED), event(2, Status.REGISTERED)]
    )
    assert acts.write_case(first) == 2
    assert acts.write_case(first) == 0  # a retry writes nothing twice
    later = RecordEventsInput(snapshot(3, Status.DISPATCHED), [event(3, Status.DISPATCHED)])
    assert acts.write_case(later) == 1
    assert acts.write_case(first) == 0  # an attempt that outlived its timeout, arriving late
    with session_scope(sessions) as session:
        row = session.get(CaseRecord, "case-X1")
        assert row is not None and (row.status, row.last_seq) == ("DISPATCHED", 3)
        assert row.created_at == T0 and row.created_at.tzinfo is not None
    assert [(e.seq, e.action, e.to_status) for e in stored(sessions)] == [
        (1, "a1", "RECEIVED"),
        (2, "a2", "REGISTERED"),
        (3, "a3", "DISPATCHED"),
    ]


def test_the_workflows_content_wins_over_what_is_stored(sessions: SessionFactory) -> None:
    """A row written from a task Temporal never recorded (the old local-activity path) is
    overwritten by the recorded event of the same seq: its content, its time, its status."""
    acts = CaseActivities(sessions)
    acts.write_case(RecordEventsInput(snapshot(1, Status.RECEIVED), [event(1, Status.RECEIVED)]))
    phantom = event(2, Status.ACCEPTED)
    phantom.action, phantom.at = "accept", T0 + timedelta(seconds=16)
    acts.write_case(RecordEventsInput(snapshot(2, Status.ACCEPTED), [phantom]))
    real = event(2, Status.DISPATCHED)
    acts.write_case(RecordEventsInput(snapshot(2, Status.DISPATCHED), [real]))
    rows = stored(sessions)
    assert [(e.seq, e.action, e.to_status, e.at) for e in rows] == [
        (1, "a1", "RECEIVED", T0 + timedelta(minutes=1)),
        (2, "a2", "DISPATCHED", T0 + timedelta(minutes=2)),
    ]
    with session_scope(sessions) as session:
        row = session.get(CaseRecord, "case-X1")
    assert row is not None and row.status == "DISPATCHED"
    assert audit.verify(rows) is None  # the chain follows the overwrite


def test_nothing_is_kept_past_the_workflows_last_event(sessions: SessionFactory) -> None:
    """After a reset took the case back, events and inbox items past its last seq go."""
    acts = CaseActivities(sessions)
    notify = event(3, Status.DISPATCHED)
    notify.payload = {"notify": ["gl-nhl"]}
    events = [event(1, Status.RECEIVED), event(2, Status.REGISTERED), notify]
    acts.write_case(RecordEventsInput(snapshot(3, Status.DISPATCHED), events))
    with session_scope(sessions) as session:  # the reset rewinds the row (issue 11 does it)
        row = session.get(CaseRecord, "case-X1")
        assert row is not None
        row.last_seq = 1
    redo = event(2, Status.VOIDED)
    acts.write_case(RecordEventsInput(snapshot(2, Status.VOIDED), [redo]))
    assert [(e.seq, e.to_status) for e in stored(sessions)] == [(1, "RECEIVED"), (2, "VOIDED")]
    with session_scope(sessions) as session:
        assert session.exec(select(func.count()).select_from(InboxItem)).one() == 0


def test_the_hash_chain_names_an_edited_row(sessions: SessionFactory) -> None:
    acts = CaseActivities(sessions)
    events = [event(i, Status.REGISTERED) for i in (1, 2, 3)]
    acts.write_case(RecordEventsInput(snapshot(3, Status.REGISTERED), events[:2]))
    acts.write_case(RecordEventsInput(snapshot(3, Status.REGISTERED), events[2:]))
    assert audit.verify(stored(sessions)) is None
    with session_scope(sessions) as session:
        row = session.exec(select(CaseEventRecord).where(CaseEventRecord.seq == 2)).one()
        row.reason = "edited afterwards"
    broken = audit.verify(stored(sessions))
    assert broken is not None and (broken.seq, broken.problem) == (2, "content")


@pytest.mark.parametrize(
    ("category", "location", "unit", "rule"),
    [
        ("manhole_cover", GRID, "gl-dept-water", "owner_first"),  # 部件: owner first
        ("exposed_garbage", GRID, "gl-nhl", "locality_first"),  # 事件: locality first
        ("hotline_general", GRID, "gl-nhl", "locality_first"),
        (
            "exposed_garbage",
            Location(unit_id="gl", path=["nj", "gl"], district_id="gl"),
            "gl-dept-urban",
            "owner_after_locality",
        ),
        (
            "hotline_general",
            Location(unit_id="gl", path=["nj", "gl"], district_id="gl"),
            "gl",
            "district_fallback",
        ),
    ],
)
def test_routing_rules(
    sessions: SessionFactory, category: str, location: Location, unit: str, rule: str
) -> None:
    result = ActivityEnvironment().run(
        CaseActivities(sessions).route_case,
        RouteInput(category=category, category_kind="", location=location),
    )
    assert result.unit is not None and (result.unit.id, result.rule) == (unit, rule)


class Outage:
    """A database that is away while `down` is set: sessions fail as on a lost connection."""

    def __init__(self, factory: SessionFactory) -> None:
        self.factory, self.down = factory, False

    def __call__(self) -> Session:
        if self.down:
            raise OperationalError("connect", {}, ConnectionRefusedError("database is down"))
        return self.factory()


@pytest.mark.asyncio(loop_scope="session")
async def test_projection_catches_up_after_an_outage(
    dev_env, sqlite_db: str, task_queue: str
) -> None:  # type: ignore[no-untyped-def]
    sessions = session_factory(make_engine(sqlite_db))
    outage = Outage(sessions)
    service = CaseService(
        dev_env.client, sessions, make_settings(sqlite_db, dev_env.client, task_queue)
    )

    def user(name: str) -> User:
        return user_named(sessions, name)

    async with running_worker(dev_env.client, task_queue, outage):
        state = await service.intake(
            user("operator1"),
            IntakeRequest(
                title="暴露垃圾", category="exposed_garbage", location_unit_id="gl-nhl-c1-g1"
            ),
        )
        await projected(sessions, state.case_id, state.last_seq)
        outage.down = True
        # The case moves on while the read model cannot be written.
        state = await service.act(user("handler_nhl"), state.ticket, "accept", ActionRequest())
        state = await service.act(
            user("handler_nhl"), state.ticket, "add_progress", ActionRequest(note="到场")
        )
        assert state.status == Status.HANDLING
        await asyncio.sleep(1.5)
        with session_scope(sessions) as session:
            row = session.get(CaseRecord, state.case_id)
            assert row is not None and row.status == "DISPATCHED"  # behind, not broken
        outage.down = False
        row = await projected(sessions, state.case_id, state.last_seq)
        assert (row.status, row.last_seq) == ("HANDLING", state.last_seq)
        with session_scope(sessions) as session:
            seqs = session.exec(
                select(CaseEventRecord.seq).where(CaseEventRecord.case_id == state.case_id)
            ).all()
        assert sorted(seqs) == list(range(1, state.last_seq + 1))
