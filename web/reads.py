"""Read-model lookups the pages need: a user's queue, and the options of the forms."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import col, func, select

from core import access, whistles
from core.cases.service import CaseFilter, CaseService
from core.db import SessionFactory, session_scope
from core.intake.service import suggest_categories
from core.models import CaseRecord, Category, Unit, User, WhistleRecord
from workflows.contracts import Role

AREA_LEVELS = ("street", "community", "grid")
QUEUE_SIZE = 200


def queue_for(cases: CaseService, user: User) -> list[CaseRecord]:
    """Open cases for `user`, soonest deadline first, of those the access policy lets them see.

    Handlers work what is assigned to their unit; centre roles watch their whole area.
    """
    if user.role == Role.HANDLER:
        filters = CaseFilter(open_only=True, unit=user.unit_id)
    else:
        filters = CaseFilter(open_only=True, area=user.unit_id)
    return cases.list_cases(filters, viewer=user, size=QUEUE_SIZE).items


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


def case_record(sessions: SessionFactory, ticket: str) -> CaseRecord | None:
    """The case's row of the read model; None until the projection has written it."""
    with session_scope(sessions) as session:
        return session.exec(select(CaseRecord).where(CaseRecord.ticket == ticket)).first()


def category_suggestions(sessions: SessionFactory, text: str) -> list[tuple[str, str]]:
    """(key, name) of the categories the catalog's keywords suggest for a description."""
    if not text.strip():
        return []
    with session_scope(sessions) as session:
        return [(c.key, c.name) for c, _hits in suggest_categories(session, text)]


def unit_names(sessions: SessionFactory, ids: list[str]) -> dict[str, str]:
    with session_scope(sessions) as session:
        rows = session.exec(select(Unit).where(col(Unit.id).in_(ids)))
        return {u.id: u.name for u in rows}


def district_departments(sessions: SessionFactory, district_id: str) -> list[tuple[str, str]]:
    """The departments of the case's district: whom a whistle may summon."""
    if not district_id:
        return []
    with session_scope(sessions) as session:
        rows = session.exec(
            select(Unit)
            .where(Unit.level == "dept", Unit.parent_id == district_id)
            .order_by(Unit.path)
        )
        return [(u.id, u.name) for u in rows]


def open_whistle_count(sessions: SessionFactory, user: User) -> int:
    """The nav's count: open whistles summoning the user's unit or blown by it, that the user
    may see (what /whistles lists)."""
    open_steps = [s.value for s in whistles.OPEN_STEPS]
    unit_id = user.unit_id
    with session_scope(sessions) as session:
        query = (
            select(func.count())
            .select_from(WhistleRecord)
            .where(
                (col(WhistleRecord.dept_id) == unit_id)
                | (col(WhistleRecord.blower_unit_id) == unit_id)
            )
            .where(col(WhistleRecord.step).in_(open_steps))
            .where(access.whistle_clause(session, user))
        )
        return int(session.exec(query).one())
