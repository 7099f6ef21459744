"""The access policy (core.access): its three readings agree, targets and personal data.

A case can be judged from the live workflow state (`scope_of_state`), from the read model row
(`scope_of_record`) or by the SQL clause lists use (`case_clause`). Here several hundred cases
of every shape — where they lie, who holds them, who took them, their whistles and merged
reports — are judged all three ways for every demo user, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from core import access
from core.db import SessionFactory, make_engine, session_factory, session_scope
from core.directory.org import as_unit, supervisors_of
from core.errors import CaseError
from core.models import CaseRecord, LinkedReportRecord, Unit, User, WhistleRecord
from tests.cases import case_state
from tests.conftest import DB_BACKENDS, demo_database
from workflows.contracts import (
    Actor,
    CaseInput,
    CasePolicy,
    CaseState,
    LinkedReport,
    Location,
    Role,
    WhistleMember,
    WhistleRound,
    WhistleSpec,
)

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PLACES = ["gl-nhl-c1-g2", "gl-hq-c1-g1", "xw-xwm-c1-g1", "nj"]
HOLDERS = ["", "gl-nhl", "gl-hq", "gl-dept-water", "xw-dept-water", "gl", "nj-dept-water"]
TAKERS = ["operator1", "dispatcher_xw", "grid_nhl", "public"]
WHISTLES = ["none", "summoned", "pending"]  # police summoned by 宁海路; urban waits for approval
LINKED = ["", "dispatcher_gl"]  # who took a report merged into the case


def _unit(session: Session, unit_id: str) -> Unit:
    row = session.get(Unit, unit_id)  # the identity map keeps it for the next lookup
    assert row is not None, unit_id
    return row


def _location(session: Session, unit_id: str) -> Location:
    ids = [p for p in _unit(session, unit_id).path.split("/") if p]
    levels = {i: _unit(session, i).level for i in ids}
    district = next((i for i in ids if levels[i] == "district"), "")
    street = next((i for i in ids if levels[i] == "street"), "")
    return Location(unit_id=unit_id, path=ids, district_id=district, street_id=street)


def _round(session: Session, kind: str, ticket: str) -> WhistleRound:
    dept = as_unit(_unit(session, "gl-dept-police" if kind == "summoned" else "gl-dept-urban"))
    blower = Actor("handler_nhl", "", Role.HANDLER, "gl-nhl")
    return WhistleRound(
        round=1,
        kind="work_push",
        kind_label="",
        need="到场",
        blower=blower,
        blower_unit=as_unit(_unit(session, "gl-nhl")),
        spec=WhistleSpec("work_push"),
        members=[WhistleMember(whistle_id=f"whistle-{ticket}-1-{dept.id}", unit=dept)],
        status="open" if kind == "summoned" else "pending_approval",
        summoned_at=NOW if kind == "summoned" else None,
    )


def _linked(taker: str, location: Location, ticket: str) -> LinkedReport:
    report = CaseInput(
        ticket=f"{ticket}-L",
        case_type="city_event",
        title="同一处垃圾",
        description="",
        category="exposed_garbage",
        category_name="暴露垃圾",
        category_kind="event",
        location=location,
        policy=CasePolicy(),
        reporter=Actor(taker, "", Role.DISPATCHER, ""),
    )
    return LinkedReport(report=report, linked_by=report.reporter, linked_at=NOW)


def _state(session: Session, n: int, shape: tuple[str, str, str, str, str]) -> CaseState:
    place, holder, taker, whistle, linked = shape
    ticket = f"AC-{n:04d}"
    location = _location(session, place)
    state = case_state(ticket, location=location, created_at=NOW, taken_by=taker)
    if holder:
        state.assigned_unit = as_unit(_unit(session, holder))
        state.escalation_chain = supervisors_of(session, holder)
    if whistle != "none":
        state.whistles.append(_round(session, whistle, ticket))
    if linked:
        state.linked_reports.append(_linked(linked, location, ticket))
    return state


def _project(session: Session, state: CaseState) -> None:
    """What the projection writes of the case (activities/case.py and whistle.py)."""
    session.add(CaseRecord(**dataclasses.asdict(state.snapshot())))
    for rnd in state.whistles:
        if rnd.summoned_at is None:
            continue  # a whistle workflow starts (and writes its row) once summoned
        for m in rnd.members:
            session.add(
                WhistleRecord(
                    id=m.whistle_id,
                    case_id=state.case_id,
                    ticket=state.ticket,
                    dept_id=m.unit.id,
                    blower_unit_id=rnd.blower_unit.id,
                )
            )
    for lr in state.linked_reports:
        session.add(
            LinkedReportRecord(
                ticket=lr.report.ticket,
                case_id=state.case_id,
                case_ticket=state.ticket,
                channel="hotline",
                title=lr.report.title,
                taken_by=lr.report.reporter.username,
                linked_at=lr.linked_at,
            )
        )


@pytest.fixture(scope="module", params=DB_BACKENDS)
def sessions(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SessionFactory]:
    """One database per backend for the module: the cases below are only read."""
    with demo_database(request.param, tmp_path_factory.mktemp("access")) as url:
        engine = make_engine(url)
        yield session_factory(engine)
        engine.dispose()


@pytest.fixture(scope="module")
def cases(sessions: SessionFactory) -> list[CaseState]:
    shapes = itertools.product(PLACES, HOLDERS, TAKERS, WHISTLES, LINKED)
    with session_scope(sessions) as session:
        states = [_state(session, n, shape) for n, shape in enumerate(shapes)]
        for state in states:
            _project(session, state)
    return states


def _users(sessions: SessionFactory) -> list[User]:
    with session_scope(sessions) as session:
        return list(session.exec(select(User).order_by(User.username)))


def test_live_state_read_model_and_sql_agree(
    sessions: SessionFactory, cases: list[CaseState]
) -> None:
    users = _users(sessions)
    assert len(users) == 18 and len(cases) == 4 * 7 * 4 * 3 * 2
    states = {s.case_id: access.scope_of_state(s) for s in cases}
    with session_scope(sessions) as session:
        records = {
            s.case_id: access.scope_of_record(session, session.get(CaseRecord, s.case_id))  # type: ignore[arg-type]
            for s in cases
        }
    seen_any = 0
    for user in users:
        with session_scope(sessions) as session:
            seen, there = access.case_clause(session, user), access.exact_clause(session, user)
            listed = set(session.exec(select(CaseRecord.id).where(seen)))
            exact = set(session.exec(select(CaseRecord.id).where(there)))
        for state in cases:
            where = (user.username, state.ticket)
            live = access.may_see_case(user, states[state.case_id])
            assert live == access.may_see_case(user, records[state.case_id]), where
            assert live == (state.case_id in listed), where
            on_site = access.may_see_exact_location(user, states[state.case_id])
            assert on_site == access.may_see_exact_location(user, records[state.case_id]), where
            assert on_site == (state.case_id in exact), where
            assert not on_site or live  # where exactly: only of a case one may see
            seen_any += live
    assert 0 < seen_any < len(users) * len(cases)


def test_what_each_kind_of_unit_sees(sessions: SessionFactory, cases: list[CaseState]) -> None:
    by_name = {u.username: u for u in _users(sessions)}

    def seen(username: str) -> list[CaseState]:
        return [s for s in cases if access.may_see_case(by_name[username], s)]

    def tickets(username: str) -> set[str]:
        return {s.ticket for s in seen(username)}

    # 玄武门街道 sees what lies in its street (it holds none of these): no 鼓楼 case.
    assert seen("handler_xwm")
    assert all(s.location.street_id == "xw-xwm" for s in seen("handler_xwm"))
    assert seen("admin") == []  # works no case, reads none
    # A department: what it holds, or what a whistle summoned it to — not a pending whistle.
    water = seen("handler_gl_water")
    assert water and all(s.assigned_unit and s.assigned_unit.id == "gl-dept-water" for s in water)
    police = seen("handler_gl_police")
    assert police and all(s.whistles and s.whistles[0].summoned_at for s in police)
    assert seen("handler_gl_urban") == []
    # A district sees what its departments hold, wherever it lies...
    held_by_xw = [
        s
        for s in cases
        if s.location.district_id == "gl"
        and s.assigned_unit is not None
        and s.assigned_unit.id == "xw-dept-water"
    ]
    assert held_by_xw and {s.ticket for s in held_by_xw} <= tickets("supervisor_xw")
    # ...but where exactly such a case is stays with those on its ground (and its taker).
    dispatcher = by_name["dispatcher_xw"]
    not_taken = [s for s in held_by_xw if s.taken_by != "dispatcher_xw"]
    assert not_taken and not any(access.may_see_exact_location(dispatcher, s) for s in not_taken)
    # A taker sees what they took, wherever it lies.
    taken = {s.ticket for s in cases if s.taken_by == "dispatcher_xw"}
    assert taken and taken <= tickets("dispatcher_xw")
    # The city sees everything.
    everything = {s.ticket for s in cases}
    assert tickets("supervisor1") == tickets("operator1") == everything

    # Without a unit or a person's name, nothing.
    nobody = Actor(username="", name="", role=Role.SUPERVISOR, unit_id="")
    public = Actor(username="public", name="", role=Role.HANDLER, unit_id="")
    assert not any(access.may_see_case(a, s) for a in (nobody, public) for s in cases)
    with session_scope(sessions) as session:
        for actor in (nobody, public):
            query = select(CaseRecord.id).where(access.case_clause(session, actor))
            assert session.exec(query).first() is None


# (sender, target unit, may send): dispatch, reassignment and whistle summons alike.
TARGETS = [
    ("dispatcher_gl", "gl-nhl", True),
    ("dispatcher_gl", "gl-dept-water", True),
    ("dispatcher_gl", "gl", True),  # 兜底: the district keeps it
    ("dispatcher_gl", "xw-dept-water", False),
    ("dispatcher_gl", "nj", False),
    ("dispatcher_gl", "nj-dept-water", False),
    ("supervisor_xw", "xw-xwm", True),
    ("supervisor_xw", "gl-nhl", False),
    ("handler_nhl", "gl-dept-police", True),  # a street summons its district's departments
    ("handler_nhl", "xw-dept-police", False),
    ("handler_nhl", "nj-dept-police", False),
    ("dispatcher1", "xw-dept-water", True),  # the city anywhere
    ("dispatcher1", "nj", True),
]


def test_targets_stay_within_the_district(sessions: SessionFactory) -> None:
    with session_scope(sessions) as session:
        for username, target, allowed in TARGETS:
            user = session.exec(select(User).where(User.username == username)).one()
            unit = _unit(session, target)
            if allowed:
                access.check_target(session, user, unit, "unit_id")
                continue
            with pytest.raises(CaseError) as refused:
                access.check_target(session, user, unit, "unit_id")
            assert refused.value.status == 403 and refused.value.field == "unit_id"
            assert f"unit {target} is outside the district of unit" in refused.value.reason


def test_personal_information_is_for_the_taker_and_supervisors_of_the_area(
    sessions: SessionFactory, cases: list[CaseState]
) -> None:
    by_name = {u.username: u for u in _users(sessions)}
    in_gl = next(s for s in cases if s.location.district_id == "gl" and s.taken_by == "grid_nhl")
    assert access.may_see_personal(by_name["supervisor_gl"], in_gl)
    assert access.may_see_personal(by_name["supervisor1"], in_gl)
    assert not access.may_see_personal(by_name["supervisor_xw"], in_gl)
    assert access.may_see_personal(by_name["grid_nhl"], in_gl)
    assert not access.may_see_personal(by_name["operator1"], in_gl)
    assert not access.may_see_personal(by_name["dispatcher_gl"], in_gl)
    # A merged report's reporter: that report's taker, not the case's.
    assert access.may_see_personal(by_name["dispatcher_gl"], in_gl, taken_by="dispatcher_gl")
    assert not access.may_see_personal(by_name["grid_nhl"], in_gl, taken_by="dispatcher_gl")
    with session_scope(sessions) as session:
        record = session.get(CaseRecord, in_gl.case_id)
    assert record is not None
    assert access.may_see_personal(by_name["supervisor_gl"], record)
    assert not access.may_see_personal(by_name["supervisor_xw"], record)
