"""From the directory's forms to its request models: the kinds of rows, their fields, models
and service calls."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from core.cases.service import CaseError
from core.directory.service import (
    DirectoryService,
    EquipmentCreate,
    EquipmentUpdate,
    PersonCreate,
    PersonUpdate,
    TeamCreate,
    TeamUpdate,
)
from core.models import User


@dataclass(frozen=True)
class KindSpec:
    """One kind of directory row: its label, form fields, request models and service calls."""

    label: str
    fields: tuple[str, ...]
    create_model: type[BaseModel]
    update_model: type[BaseModel]
    create: Callable[[DirectoryService, User, Any], BaseModel]
    update: Callable[[DirectoryService, User, int, Any], BaseModel]
    get: Callable[[DirectoryService, int], BaseModel]


KINDS: dict[str, KindSpec] = {
    "teams": KindSpec(
        "队伍",
        ("unit_id", "name", "specialty", "leader", "phone", "active"),
        TeamCreate,
        TeamUpdate,
        DirectoryService.create_team,
        DirectoryService.update_team,
        DirectoryService.team,
    ),
    "people": KindSpec(
        "人员",
        ("unit_id", "team_id", "name", "role", "phone", "active"),
        PersonCreate,
        PersonUpdate,
        DirectoryService.create_person,
        DirectoryService.update_person,
        DirectoryService.person,
    ),
    "equipment": KindSpec(
        "装备",
        ("unit_id", "type", "name", "serial", "status", "note"),
        EquipmentCreate,
        EquipmentUpdate,
        DirectoryService.create_equipment,
        DirectoryService.update_equipment,
        DirectoryService.equipment,
    ),
}


def request_data(values: dict[str, str]) -> dict[str, Any]:
    """Form text as the request models take it: no team is null, a box is ticked or not."""
    data: dict[str, Any] = dict(values)
    if "team_id" in data:
        data["team_id"] = row_id(values["team_id"], "team_id", "team")
    if "active" in data:
        data["active"] = values["active"] == "true"
    return data


def row_id(value: str, field: str, what: str) -> int | None:
    if not value:
        return None
    if not value.isdigit():
        raise CaseError(422, f"unknown {what} {value!r}", field, code="not_found")
    return int(value)
