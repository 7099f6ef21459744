"""The forces and equipment directory over SQLite and PostgreSQL: edits, allocation, release.

Cases are rows written straight into the read model; the workflow is a fake that records the
`record_resource` signals it is sent.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from sqlmodel import col, func, select
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from core.cases.service import CaseError, CaseService
from core.config import Settings
from core.db import SessionFactory, session_scope
from core.directory.release import release_for_case
from core.directory.service import (
    DirectoryService,
    EquipmentCreate,
    EquipmentUpdate,
    PersonCreate,
    PersonUpdate,
    TeamCreate,
    TeamUpdate,
)
from core.models import Allocation, CaseRecord, Equipment, Person, Team, User
from tests.cases import case_record
from tests.conftest import user_named
from workflows.contracts import ResourceNote


@dataclass
class FakeHandle:
    client: FakeClient
    case_id: str

    async def signal(self, name: str, arg: ResourceNote) -> None:
        if self.client.finished:
            raise RPCError("workflow execution already completed", RPCStatusCode.NOT_FOUND, b"")
        self.client.signals.append((self.case_id, name, arg))


@dataclass
class FakeClient:
    signals: list[tuple[str, str, ResourceNote]] = field(default_factory=list)
    finished: bool = False

    def get_workflow_handle(self, case_id: str) -> FakeHandle:
        return FakeHandle(self, case_id)


@pytest.fixture
def fake() -> FakeClient:
    return FakeClient()


@pytest.fixture
def directory(sessions: SessionFactory, fake: FakeClient) -> DirectoryService:
    cases = CaseService(cast(Client, fake), sessions, Settings(secret_key="test"))
    return DirectoryService(cases, user_named(sessions, "supervisor1"))  # reads every case


def make_case(
    sessions: SessionFactory,
    ticket: str,
    *,
    status: str = "ACCEPTED",
    unit: str = "gl-nhl",
    path: str = "/nj/gl/gl-nhl/gl-nhl-c1/gl-nhl-c1-g1/",
) -> str:
    now = datetime.now(UTC)
    case_id = f"case-{ticket}"
    with session_scope(sessions) as session:
        session.add(
            case_record(
                ticket,
                title="宁海路积水",
                category="waterlogging",
                category_name="道路积水",
                status=status,
                location_unit_id=path.strip("/").rsplit("/", 1)[-1],
                location_path=path,
                district_id="gl",
                street_id="gl-nhl",
                assigned_unit_id=unit,
                created_at=now,
                updated_at=now,
            )
        )
    return case_id


def equipment_id(sessions: SessionFactory, serial: str) -> int:
    with session_scope(sessions) as session:
        row = session.exec(select(Equipment).where(Equipment.serial == serial)).one()
        assert row.id is not None
        return row.id


def team_id(sessions: SessionFactory, name: str) -> int:
    with session_scope(sessions) as session:
        row = session.exec(select(Team).where(Team.name == name)).one()
        assert row.id is not None
        return row.id


def status_of(sessions: SessionFactory, serial: str) -> str:
    with session_scope(sessions) as session:
        return session.exec(select(Equipment.status).where(Equipment.serial == serial)).one()


def count(sessions: SessionFactory, model: Any) -> int:
    with session_scope(sessions) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def refused(err: pytest.ExceptionInfo[CaseError]) -> tuple[int, str, str]:
    return err.value.status, err.value.field, err.value.reason


# ---- the demo directory ----------------------------------------------------------------------
def test_demo_directory_is_seeded_once(directory: DirectoryService) -> None:
    teams = directory.list_teams("gl")
    assert {t.unit_id for t in teams} == {
        "gl-dept-water",
        "gl-dept-urban",
        "gl-dept-construction",
        "gl-nhl",
        "gl-hq",
    }
    assert all(2 <= len(t.people) <= 3 for t in teams)
    kit = {e.serial: e for e in directory.list_equipment("gl")}
    assert kit["苏A·W1001"].type == "抽水泵车" and kit["苏A·W1001"].status == "available"
    assert [e.serial for e in kit.values() if e.status == "repair"] == ["苏A·W1002"]
    assert directory.list_teams("xw") == []

    from core.demo.seed import seed_demo

    before = [count(directory.sessions, m) for m in (Team, Person, Equipment)]
    with session_scope(directory.sessions) as session:
        assert seed_demo(session)["teams"] == before[0]
    assert [count(directory.sessions, m) for m in (Team, Person, Equipment)] == before


# ---- edits -----------------------------------------------------------------------------------
def test_equipment_is_validated_and_changes_nothing_when_refused(
    directory: DirectoryService, sessions: SessionFactory
) -> None:
    water = user_named(sessions, "handler_gl_water")
    pump = EquipmentCreate(unit_id="gl-dept-water", type="移动泵", name="排涝泵", serial=" sb-01 ")
    made = directory.create_equipment(water, pump)
    assert (made.serial, made.status, made.unit_name) == ("SB-01", "available", "鼓楼区水务局")
    before = count(sessions, Equipment)

    cases = [
        (pump.model_copy(update={"unit_id": "nowhere"}), (422, "unit_id")),
        (pump.model_copy(update={"unit_id": "gl-dept-urban"}), (403, "unit_id")),
        (pump.model_copy(update={"name": "  ", "serial": "SB-02"}), (422, "name")),
        (pump.model_copy(update={"serial": "苏A·W1001"}), (409, "serial")),
        (pump.model_copy(update={"serial": "SB 03"}), (422, "serial")),
        (pump.model_copy(update={"serial": "SB-04", "status": "broken"}), (422, "status")),
        (pump.model_copy(update={"serial": "SB-05", "status": "allocated"}), (422, "status")),
    ]
    for req, (status, field_name) in cases:
        with pytest.raises(CaseError) as err:
            directory.create_equipment(water, req)
        assert refused(err)[:2] == (status, field_name), req
    with pytest.raises(CaseError) as err:
        directory.create_equipment(water, pump.model_copy(update={"serial": "sb-01"}))
    assert refused(err) == (409, "serial", "serial SB-01 is taken by another piece of equipment")
    assert count(sessions, Equipment) == before

    assert made.id is not None
    fixed = directory.update_equipment(water, made.id, EquipmentUpdate(status="repair", note="坏"))
    assert (fixed.status, fixed.note) == ("repair", "坏")
    back = directory.update_equipment(water, made.id, EquipmentUpdate(status="available"))
    assert back.status == "available" and back.note == "坏"
    with pytest.raises(CaseError) as err:
        directory.update_equipment(water, made.id, EquipmentUpdate(status="allocated"))
    assert refused(err)[:2] == (422, "status")
    with pytest.raises(CaseError) as err:
        directory.update_equipment(water, made.id, EquipmentUpdate(serial="苏A·W2001"))
    assert refused(err)[:2] == (409, "serial")
    urban = user_named(sessions, "handler_gl_urban")
    with pytest.raises(CaseError) as err:
        directory.update_equipment(urban, made.id, EquipmentUpdate(name="我的"))
    assert refused(err)[:2] == (403, "unit_id")
    operator = user_named(sessions, "operator1")  # the city's operator reads, never edits
    with pytest.raises(CaseError) as err:
        directory.create_team(operator, TeamCreate(unit_id="nj", name="话务员自建队"))
    assert refused(err)[:2] == (403, "unit_id")
    admin = user_named(sessions, "admin")
    moved = directory.update_equipment(admin, made.id, EquipmentUpdate(unit_id="gl-dept-urban"))
    assert moved.unit_id == "gl-dept-urban" and status_of(sessions, "SB-01") == "available"


def test_teams_and_people_are_validated(
    directory: DirectoryService, sessions: SessionFactory
) -> None:
    nhl = user_named(sessions, "handler_nhl")
    team = directory.create_team(nhl, TeamCreate(unit_id="gl-nhl", name="夜间巡查队"))
    assert team.id is not None and team.unit_name == "宁海路街道" and team.people == []
    with pytest.raises(CaseError) as err:
        directory.create_team(nhl, TeamCreate(unit_id="gl-nhl", name=" "))
    assert refused(err) == (422, "name", "name must not be empty")
    with pytest.raises(CaseError) as err:
        directory.create_team(nhl, TeamCreate(unit_id="gl-hq", name="越权队"))
    assert refused(err)[:2] == (403, "unit_id")

    person = directory.create_person(
        nhl, PersonCreate(unit_id="gl-nhl", team_id=team.id, name="钱多", role="队员")
    )
    assert person.team_id == team.id
    [listed] = [t for t in directory.list_teams("gl-nhl") if t.id == team.id]
    assert [p.name for p in listed.people] == ["钱多"]
    other_team = team_id(sessions, "华侨路街道应急处置队")
    with pytest.raises(CaseError) as err:
        directory.update_person(nhl, person.id, PersonUpdate(team_id=other_team))
    assert refused(err)[:2] == (422, "team_id")
    with pytest.raises(CaseError) as err:
        directory.create_person(nhl, PersonCreate(unit_id="gl-nhl", team_id=99999, name="某"))
    assert refused(err)[:2] == (422, "team_id")
    alone = directory.update_person(nhl, person.id, PersonUpdate(team_id=None))
    assert alone.team_id is None and alone.name == "钱多"

    renamed = directory.update_team(nhl, team.id, TeamUpdate(leader="钱多", active=False))
    assert (renamed.name, renamed.leader, renamed.active) == ("夜间巡查队", "钱多", False)
    with pytest.raises(CaseError) as err:
        directory.update_team(nhl, 99999, TeamUpdate(name="x"))
    assert refused(err)[0] == 404


# ---- allocation ------------------------------------------------------------------------------
async def test_allocate_a_team_and_equipment_and_tell_the_case(
    directory: DirectoryService, sessions: SessionFactory, fake: FakeClient
) -> None:
    case_id = make_case(sessions, "T-1")
    handler = user_named(sessions, "handler_nhl")
    team, van = team_id(sessions, "宁海路街道环境整治队"), equipment_id(sessions, "苏A·N5002")

    made = await directory.allocate(handler, "T-1", team_id=team, equipment_id=van, reason="清运")
    assert [(a.resource, a.allocated_by, a.reason) for a in made] == [
        ("宁海路街道环境整治队", "handler_nhl", "清运"),
        ("小型保洁车 苏A·N5002", "handler_nhl", "清运"),
    ]
    assert status_of(sessions, "苏A·N5002") == "allocated"
    assert [(c, n, s.action, s.resource, s.actor.unit_name) for c, n, s in fake.signals] == [
        (case_id, "record_resource", "allocate", "宁海路街道环境整治队", "宁海路街道"),
        (case_id, "record_resource", "allocate", "小型保洁车 苏A·N5002", "宁海路街道"),
    ]
    listed = directory.allocations_for("T-1")
    assert [a.released_at for a in listed] == [None, None]
    busy_teams = [t for t in directory.list_teams("gl-nhl") if t.id == team]
    assert busy_teams[0].busy_ticket == "T-1"
    assert {a.ticket for a in directory.busy("gl-nhl")} == {"T-1"}
    assert directory.busy("gl-hq") == []

    # A district dispatcher may use any unit's resources in the district.
    dispatcher = user_named(sessions, "dispatcher_gl")
    pump = equipment_id(sessions, "苏A·W1001")
    more = await directory.allocate(dispatcher, "T-1", equipment_id=pump, reason="抽排积水")
    assert more[0].unit_id == "gl-dept-water"


async def test_conflicts_name_the_case_holding_the_resource(
    directory: DirectoryService, sessions: SessionFactory
) -> None:
    make_case(sessions, "T-1")
    make_case(sessions, "T-2")
    handler = user_named(sessions, "handler_nhl")
    team, van = team_id(sessions, "宁海路街道环境整治队"), equipment_id(sessions, "苏A·N5002")
    await directory.allocate(handler, "T-1", team_id=team, equipment_id=van, reason="清运")

    with pytest.raises(CaseError) as err:
        await directory.allocate(handler, "T-2", equipment_id=van, reason="也要")
    assert refused(err) == (409, "equipment_id", "equipment 苏A·N5002 is allocated to case T-1")
    with pytest.raises(CaseError) as err:
        await directory.allocate(handler, "T-2", team_id=team, reason="也要")
    assert refused(err) == (409, "team_id", "team 宁海路街道环境整治队 is allocated to case T-1")
    # Asking for a free team and a busy van takes neither.
    free = team_id(sessions, "宁海路街道综合执法队")
    with pytest.raises(CaseError):
        await directory.allocate(handler, "T-2", team_id=free, equipment_id=van, reason="都要")
    assert directory.allocations_for("T-2") == []

    dispatcher = user_named(sessions, "dispatcher_gl")
    broken = equipment_id(sessions, "苏A·W1002")
    with pytest.raises(CaseError) as err:
        await directory.allocate(dispatcher, "T-2", equipment_id=broken, reason="抽水")
    assert refused(err) == (409, "equipment_id", "equipment 苏A·W1002 is under repair")
    # Allocated equipment cannot be sent to repair until it is released.
    with pytest.raises(CaseError) as err:
        directory.update_equipment(handler, van, EquipmentUpdate(status="repair"))
    assert refused(err) == (409, "equipment_id", "equipment 苏A·N5002 is allocated to case T-1")
    assert status_of(sessions, "苏A·N5002") == "allocated"


async def test_who_may_allocate_what(directory: DirectoryService, sessions: SessionFactory) -> None:
    make_case(sessions, "T-1")
    van, pump = equipment_id(sessions, "苏A·N5002"), equipment_id(sessions, "苏A·W1001")
    for username, equipment, status, field_name in [
        ("handler_hq", van, 404, ""),  # another street's handler: may not see the case
        ("verifier_gl", van, 403, ""),  # sees it, but not a role that allocates
        ("operator1", van, 403, ""),  # likewise
        ("handler_nhl", pump, 403, "equipment_id"),  # the water bureau's pump: not the street's
    ]:
        with pytest.raises(CaseError) as err:
            await directory.allocate(
                user_named(sessions, username), "T-1", equipment_id=equipment, reason="x"
            )
        assert refused(err)[:2] == (status, field_name), username
    handler = user_named(sessions, "handler_nhl")
    cases: list[tuple[int | None, str, tuple[int, str]]] = [
        (None, "x", (422, "team_id")),  # nothing to allocate
        (van, "  ", (422, "reason")),
        (99999, "x", (422, "equipment_id")),
    ]
    for piece, reason, expected in cases:
        with pytest.raises(CaseError) as err:
            await directory.allocate(handler, "T-1", equipment_id=piece, reason=reason)
        assert refused(err)[:2] == expected
    with pytest.raises(CaseError) as err:
        await directory.allocate(handler, "NOPE", equipment_id=van, reason="x")
    assert refused(err)[0] == 404
    assert count(sessions, Allocation) == 0


async def test_only_a_case_in_handling_takes_allocations(
    directory: DirectoryService, sessions: SessionFactory
) -> None:
    van = equipment_id(sessions, "苏A·N5002")
    dispatcher = user_named(sessions, "dispatcher_gl")
    for status in ("DISPATCHED", "PARKED", "VERIFYING", "CLOSED"):
        make_case(sessions, f"T-{status}", status=status)
        with pytest.raises(CaseError) as err:
            await directory.allocate(dispatcher, f"T-{status}", equipment_id=van, reason="x")
        reason = f"case T-{status} is not in handling ({status}) and takes no allocations"
        assert refused(err) == (409, "", reason)
    assert status_of(sessions, "苏A·N5002") == "available" and count(sessions, Allocation) == 0


def race(
    directory: DirectoryService, sessions: SessionFactory, cases: int, **resource: Any
) -> tuple[list[str], dict[str, str]]:
    """`cases` new cases for which dispatcher_gl asks `resource` at the same instant, a thread
    each: the tickets that won it, and the others' refusals ("status reason") by ticket."""
    dispatcher = user_named(sessions, "dispatcher_gl")
    tickets = [f"T-{i}" for i in range(cases)]
    for ticket in tickets:
        make_case(sessions, ticket)
    start = threading.Barrier(len(tickets))
    outcomes: dict[str, str] = {}

    def ask(ticket: str) -> None:
        start.wait()
        try:
            asyncio.run(directory.allocate(dispatcher, ticket, **resource))
            outcomes[ticket] = "won"
        except CaseError as err:
            outcomes[ticket] = f"{err.status} {err.reason}"

    threads = [threading.Thread(target=ask, args=(t,)) for t in tickets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    won = [t for t, outcome in outcomes.items() if outcome == "won"]
    return won, {t: outcome for t, outcome in outcomes.items() if outcome != "won"}


def test_two_cases_asking_for_one_pump_at_once_one_wins(
    directory: DirectoryService, sessions: SessionFactory
) -> None:
    pump = equipment_id(sessions, "苏A·W1001")
    won, refused = race(directory, sessions, 6, equipment_id=pump, reason="抽水")
    assert len(won) == 1, refused
    for outcome in refused.values():
        assert outcome == f"409 equipment 苏A·W1001 is allocated to case {won[0]}"
    with session_scope(sessions) as session:
        rows = session.exec(select(Allocation).where(Allocation.equipment_id == pump)).all()
    assert [r.ticket for r in rows] == won


def test_two_cases_asking_for_one_team_at_once_one_wins(
    directory: DirectoryService, sessions: SessionFactory
) -> None:
    team = team_id(sessions, "排水抢险一队")
    won, refused = race(directory, sessions, 4, team_id=team, reason="抢险")
    for outcome in refused.values():
        assert outcome.startswith("409 ") and "is allocated to case" in outcome, outcome
    assert len(won) == 1 and count(sessions, Allocation) == 1


# ---- release ---------------------------------------------------------------------------------
async def test_release_frees_the_resource_and_records_who_and_why(
    directory: DirectoryService, sessions: SessionFactory, fake: FakeClient
) -> None:
    make_case(sessions, "T-1")
    make_case(sessions, "T-2")
    handler = user_named(sessions, "handler_nhl")
    van = equipment_id(sessions, "苏A·N5002")
    [made] = await directory.allocate(handler, "T-1", equipment_id=van, reason="清运")

    with pytest.raises(CaseError) as err:
        await directory.release(handler, made.id, reason="")
    assert refused(err)[:2] == (422, "reason")
    with pytest.raises(CaseError) as err:
        await directory.release(user_named(sessions, "handler_hq"), made.id, reason="x")
    assert refused(err)[0] == 404  # another street may not see the case
    with pytest.raises(CaseError) as err:
        await directory.release(user_named(sessions, "verifier_gl"), made.id, reason="x")
    assert refused(err)[0] == 403  # sees it, may not release

    released = await directory.release(handler, made.id, reason="清运完毕")
    assert (released.released_by, released.release_reason) == ("handler_nhl", "清运完毕")
    assert released.released_at is not None and status_of(sessions, "苏A·N5002") == "available"
    assert [(s.action, s.reason) for _, _, s in fake.signals] == [
        ("allocate", "清运"),
        ("release", "清运完毕"),
    ]
    with pytest.raises(CaseError) as err:
        await directory.release(handler, made.id, reason="again")
    assert refused(err) == (409, "", f"allocation {made.id} is released already")
    again = await directory.allocate(handler, "T-2", equipment_id=van, reason="再用")
    assert again[0].ticket == "T-2"


async def test_leaving_handling_releases_what_the_case_holds(
    directory: DirectoryService, sessions: SessionFactory
) -> None:
    case_id = make_case(sessions, "T-1")
    make_case(sessions, "T-2")
    handler = user_named(sessions, "handler_nhl")
    team, van = team_id(sessions, "宁海路街道环境整治队"), equipment_id(sessions, "苏A·N5002")
    await directory.allocate(handler, "T-1", team_id=team, equipment_id=van, reason="清运")

    at = datetime.now(UTC)
    for _ in range(2):  # the projection retried: nothing is released twice
        with session_scope(sessions) as session:
            row = session.get(CaseRecord, case_id)
            assert row is not None
            row.status = "VERIFYING"
            session.add(row)
            released = release_for_case(session, case_id, "VERIFYING", at)
        assert released in (2, 0)
    rows = directory.allocations_for("T-1")
    assert {(r.released_by, r.release_reason) for r in rows} == {
        ("system", "case left handling (VERIFYING)")
    }
    assert status_of(sessions, "苏A·N5002") == "available"
    taken = await directory.allocate(
        handler, "T-2", team_id=team, equipment_id=van, reason="下一件"
    )
    assert len(taken) == 2


async def test_a_finished_case_keeps_the_allocation_without_the_timeline_entry(
    directory: DirectoryService, sessions: SessionFactory, fake: FakeClient
) -> None:
    make_case(sessions, "T-1")
    fake.finished = True
    van = equipment_id(sessions, "苏A·N5002")
    made = await directory.allocate(
        user_named(sessions, "handler_nhl"), "T-1", equipment_id=van, reason="x"
    )
    assert len(made) == 1 and fake.signals == []
    with session_scope(sessions) as session:
        open_rows = session.exec(select(Allocation).where(col(Allocation.released_at).is_(None)))
        assert len(open_rows.all()) == 1


def test_the_case_panel_offers_the_holding_units_free_resources(
    directory: DirectoryService, sessions: SessionFactory
) -> None:
    make_case(sessions, "T-1")
    handler: User = user_named(sessions, "handler_nhl")
    panel = DirectoryService(directory.cases, handler).case_panel("T-1")
    assert panel.may_allocate and panel.may_release and panel.allocations == []
    assert {t.unit_id for t in panel.teams} == {"gl-nhl"}
    assert {e.serial for e in panel.equipment} == {"苏A·N5001", "苏A·N5002"}
    district = DirectoryService(directory.cases, user_named(sessions, "verifier_gl"))
    other = district.case_panel("T-1")  # sees the case, allocates nothing
    assert not other.may_allocate and other.teams == [] and other.equipment == []
    street = DirectoryService(directory.cases, user_named(sessions, "handler_hq"))
    with pytest.raises(CaseError) as hidden:
        street.case_panel("T-1")  # another street: the case does not exist for it
    assert hidden.value.status == 404
