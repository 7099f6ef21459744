"""JSON API for the forces and equipment directory (处置力量和装备目录) and allocations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.deps import ApiUser, Cases
from api.errors import ACTION_RESPONSES, CONFLICT, FORBIDDEN, NOT_FOUND
from core.bounds import RowId
from core.directory.service import (
    AllocateRequest,
    AllocationOut,
    DirectoryService,
    EquipmentCreate,
    EquipmentOut,
    EquipmentUpdate,
    PersonCreate,
    PersonOut,
    PersonUpdate,
    ReleaseRequest,
    TeamCreate,
    TeamOut,
    TeamUpdate,
)
from core.privacy import masking as privacy

router = APIRouter(tags=["directory"])
CREATED = {**FORBIDDEN, **CONFLICT}


def get_directory(cases: Cases, user: ApiUser) -> DirectoryService:
    """The directory as the caller may see it (core.access)."""
    return DirectoryService(cases, user)


Directory = Annotated[DirectoryService, Depends(get_directory)]
UnitFilter = Annotated[str, Query(max_length=64, description="a unit and the units under it")]


# ---- teams ---------------------------------------------------------------------------------
@router.get("/directory/teams", response_model=list[TeamOut])
def list_teams(user: ApiUser, directory: Directory, unit: UnitFilter = "") -> list[TeamOut]:
    """Teams with their people and the case each is allocated to; phones as the user may see
    them (whole to the unit's own users and supervisors of its area)."""
    return privacy.teams_for(user, directory.sessions, directory.list_teams(unit))


@router.post("/directory/teams", response_model=TeamOut, status_code=201, responses=CREATED)
def create_team(body: TeamCreate, user: ApiUser, directory: Directory) -> TeamOut:
    """Add a team to a unit (an admin's, or one's own unit)."""
    return privacy.teams_for(user, directory.sessions, [directory.create_team(user, body)])[0]


@router.patch("/directory/teams/{team_id}", response_model=TeamOut, responses=ACTION_RESPONSES)
def update_team(team_id: RowId, body: TeamUpdate, user: ApiUser, directory: Directory) -> TeamOut:
    """Change the fields sent."""
    return privacy.teams_for(
        user, directory.sessions, [directory.update_team(user, team_id, body)]
    )[0]


# ---- people --------------------------------------------------------------------------------
@router.get("/directory/people", response_model=list[PersonOut])
def list_people(user: ApiUser, directory: Directory, unit: UnitFilter = "") -> list[PersonOut]:
    """People of the units, in a team or not; phones as the user may see them."""
    return privacy.people_for(user, directory.sessions, directory.list_people(unit))


@router.post("/directory/people", response_model=PersonOut, status_code=201, responses=CREATED)
def create_person(body: PersonCreate, user: ApiUser, directory: Directory) -> PersonOut:
    """Add a person to a unit, optionally to one of its teams."""
    return privacy.people_for(user, directory.sessions, [directory.create_person(user, body)])[0]


@router.patch("/directory/people/{person_id}", response_model=PersonOut, responses=ACTION_RESPONSES)
def update_person(
    person_id: RowId, body: PersonUpdate, user: ApiUser, directory: Directory
) -> PersonOut:
    """Change the fields sent; `team_id: null` takes the person out of their team."""
    return privacy.people_for(
        user, directory.sessions, [directory.update_person(user, person_id, body)]
    )[0]


# ---- equipment -----------------------------------------------------------------------------
@router.get("/directory/equipment", response_model=list[EquipmentOut])
def list_equipment(
    _user: ApiUser,
    directory: Directory,
    unit: UnitFilter = "",
    status: Annotated[str, Query(pattern="^(|available|allocated|repair)$")] = "",
) -> list[EquipmentOut]:
    """Equipment with its status and, when allocated, the case holding it."""
    return directory.list_equipment(unit, status)


@router.post(
    "/directory/equipment", response_model=EquipmentOut, status_code=201, responses=CREATED
)
def create_equipment(body: EquipmentCreate, user: ApiUser, directory: Directory) -> EquipmentOut:
    """Add a piece of equipment (status available or repair)."""
    return directory.create_equipment(user, body)


@router.patch(
    "/directory/equipment/{equipment_id}", response_model=EquipmentOut, responses=ACTION_RESPONSES
)
def update_equipment(
    equipment_id: RowId, body: EquipmentUpdate, user: ApiUser, directory: Directory
) -> EquipmentOut:
    """Change the fields sent; status moves between available and repair only."""
    return directory.update_equipment(user, equipment_id, body)


@router.get("/directory/busy", response_model=list[AllocationOut])
def busy(_user: ApiUser, directory: Directory, unit: UnitFilter = "") -> list[AllocationOut]:
    """Open allocations of the resources of a unit and the units under it, on the cases the
    caller may see."""
    return directory.busy(unit)


# ---- allocations ---------------------------------------------------------------------------
@router.get("/cases/{ticket}/allocations", response_model=list[AllocationOut], responses=NOT_FOUND)
def list_allocations(ticket: str, _user: ApiUser, directory: Directory) -> list[AllocationOut]:
    """The case's allocations, open and released (404: a case the caller may not see)."""
    return directory.allocations_for(ticket)


@router.post(
    "/cases/{ticket}/allocations",
    status_code=201,
    response_model=list[AllocationOut],
    responses=ACTION_RESPONSES,
)
async def allocate(
    ticket: str, body: AllocateRequest, user: ApiUser, directory: Directory
) -> list[AllocationOut]:
    """Allocate a team and/or equipment to a case in handling; one allocation per resource."""
    return await directory.allocate(
        user, ticket, team_id=body.team_id, equipment_id=body.equipment_id, reason=body.reason
    )


@router.post(
    "/allocations/{allocation_id}/release", response_model=AllocationOut, responses=ACTION_RESPONSES
)
async def release(
    allocation_id: RowId, body: ReleaseRequest, user: ApiUser, directory: Directory
) -> AllocationOut:
    """Release an open allocation before the case leaves handling."""
    return await directory.release(user, allocation_id, reason=body.reason)
