"""The org tree: who supervises a unit, as the escalation ladder climbs it; where an area is."""

from __future__ import annotations

from sqlmodel import Session, col, select

from core.models import Unit as UnitRow
from workflows.contracts import Location, Unit


def as_unit(row: UnitRow) -> Unit:
    return Unit(id=row.id, name=row.name, level=row.level)


def supervisors_of(session: Session, unit_id: str) -> list[Unit]:
    """The unit's ancestors, nearest first: grid → community → street → district → city.

    A department climbs to the government it belongs to (district, then city).
    """
    row = session.get(UnitRow, unit_id)
    if row is None:
        return []
    return [as_unit(u) for u in reversed(_rows(session, row.path)) if u.id != unit_id]


def area_path(session: Session, unit: UnitRow) -> list[UnitRow]:
    """The rows of an area unit's path, the city first and the unit last."""
    return _rows(session, unit.path)


def location_of(
    unit: UnitRow,
    path: list[UnitRow],
    *,
    address: str = "",
    lat: float | None = None,
    lon: float | None = None,
) -> Location:
    """Where an event in area `unit` is, its district and street named from `path`."""
    district = next((u for u in path if u.level == "district"), None)
    street = next((u for u in path if u.level == "street"), None)
    return Location(
        unit_id=unit.id,
        path=[p for p in unit.path.split("/") if p],
        district_id=district.id if district else "",
        district_name=district.name if district else "",
        street_id=street.id if street else "",
        street_name=street.name if street else "",
        address=address,
        lat=lat,
        lon=lon,
    )


def _rows(session: Session, path: str) -> list[UnitRow]:
    """The units of a materialised path (`/city/district/…/`), in its order."""
    ids = [p for p in path.split("/") if p]
    rows = {u.id: u for u in session.exec(select(UnitRow).where(col(UnitRow.id).in_(ids)))}
    return [rows[i] for i in ids if i in rows]
