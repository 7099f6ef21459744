"""JSON API: the registered case types, their actions and who may take them (the registry)."""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import ApiUser
from workflows import registry

router = APIRouter(prefix="/case-types", tags=["cases"])
SERVER_FIELDS = frozenset({"actor", "units", "chains", "unit", "chain"})  # filled by the server


class ActionOut(BaseModel):
    name: str
    label: str
    roles: list[str]
    fields: list[str]


class CaseTypeOut(BaseModel):
    name: str
    label: str
    startable: bool  # by the caller
    actions: list[ActionOut]


@router.get("", response_model=list[CaseTypeOut])
def list_case_types(user: ApiUser) -> list[CaseTypeOut]:
    """Every registered type; `startable` says whether the caller may start one at intake."""
    mine = set(registry.startable_by(user.role))
    return [
        CaseTypeOut(
            name=t.name,
            label=t.label,
            startable=t in mine,
            actions=[
                ActionOut(
                    name=a.name,
                    label=a.label,
                    roles=sorted(a.roles),
                    fields=[
                        f.name for f in dataclasses.fields(a.input) if f.name not in SERVER_FIELDS
                    ],
                )
                for a in t.actions
            ],
        )
        for t in registry.all_types()
    ]
