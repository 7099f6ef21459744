"""The org tree: who supervises a unit, as the escalation ladder climbs it."""

from __future__ import annotations

from sqlmodel import Session, col, select

from core.models import Unit as UnitRow
from workflows.contracts import Unit


def as_unit(row: UnitRow) -> Unit:
    return Unit(id=row.id, name=row.name, level=row.level)


def supervisors_of(session: Session, unit_id: str) -> list[Unit]:
    """The unit's ancestors, nearest first: grid → community → street → district → city.

    A department climbs to the government it belongs to (district, then city).
    """
    row = session.get(UnitRow, unit_id)
    if row is None:
        return []
    ids = [p for p in row.path.split("/") if p and p != unit_id]
    rows = {u.id: u for u in session.exec(select(UnitRow).where(col(UnitRow.id).in_(ids)))}
    return [as_unit(rows[i]) for i in reversed(ids) if i in rows]
