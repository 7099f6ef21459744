"""Activities of the measures domain: 未诉先办, opening a proactive case per recurring place.

Each case is opened through the intake service under an idempotency key made of the place's
category and its triggering tickets, so a retried activity or the next scheduled run finds the
case it opened instead of opening another.
"""

from __future__ import annotations

import hashlib

from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar
from temporalio import activity
from temporalio.client import Client

from core.cases.service import CaseService, IntakeRequest
from core.config import Settings
from core.db import SessionFactory, session_scope
from core.intake.service import IntakeService
from core.measures.recurring import Place, recurring_places
from core.models import Category
from workflows.contracts import Actor, Role
from workflows.measures.contracts import ProactiveCasesInput, ProactiveCasesResult

# The city centre opens them (its area is every place; dispatch routes them as any case).
CENTRE = Actor(username="system", name="未诉先办", role=Role.DISPATCHER, unit_id="nj")


class ProactiveActivities:
    def __init__(self, client: Client, sessions: SessionFactory, settings: Settings) -> None:
        self._sessions = sessions
        self._intake = IntakeService(CaseService(client, sessions, settings))

    @activity.defn
    async def open_proactive_cases(self, inp: ProactiveCasesInput) -> ProactiveCasesResult:
        assert inp.now is not None  # the workflow sets it
        with session_scope(self._sessions) as session:
            places = recurring_places(
                session,
                inp.now,
                days=inp.days,
                radius_m=inp.radius_m,
                min_cases=inp.min_cases,
                per_category=inp.per_category,
            )
            names = {c.key: c.name for c in session.exec(_categories(places))}
        opened = []
        for place in places:
            result = await self._intake.submit(CENTRE, _request(place, names), key=_key(place))
            activity.logger.info("proactive_case_opened", extra={"ticket": result.ticket})
            opened.append(result.ticket)
        return ProactiveCasesResult(opened=opened)


def _categories(places: list[Place]) -> SelectOfScalar[Category]:
    return select(Category).where(col(Category.key).in_({p.category for p in places}))


def _request(place: Place, names: dict[str, str]) -> IntakeRequest:
    name = names.get(place.category, place.category)
    tickets = "、".join(sorted(place.tickets))
    return IntakeRequest(
        title=f"未诉先办：{name}反复发生",
        description=f"同一地点（100米内）近期已结案{len(place.tickets)}次：{tickets}。请从根源处置。",
        category=place.category,
        lat=round(place.lat, 6),
        lon=round(place.lon, 6),
        channel="web",
        duplicates="new",
    )


def _key(place: Place) -> str:
    digest = hashlib.sha256("|".join(sorted(place.tickets)).encode()).hexdigest()[:24]
    return f"proactive:{digest}"
