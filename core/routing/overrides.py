"""Routing overrides: the rules supervisors accept from the learning report (or write alone).

An override sends a category's cases in a street (or a whole district) to a named unit first,
before the catalogue's rule (activities/case.py `route_case`). Accepting a new one for the same
pair ends the old one; nothing is deleted, so the trail says who routed what, when and why.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from core import access
from core.errors import CaseError
from core.models import Category, RoutingOverride, Unit, User
from workflows.contracts import Role

AREA_LEVELS = ("district", "street")


class OverrideIn(BaseModel):
    category: str = Field(min_length=1, max_length=64, description="catalogue key")
    area_unit_id: str = Field(min_length=1, max_length=64, description="a street or a district")
    unit_id: str = Field(min_length=1, max_length=64, description="the unit dispatched first")
    reason: str = Field(min_length=2, max_length=500, description="why (e.g. the report's figures)")


class RevokeIn(BaseModel):
    reason: str = Field(min_length=2, max_length=500)


class OverrideOut(BaseModel):
    id: int
    category: str
    area_unit_id: str
    unit_id: str
    reason: str
    accepted_by: str
    accepted_at: datetime
    revoked_by: str
    revoked_at: datetime | None
    revoke_reason: str


def accept(session: Session, user: User, body: OverrideIn) -> OverrideOut:
    """Record `body` as the pair's override, ending the one before it.

    Raises:
        CaseError: 403 but for a supervisor of the area; 422 naming the unknown field.
    """
    area = _area(session, user, body.area_unit_id)
    if session.get(Category, body.category) is None:
        raise CaseError(422, f"unknown category {body.category!r}", "category")
    if session.get(Unit, body.unit_id) is None:
        raise CaseError(422, f"unknown unit {body.unit_id!r}", "unit_id")
    now = datetime.now(UTC)
    for old in _active(session, body.category, area.id):
        _end(old, user, now, "由新的派遣规则取代")
        session.add(old)
    row = RoutingOverride(**body.model_dump(), accepted_by=user.username, accepted_at=now)
    session.add(row)
    session.flush()
    return OverrideOut.model_validate(row, from_attributes=True)


def revoke(session: Session, user: User, override_id: int, body: RevokeIn) -> OverrideOut:
    row = session.get(RoutingOverride, override_id)
    if row is None or row.revoked_at is not None:
        raise CaseError(404, f"no active routing override {override_id}")
    _area(session, user, row.area_unit_id)
    _end(row, user, datetime.now(UTC), body.reason)
    session.add(row)
    return OverrideOut.model_validate(row, from_attributes=True)


def listed(session: Session, user: User) -> list[OverrideOut]:
    """The overrides of `user`'s area, newest first, ended ones included."""
    rows = session.exec(
        select(RoutingOverride, Unit)
        .join(Unit, col(Unit.id) == RoutingOverride.area_unit_id)
        .where(access.covers_clause(user, Unit.path))
        .order_by(col(RoutingOverride.id).desc())
    )
    return [OverrideOut.model_validate(row, from_attributes=True) for row, _unit in rows]


def for_case(session: Session, category: str, street_id: str, district_id: str) -> str:
    """The unit an active override sends the case to: the street's, else the district's, or ""."""
    for area in (street_id, district_id):
        if area:
            for row in _active(session, category, area):
                return row.unit_id
    return ""


def _area(session: Session, user: User, area_unit_id: str) -> Unit:
    if user.role != Role.SUPERVISOR:
        raise CaseError(403, f"role {user.role} may not change routing")
    area = session.get(Unit, area_unit_id)
    if area is None or area.level not in AREA_LEVELS:
        raise CaseError(422, f"{area_unit_id!r} is no street or district", "area_unit_id")
    if not access.covers(user, area.path):
        raise CaseError(403, f"{area_unit_id} lies outside your area")
    return area


def _active(session: Session, category: str, area_unit_id: str) -> list[RoutingOverride]:
    return list(
        session.exec(
            select(RoutingOverride).where(
                RoutingOverride.category == category,
                RoutingOverride.area_unit_id == area_unit_id,
                col(RoutingOverride.revoked_at).is_(None),
            )
        )
    )


def _end(row: RoutingOverride, user: User, now: datetime, reason: str) -> None:
    row.revoked_by, row.revoked_at, row.revoke_reason = user.username, now, reason
