"""Read-model queries of the 吹哨报到 parts of the UI: whom a whistle may summon, and the
nav's count of open whistles."""

from __future__ import annotations

from sqlmodel import col, func, select

from core import access, whistles
from core.db import SessionFactory, session_scope
from core.models import Unit, User, WhistleRecord


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
    """The nav's count: open whistles summoning the user's unit or blown by it or a unit below
    it, that the user may see (what /whistles lists)."""
    open_steps = [s.value for s in whistles.OPEN_STEPS]
    unit_id = user.unit_id
    below = select(Unit.id).where(col(Unit.path).contains(f"/{unit_id}/", autoescape=True))
    with session_scope(sessions) as session:
        query = (
            select(func.count())
            .select_from(WhistleRecord)
            .where(
                (col(WhistleRecord.dept_id) == unit_id)
                | col(WhistleRecord.blower_unit_id).in_(below)
            )
            .where(col(WhistleRecord.step).in_(open_steps))
            .where(access.whistle_clause(session, user))
        )
        return int(session.exec(query).one())
