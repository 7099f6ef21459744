"""Read-model lookups the pages of several domains share: names of units and categories, and the
options of their pickers."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import col, select

from core.db import SessionFactory, session_scope
from core.models import Category, Unit


@dataclass
class OptionGroup:
    label: str
    options: list[tuple[str, str]] = field(default_factory=list)  # (value, label)


def category_groups(sessions: SessionFactory) -> list[OptionGroup]:
    with session_scope(sessions) as session:
        rows = session.exec(select(Category).order_by(Category.kind, Category.group_name))
        groups: dict[str, OptionGroup] = {}
        for c in rows:
            group = groups.setdefault(c.group_name, OptionGroup(c.group_name))
            group.options.append((c.key, c.name))
    return list(groups.values())


def dispatch_units(sessions: SessionFactory, district_id: str) -> list[tuple[str, str]]:
    """Streets and departments of the case's district: where a dispatcher usually sends it."""
    if not district_id:
        return []
    with session_scope(sessions) as session:
        rows = session.exec(
            select(Unit)
            .where(col(Unit.level).in_(("street", "dept")), Unit.parent_id == district_id)
            .order_by(col(Unit.level).desc(), Unit.path)  # streets before departments
        )
        return [(u.id, u.name) for u in rows]


def districts_in(sessions: SessionFactory, area: str) -> list[tuple[str, str]]:
    """The districts in `area` (the city's all, a district's itself)."""
    with session_scope(sessions) as session:
        rows = session.exec(
            select(Unit)
            .where(Unit.level == "district")
            .where(col(Unit.path).contains(f"/{area}/", autoescape=True))
            .order_by(Unit.path)
        )
        return [(u.id, u.name) for u in rows]


def category_names(sessions: SessionFactory, keys: list[str]) -> dict[str, str]:
    if not keys:
        return {}
    with session_scope(sessions) as session:
        rows = session.exec(select(Category).where(col(Category.key).in_(keys)))
        return {c.key: c.name for c in rows}


def unit_names(sessions: SessionFactory, ids: list[str]) -> dict[str, str]:
    with session_scope(sessions) as session:
        rows = session.exec(select(Unit).where(col(Unit.id).in_(ids)))
        return {u.id: u.name for u in rows}


def unit_id_named(sessions: SessionFactory, typed: str) -> str:
    """The id of the unit `typed` names (its full name, or its id); as typed when none does,
    for the action to refuse as an unknown unit."""
    with session_scope(sessions) as session:
        if session.get(Unit, typed) is not None:
            return typed
        named = session.exec(select(Unit.id).where(Unit.name == typed).limit(2)).all()
    return named[0] if len(named) == 1 else typed
