"""The forces and equipment directory (处置力量和装备目录, article 9): teams, people and
equipment of units, and their allocation to cases in handling.

Like `core.cases`, this module authorises, validates and turns every refusal into a
`CaseError`; the adapters parse and render. The allocation row is the record of who allocated
what, when and why; the case's workflow is told afterwards so its timeline shows it too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field
from sqlalchemy import Update, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from temporalio.service import RPCError

from core import access
from core.bounds import RowId
from core.db import SessionFactory, session_scope
from core.errors import CaseError
from core.logs import get_logger
from core.models import Allocation, CaseRecord, Equipment, Person, Team, Unit, User
from workflows.contracts import ResourceNote, Role, Status

if TYPE_CHECKING:  # at run time the service arrives built; importing it would be a cycle
    from core.cases.service import CaseService

log = get_logger(__name__)

EQUIPMENT_STATUSES = ("available", "allocated", "repair")
EDITABLE_STATUSES = frozenset({"available", "repair"})  # "allocated" only by allocating
# New allocations only while the case is being handled; a parked case keeps what it has.
ALLOCATING_STATUSES = (Status.ACCEPTED.value, Status.HANDLING.value, Status.REWORK.value)
# Plates ("苏A·W1001") and serials ("GL-SW-P-0301"): letters (CJK too), digits, · - . /
SERIAL = re.compile(r"[\w·.\-/]{2,64}")
PHONE = r"^[0-9+\- ]{0,20}$"
OWNER_LEVELS = ("city", "district", "street", "community", "dept")


# ---- requests ------------------------------------------------------------------------------
class TeamCreate(BaseModel):
    unit_id: str = Field(max_length=64)
    name: str = Field(default="", max_length=100)
    specialty: str = Field(default="", max_length=100)
    leader: str = Field(default="", max_length=100)
    phone: str = Field(default="", pattern=PHONE)
    active: bool = True


class TeamUpdate(BaseModel):
    unit_id: str | None = Field(default=None, max_length=64)
    name: str | None = Field(default=None, max_length=100)
    specialty: str | None = Field(default=None, max_length=100)
    leader: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, pattern=PHONE)
    active: bool | None = None


class PersonCreate(BaseModel):
    unit_id: str = Field(max_length=64)
    team_id: RowId | None = None
    name: str = Field(default="", max_length=100)
    role: str = Field(default="", max_length=50)
    phone: str = Field(default="", pattern=PHONE)
    active: bool = True


class PersonUpdate(BaseModel):
    """Only the fields sent change; `team_id: null` takes the person out of their team."""

    unit_id: str | None = Field(default=None, max_length=64)
    team_id: RowId | None = None
    name: str | None = Field(default=None, max_length=100)
    role: str | None = Field(default=None, max_length=50)
    phone: str | None = Field(default=None, pattern=PHONE)
    active: bool | None = None


class EquipmentCreate(BaseModel):
    unit_id: str = Field(max_length=64)
    type: str = Field(default="", max_length=50)
    name: str = Field(default="", max_length=100)
    serial: str = Field(default="", max_length=64, description="plate or serial number")
    status: str = Field(default="available", max_length=16, description="available | repair")
    note: str = Field(default="", max_length=2000)


class EquipmentUpdate(BaseModel):
    unit_id: str | None = Field(default=None, max_length=64)
    type: str | None = Field(default=None, max_length=50)
    name: str | None = Field(default=None, max_length=100)
    serial: str | None = Field(default=None, max_length=64)
    status: str | None = Field(default=None, max_length=16, description="available | repair")
    note: str | None = Field(default=None, max_length=2000)


class AllocateRequest(BaseModel):
    team_id: RowId | None = None
    equipment_id: RowId | None = None
    reason: str = Field(default="", max_length=2000)


class ReleaseRequest(BaseModel):
    reason: str = Field(default="", max_length=2000)


# ---- answers -------------------------------------------------------------------------------
class PersonOut(BaseModel):
    id: int
    unit_id: str
    unit_name: str
    team_id: int | None
    name: str
    role: str
    phone: str
    active: bool


class TeamOut(BaseModel):
    id: int
    unit_id: str
    unit_name: str
    name: str
    specialty: str
    leader: str
    phone: str
    active: bool
    busy: bool = Field(default=False, description="allocated to a case now")
    busy_ticket: str = Field(
        default="", description="the case it is allocated to, if the caller may see that case"
    )
    people: list[PersonOut] = Field(default_factory=list)


class EquipmentOut(BaseModel):
    id: int
    unit_id: str
    unit_name: str
    type: str
    name: str
    serial: str
    status: str
    note: str
    allocated_ticket: str = Field(
        default="", description="the case it is allocated to, if the caller may see that case"
    )


class AllocationOut(BaseModel):
    id: int
    case_id: str
    ticket: str
    team_id: int | None
    equipment_id: int | None
    resource: str = Field(description="the team's name, or the equipment's name and serial")
    unit_id: str = Field(description="the unit owning the resource")
    allocated_by: str
    allocated_at: datetime
    reason: str
    released_at: datetime | None
    released_by: str
    release_reason: str


@dataclass
class CasePanel:
    """What the case page shows of the directory, and what the user may do there."""

    ticket: str
    status: str
    holder_id: str
    allocations: list[AllocationOut]
    teams: list[TeamOut] = field(default_factory=list)  # free teams of the holding unit
    equipment: list[EquipmentOut] = field(default_factory=list)  # its available equipment
    may_allocate: bool = False
    may_release: bool = False


class DirectoryService:
    """Directory reads and edits over the read model, as `viewer` may see it (teams, people
    and equipment are every staff member's to read; allocations and the cases they name only
    where the viewer may see the case); allocations also tell the case."""

    def __init__(self, cases: CaseService, viewer: User) -> None:
        self.cases: CaseService = cases
        self.sessions: SessionFactory = cases.sessions
        self.viewer = viewer

    # ---- reads -----------------------------------------------------------------------------
    def list_teams(self, unit: str = "") -> list[TeamOut]:
        """Teams of `unit` and the units under it (all without one), with people and cases."""
        with session_scope(self.sessions) as session:
            teams = list(session.exec(_within(session, select(Team), Team.unit_id, unit)))
            ids = [t.id for t in teams]
            members = list(session.exec(select(Person).where(col(Person.team_id).in_(ids))))
            names = _unit_names(session, [t.unit_id for t in teams])
            busy = self._open_tickets(session, Allocation.team_id, ids)
        people = [_person_out(p, names.get(p.unit_id, p.unit_id)) for p in members]
        return [
            TeamOut.model_validate(
                {
                    **t.model_dump(),
                    "unit_name": names.get(t.unit_id, t.unit_id),
                    "busy": (t.id or 0) in busy,
                    "busy_ticket": busy.get(t.id or 0, ""),
                    "people": [p for p in people if p.team_id == t.id],
                }
            )
            for t in sorted(teams, key=lambda t: (t.unit_id, t.name))
        ]

    def list_people(self, unit: str = "", *, unassigned: bool = False) -> list[PersonOut]:
        with session_scope(self.sessions) as session:
            query = _within(session, select(Person), Person.unit_id, unit)
            if unassigned:
                query = query.where(col(Person.team_id).is_(None))
            rows = list(session.exec(query.order_by(Person.unit_id, Person.name)))
            names = _unit_names(session, [p.unit_id for p in rows])
        return [_person_out(p, names.get(p.unit_id, p.unit_id)) for p in rows]

    def list_equipment(self, unit: str = "", status: str = "") -> list[EquipmentOut]:
        """Equipment of `unit` and the units under it, each with the case holding it."""
        with session_scope(self.sessions) as session:
            query = _within(session, select(Equipment), Equipment.unit_id, unit)
            if status:
                query = query.where(Equipment.status == status)
            rows = list(session.exec(query.order_by(Equipment.unit_id, Equipment.type)))
            names = _unit_names(session, [e.unit_id for e in rows])
            busy = self._open_tickets(session, Allocation.equipment_id, [e.id for e in rows])
        return [_equipment_out(e, names, busy.get(e.id or 0, "")) for e in rows]

    def allocations_for(self, ticket: str) -> list[AllocationOut]:
        """Every allocation of a case, open and released, oldest first (404: a case the viewer
        may not see)."""
        with session_scope(self.sessions) as session:
            case = _case(session, ticket, self.viewer)
            rows = session.exec(
                select(Allocation)
                .where(Allocation.case_id == case.id)
                .order_by(col(Allocation.allocated_at), col(Allocation.id))
            )
            return _allocation_outs(session, list(rows))

    def busy(self, unit: str = "") -> list[AllocationOut]:
        """Open allocations of the resources of `unit` and the units under it: who is out, on
        the cases the viewer may see."""
        with session_scope(self.sessions) as session:
            rows = list(
                session.exec(
                    select(Allocation)
                    .where(col(Allocation.released_at).is_(None))
                    .where(access.allocation_clause(session, self.viewer))
                    .order_by(col(Allocation.allocated_at))
                )
            )
            found = _allocation_outs(session, rows)
            inside = _subtree(session, unit) if unit else None
        return [a for a in found if inside is None or a.unit_id in inside]

    def _open_tickets(self, session: Session, column: Any, ids: list[int | None]) -> dict[int, str]:
        """The ticket each busy resource is allocated to, by resource id; "" for a case the
        viewer may not see (the resource is busy all the same)."""
        if not ids:
            return {}
        rows = session.exec(
            select(column, Allocation.ticket, access.allocation_clause(session, self.viewer)).where(
                col(column).in_(ids), col(Allocation.released_at).is_(None)
            )
        )
        return {rid: ticket if seen else "" for rid, ticket, seen in rows}

    def owner_units(self, user: User) -> list[tuple[str, str]]:
        """Units whose directory `user` may edit: all owners for an admin, their own for an
        editor role, none for anyone else (an operator reads the directory only)."""
        query = select(Unit).order_by(Unit.path)
        if user.role == Role.ADMIN:
            query = query.where(col(Unit.level).in_(OWNER_LEVELS))
        elif access.may_edit_directory(user, user.unit_id):
            query = query.where(Unit.id == user.unit_id)
        else:
            return []
        with session_scope(self.sessions) as session:
            return [(u.id, u.name) for u in session.exec(query)]

    def filter_units(self) -> list[tuple[str, str]]:
        """Units that own a team, person or equipment, with their districts, in tree order."""
        with session_scope(self.sessions) as session:
            owners: set[str] = set()
            for column in (Team.unit_id, Person.unit_id, Equipment.unit_id):
                owners |= set(session.exec(select(column).distinct()))
            rows = session.exec(select(Unit).where(col(Unit.id).in_(owners))).all()
            # "/nj/gl/gl-nhl/": the second step of a path is the district (or a city unit)
            districts = {p for u in rows for p in u.path.split("/")[2:3] if p}
            found = session.exec(
                select(Unit).where(col(Unit.id).in_(owners | districts)).order_by(Unit.path)
            )
            return [(u.id, u.name) for u in found]

    # ---- edits -----------------------------------------------------------------------------
    def create_team(self, user: User, req: TeamCreate) -> TeamOut:
        with session_scope(self.sessions) as session:
            _editable_unit(session, user, req.unit_id)
            team = Team(**_named(req.model_dump()))
            session.add(team)
            session.flush()
            log.info("directory_team_created", team=team.id, unit=team.unit_id, by=user.username)
        return self.team(team.id)

    def update_team(self, user: User, team_id: int, req: TeamUpdate) -> TeamOut:
        changes = _named(req.model_dump(exclude_unset=True))
        with session_scope(self.sessions) as session:
            team = _get(session, Team, team_id, "team")
            moved = _editable_move(session, user, team, changes) != team.unit_id
            if moved and session.exec(select(Person.id).where(Person.team_id == team_id)).first():
                raise CaseError(
                    409,
                    f"team {team.name} has people; move them first",
                    "unit_id",
                    code="team_has_people",
                    params={"team": team.name},
                )
            _apply(team, changes)
            session.add(team)
            log.info("directory_team_updated", team=team_id, changes=changes, by=user.username)
        return self.team(team_id)

    def create_person(self, user: User, req: PersonCreate) -> PersonOut:
        with session_scope(self.sessions) as session:
            _editable_unit(session, user, req.unit_id)
            _check_team(session, req.team_id, req.unit_id)
            person = Person(**_named(req.model_dump()))
            session.add(person)
            session.flush()
            log.info("directory_person_created", person=person.id, by=user.username)
            return _person_out(person, _unit_names(session, [person.unit_id])[person.unit_id])

    def update_person(self, user: User, person_id: int, req: PersonUpdate) -> PersonOut:
        changes = _named(req.model_dump(exclude_unset=True))
        with session_scope(self.sessions) as session:
            person = _get(session, Person, person_id, "person")
            unit_id = _editable_move(session, user, person, changes)
            _check_team(session, changes.get("team_id", person.team_id), unit_id)
            _apply(person, changes)
            session.add(person)
            log.info(
                "directory_person_updated", person=person_id, changes=changes, by=user.username
            )
            return _person_out(person, _unit_names(session, [unit_id])[unit_id])

    def create_equipment(self, user: User, req: EquipmentCreate) -> EquipmentOut:
        values = _named(req.model_dump())
        with session_scope(self.sessions) as session:
            _editable_unit(session, user, req.unit_id)
            _check_equipment(session, values, current=None)
            equipment = Equipment(**values)
            session.add(equipment)
            _flush_serial(session, equipment.serial)
            log.info("directory_equipment_created", equipment=equipment.id, by=user.username)
        return self.equipment(equipment.id)

    def update_equipment(self, user: User, equipment_id: int, req: EquipmentUpdate) -> EquipmentOut:
        """Edit a piece of equipment; its status moves only between available and repair."""
        changes = _named(req.model_dump(exclude_unset=True))
        with session_scope(self.sessions) as session:
            equipment = _get(session, Equipment, equipment_id, "equipment")
            _editable_move(session, user, equipment, changes)
            _check_equipment(session, changes, current=equipment)
            status = changes.pop("status", equipment.status)
            _apply(equipment, changes)
            session.add(equipment)
            _flush_serial(session, equipment.serial)
            if status != equipment.status:
                _set_repair_status(session, equipment, status)
            log.info(
                "directory_equipment_updated",
                equipment=equipment_id,
                changes={**changes, "status": status},
                by=user.username,
            )
        return self.equipment(equipment_id)

    def team(self, team_id: int | None) -> TeamOut:
        with session_scope(self.sessions) as session:
            unit_id = _get(session, Team, team_id or 0, "team").unit_id
        return next(t for t in self.list_teams(unit_id) if t.id == team_id)

    def person(self, person_id: int) -> PersonOut:
        with session_scope(self.sessions) as session:
            row = _get(session, Person, person_id, "person")
            return _person_out(row, _unit_names(session, [row.unit_id]).get(row.unit_id, ""))

    def equipment(self, equipment_id: int | None) -> EquipmentOut:
        with session_scope(self.sessions) as session:
            row = _get(session, Equipment, equipment_id or 0, "equipment")
            names = _unit_names(session, [row.unit_id])
            busy = self._open_tickets(session, Allocation.equipment_id, [row.id])
        return _equipment_out(row, names, busy.get(row.id or 0, ""))

    # ---- allocations -----------------------------------------------------------------------
    async def allocate(
        self,
        user: User,
        ticket: str,
        *,
        team_id: int | None = None,
        equipment_id: int | None = None,
        reason: str,
    ) -> list[AllocationOut]:
        """Allocate a team and/or a piece of equipment to a case in handling.

        One allocation row per resource, written in one transaction with the claim on the
        resource, so two cases asking at once cannot both have it.
        """
        case_id, made = self._claim(user, ticket, team_id, equipment_id, reason.strip())
        for row in made:
            await self._tell(case_id, user, "allocate", row.resource, row.reason)
        return made

    async def release(self, user: User, allocation_id: int, *, reason: str) -> AllocationOut:
        """Release an open allocation early (the case leaving handling releases the rest)."""
        released = self._unclaim(user, allocation_id, reason.strip())
        await self._tell(
            released.case_id, user, "release", released.resource, released.release_reason
        )
        return released

    def case_panel(self, ticket: str) -> CasePanel:
        """A case's allocations and, if the viewer may allocate, the holding unit's free
        resources (404: a case the viewer may not see)."""
        allocations = self.allocations_for(ticket)
        with session_scope(self.sessions) as session:
            case = _case(session, ticket, self.viewer)
        may_act = access.may_allocate(self.viewer, case)
        panel = CasePanel(
            ticket=case.ticket,
            status=case.status,
            holder_id=case.assigned_unit_id,
            allocations=allocations,
            may_allocate=may_act and case.status in ALLOCATING_STATUSES,
            may_release=may_act,
        )
        if panel.may_allocate and case.assigned_unit_id:
            teams = self.list_teams(case.assigned_unit_id)
            panel.teams = [t for t in teams if t.active and not t.busy]
            panel.equipment = self.list_equipment(case.assigned_unit_id, status="available")
        return panel

    def _claim(
        self, user: User, ticket: str, team_id: int | None, equipment_id: int | None, reason: str
    ) -> tuple[str, list[AllocationOut]]:
        if team_id is None and equipment_id is None:
            raise CaseError(
                422,
                "choose a team or a piece of equipment to allocate",
                "team_id",
                code="allocation_target",
            )
        if not reason:
            raise CaseError(422, "an allocation needs a reason", "reason", code="required")
        now = datetime.now(UTC)
        with session_scope(self.sessions) as session:
            case = _lock_case_in_handling(session, user, ticket)
            rows: list[Allocation] = []
            if team_id is not None:
                team = _claim_team(session, user, case, team_id)
                rows.append(_allocation(case, user, now, reason, team_id=team.id))
            if equipment_id is not None:
                equipment = _claim_equipment(session, user, case, equipment_id)
                rows.append(_allocation(case, user, now, reason, equipment_id=equipment.id))
            session.add_all(rows)
            session.flush()
            made = _allocation_outs(session, rows)
        for a in made:
            log.info("resource_allocated", ticket=a.ticket, resource=a.resource, by=user.username)
        return case.id, made

    def _unclaim(self, user: User, allocation_id: int, reason: str) -> AllocationOut:
        if not reason:
            raise CaseError(422, "a release needs a reason", "reason", code="required")
        now = datetime.now(UTC)
        with session_scope(self.sessions) as session:
            row = _get(session, Allocation, allocation_id, "allocation")
            if row.allocated_by != user.username:
                case = _case(session, row.ticket, user)  # 404 on a case they may not see
                if not access.may_allocate(user, case):
                    raise CaseError(
                        403,
                        f"{user.username} may not release allocation {allocation_id}",
                        code="release_forbidden",
                    )
            done = _rowcount(
                session,
                update(Allocation)
                .where(col(Allocation.id) == allocation_id, col(Allocation.released_at).is_(None))
                .values(released_at=now, released_by=user.username, release_reason=reason),
            )
            if not done:
                raise CaseError(
                    409, f"allocation {allocation_id} is released already", code="released_already"
                )
            if row.equipment_id is not None:
                _rowcount(session, _set_status(row.equipment_id, "allocated", "available"))
            session.refresh(row)
            released = _allocation_outs(session, [row])[0]
        log.info("resource_released", ticket=released.ticket, resource=released.resource)
        return released

    async def _tell(self, case_id: str, user: User, action: str, resource: str, why: str) -> None:
        """Put the allocation on the case's timeline; the allocation row is the record, so a
        case that has finished (or a Temporal hiccup) costs only the timeline entry."""
        note = ResourceNote(
            actor=self.cases.actor(user), action=action, resource=resource, reason=why
        )
        handle = self.cases.client.get_workflow_handle(case_id)
        try:
            await handle.signal("record_resource", note)
        except RPCError as err:
            log.warning("resource_signal_failed", case_id=case_id, action=action, error=err.message)


# ---- authority (the rules are core.access's; these name the refusal) --------------------------
def _authorise_case(user: User, case: CaseRecord) -> None:
    if access.may_allocate(user, case):
        return
    if user.role in access.ALLOCATORS_BY_AREA:
        raise CaseError(
            403,
            f"unit {user.unit_id} does not cover the area of case {case.ticket}",
            code="outside_area",
        )
    if user.role == Role.HANDLER:
        raise CaseError(
            403, f"case {case.ticket} is not held by unit {user.unit_id}", code="not_assigned"
        )
    raise CaseError(
        403, f"role {user.role} may not allocate teams or equipment", code="allocation_role"
    )


def _authorise_resource(
    session: Session, user: User, case: CaseRecord, unit_id: str, what: str, name: str
) -> None:
    """The resource belongs to the holding unit, or to a unit under the actor's unit."""
    if unit_id == case.assigned_unit_id:
        return
    unit = session.get(Unit, unit_id)
    if unit is None or f"/{user.unit_id}/" not in unit.path:
        raise CaseError(
            403,
            f"{name} belongs to {unit_id}, neither the holding unit nor a unit under "
            f"{user.unit_id}",
            f"{what}_id",
            code="resource_outside",
        )


def _editable_move(
    session: Session, user: User, row: Team | Person | Equipment, changes: dict[str, Any]
) -> str:
    """The unit `row` will belong to: its own, or the one `changes` moves it to; `user` must
    keep the directory of both."""
    _editable_unit(session, user, row.unit_id)
    unit_id = str(changes.get("unit_id", row.unit_id))
    if unit_id != row.unit_id:
        _editable_unit(session, user, unit_id)
    return unit_id


def _editable_unit(session: Session, user: User, unit_id: str) -> Unit:
    unit = session.get(Unit, unit_id) if unit_id else None
    if unit is None:
        raise CaseError(422, f"unknown unit {unit_id!r}", "unit_id", code="unknown_unit")
    if not access.may_edit_directory(user, unit_id):
        raise CaseError(
            403,
            f"unit {user.unit_id} may not edit the directory of unit {unit_id}",
            "unit_id",
            code="directory_other_unit",
        )
    return unit


# ---- validation ------------------------------------------------------------------------------
def _named(values: dict[str, Any]) -> dict[str, Any]:
    """Text trimmed, serials in capitals; a name, once given, must not be empty."""
    out = {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}
    if "serial" in out and out["serial"] is not None:
        out["serial"] = out["serial"].upper()
    for name in ("name", "type"):
        if name in out and not out[name]:
            raise CaseError(422, f"{name} must not be empty", name, code="required")
    return {k: v for k, v in out.items() if v is not None or k == "team_id"}


def _check_team(session: Session, team_id: int | None, unit_id: str) -> None:
    if team_id is None:
        return
    team = session.get(Team, team_id)
    if team is None:
        raise CaseError(422, f"unknown team {team_id}", "team_id", code="unknown_team")
    if team.unit_id != unit_id:
        raise CaseError(
            422,
            f"team {team.name} is not a team of unit {unit_id}",
            "team_id",
            code="team_other_unit",
        )


def _check_equipment(session: Session, values: dict[str, Any], current: Equipment | None) -> None:
    serial = values.get("serial")
    if serial is not None or current is None:
        if not serial or not SERIAL.fullmatch(serial):
            raise CaseError(
                422,
                "serial must be 2-64 letters, digits or · - . / (no spaces)",
                "serial",
                code="serial_format",
            )
        taken = session.exec(
            select(Equipment.id).where(
                Equipment.serial == serial, col(Equipment.id) != (current.id if current else -1)
            )
        ).first()
        if taken is not None:
            raise _serial_taken(serial)
    status = values.get("status")
    if status is None or (current is not None and status == current.status):
        return
    if status not in EQUIPMENT_STATUSES:
        raise CaseError(422, "status must be available or repair", "status", code="not_in_list")
    if status not in EDITABLE_STATUSES:
        raise CaseError(
            422,
            "equipment is allocated only by allocating it to a case",
            "status",
            code="equipment_status_allocated",
        )


def _flush_serial(session: Session, serial: str) -> None:
    try:
        session.flush()
    except IntegrityError:  # another request took the serial since the check
        raise _serial_taken(serial) from None


def _serial_taken(serial: str) -> CaseError:
    reason = f"serial {serial} is taken by another piece of equipment"
    return CaseError(409, reason, "serial", code="serial_taken", params={"serial": serial})


def _set_repair_status(session: Session, equipment: Equipment, status: str) -> None:
    """available ↔ repair, but never under an allocation made meanwhile."""
    old = "repair" if status == "available" else "available"
    if not _rowcount(session, _set_status(equipment.id or 0, old, status)):
        raise _equipment_busy(session, equipment)
    session.refresh(equipment)


# ---- claims --------------------------------------------------------------------------------
def _lock_case_in_handling(session: Session, user: User, ticket: str) -> CaseRecord:
    """The case, row-locked while it is in handling.

    The projection takes the same row when the case leaves handling, so an allocation either
    lands before it (and is released by it) or sees the new status and is refused.
    """
    case = _case(session, ticket, user)
    _authorise_case(user, case)
    locked = _rowcount(
        session,
        update(CaseRecord)
        .where(col(CaseRecord.id) == case.id, col(CaseRecord.status).in_(ALLOCATING_STATUSES))
        .values(status=CaseRecord.status),
    )
    session.refresh(case)
    if not locked:
        raise CaseError(
            409,
            f"case {ticket} is not in handling ({case.status}) and takes no allocations",
            code="case_not_handling",
        )
    _authorise_case(user, case)  # as it stands now, should it have been reassigned meanwhile
    return case


def _claim_team(session: Session, user: User, case: CaseRecord, team_id: int) -> Team:
    team = session.get(Team, team_id)
    if team is None:
        raise CaseError(422, f"unknown team {team_id}", "team_id", code="unknown_team")
    _authorise_resource(session, user, case, team.unit_id, "team", f"team {team.name}")
    # Teams have no status column: the row lock orders two claims on one team.
    lock = update(Team).where(col(Team.id) == team_id, col(Team.active).is_(True))
    if not _rowcount(session, lock.values(active=True)):
        raise CaseError(
            409,
            f"team {team.name} is inactive",
            "team_id",
            code="team_inactive",
            params={"team": team.name},
        )
    busy = _holder(session, Allocation.team_id, team_id)
    if busy is not None:
        raise CaseError(
            409,
            f"team {team.name} is allocated to case {busy}",
            "team_id",
            code="team_busy",
            params={"team": team.name, "ticket": busy},
        )
    return team


def _claim_equipment(
    session: Session, user: User, case: CaseRecord, equipment_id: int
) -> Equipment:
    equipment = session.get(Equipment, equipment_id)
    if equipment is None:
        raise CaseError(
            422, f"unknown equipment {equipment_id}", "equipment_id", code="unknown_equipment"
        )
    what = f"equipment {equipment.serial}"
    _authorise_resource(session, user, case, equipment.unit_id, "equipment", what)
    if not _rowcount(session, _set_status(equipment_id, "available", "allocated")):
        raise _equipment_busy(session, equipment)
    return equipment


def _equipment_busy(session: Session, equipment: Equipment) -> CaseError:
    """Why equipment could not be claimed, naming the case that holds it."""
    status = session.exec(select(Equipment.status).where(Equipment.id == equipment.id)).one()
    if status == "repair":
        return CaseError(
            409,
            f"equipment {equipment.serial} is under repair",
            "equipment_id",
            code="equipment_repair",
            params={"serial": equipment.serial},
        )
    holder = _holder(session, Allocation.equipment_id, equipment.id)
    params = {"serial": equipment.serial, "ticket": holder or ""}
    if holder:
        reason = f"equipment {equipment.serial} is allocated to case {holder}"
        return CaseError(409, reason, "equipment_id", code="equipment_busy", params=params)
    reason = f"equipment {equipment.serial} is allocated"
    return CaseError(409, reason, "equipment_id", code="equipment_allocated", params=params)


def _holder(session: Session, column: Any, resource_id: int | None) -> str | None:
    """The ticket of the case a team or piece of equipment is allocated to now, if any."""
    held = select(Allocation.ticket).where(col(column) == resource_id)
    return session.exec(held.where(col(Allocation.released_at).is_(None))).first()


def _set_status(equipment_id: int, old: str, new: str) -> Update:
    return (
        update(Equipment)
        .where(col(Equipment.id) == equipment_id, col(Equipment.status) == old)
        .values(status=new)
    )


def _rowcount(session: Session, statement: Update) -> int:
    """Rows a conditional update changed: 0 means another request got there first."""
    return session.connection().execute(statement).rowcount


def _allocation(
    case: CaseRecord,
    user: User,
    at: datetime,
    reason: str,
    *,
    team_id: int | None = None,
    equipment_id: int | None = None,
) -> Allocation:
    return Allocation(
        case_id=case.id,
        ticket=case.ticket,
        team_id=team_id,
        equipment_id=equipment_id,
        allocated_by=user.username,
        allocated_at=at,
        reason=reason,
    )


# ---- helpers -------------------------------------------------------------------------------
def _case(session: Session, ticket: str, viewer: User) -> CaseRecord:
    """The case, if `viewer` may see it; else 404, as for one that does not exist."""
    case = access.visible_case(session, viewer, ticket)
    if case is None:
        raise CaseError(404, f"no case with ticket {ticket!r}", code="no_case")
    return case


def _get(session: Session, model: Any, key: int, what: str) -> Any:
    row = session.get(model, key)
    if row is None:
        raise CaseError(404, f"no {what} {key}", code="not_found")
    return row


def _apply(row: Any, changes: dict[str, Any]) -> None:
    for name, value in changes.items():
        setattr(row, name, value)


def _within(session: Session, query: Any, unit_column: Any, unit: str) -> Any:
    """`query` limited to rows of `unit` and the units under it (no limit without a unit)."""
    if not unit:
        return query
    _known_unit(session, unit)
    below = select(Unit.id).where(col(Unit.path).contains(f"/{unit}/", autoescape=True))
    return query.where(col(unit_column).in_(below))


def _known_unit(session: Session, unit: str) -> None:
    if session.get(Unit, unit) is None:
        raise CaseError(422, f"unknown unit {unit!r}", "unit", code="unknown_unit")


def _subtree(session: Session, unit: str) -> set[str]:
    _known_unit(session, unit)
    path = col(Unit.path).contains(f"/{unit}/", autoescape=True)
    return set(session.exec(select(Unit.id).where(path)))


def _unit_names(session: Session, ids: Iterable[str]) -> dict[str, str]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {u.id: u.name for u in session.exec(select(Unit).where(col(Unit.id).in_(wanted)))}


def _allocation_outs(session: Session, rows: list[Allocation]) -> list[AllocationOut]:
    team_ids = {r.team_id for r in rows if r.team_id is not None}
    equipment_ids = {r.equipment_id for r in rows if r.equipment_id is not None}
    teams = {t.id: t for t in session.exec(select(Team).where(col(Team.id).in_(team_ids)))}
    kit = session.exec(select(Equipment).where(col(Equipment.id).in_(equipment_ids)))
    equipment = {e.id: e for e in kit}
    out = []
    for r in rows:
        team, piece = teams.get(r.team_id), equipment.get(r.equipment_id)
        resource = team.name if team else f"{piece.name} {piece.serial}" if piece else "?"
        unit_id = team.unit_id if team else piece.unit_id if piece else ""
        out.append(
            AllocationOut.model_validate(
                {**r.model_dump(), "resource": resource, "unit_id": unit_id}
            )
        )
    return out


def _person_out(person: Person, unit_name: str) -> PersonOut:
    return PersonOut.model_validate({**person.model_dump(), "unit_name": unit_name})


def _equipment_out(row: Equipment, names: dict[str, str], ticket: str) -> EquipmentOut:
    return EquipmentOut.model_validate(
        {
            **row.model_dump(),
            "unit_name": names.get(row.unit_id, row.unit_id),
            "allocated_ticket": ticket if row.status == "allocated" else "",
        }
    )
