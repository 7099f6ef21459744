"""Read-model queries of the intake forms: the area picker and category suggestions."""

from __future__ import annotations

from sqlmodel import col, select

from core.db import SessionFactory, session_scope
from core.intake.service import suggest_categories
from core.models import Unit
from web.lookups import OptionGroup

AREA_LEVELS = ("street", "community", "grid")


def area_groups(sessions: SessionFactory) -> list[OptionGroup]:
    """Streets, communities and grids, one group per district, in tree order."""
    with session_scope(sessions) as session:
        found = session.exec(select(Unit).where(Unit.level == "district"))
        districts = {u.id: u.name for u in found}
        rows = session.exec(
            select(Unit).where(col(Unit.level).in_(AREA_LEVELS)).order_by(Unit.path)
        ).all()
    groups: dict[str, OptionGroup] = {}
    for unit in rows:
        district = next((p for p in unit.path.split("/") if p in districts), "")
        indent = "\u3000" * AREA_LEVELS.index(unit.level)  # full-width spaces survive in <option>
        group = groups.setdefault(district, OptionGroup(districts.get(district, "其他")))
        group.options.append((unit.id, indent + unit.name))
    return list(groups.values())


def category_suggestions(sessions: SessionFactory, text: str) -> list[tuple[str, str]]:
    """(key, name) of the categories the catalog's keywords suggest for a description."""
    if not text.strip():
        return []
    with session_scope(sessions) as session:
        return [(c.key, c.name) for c, _hits in suggest_categories(session, text)]
