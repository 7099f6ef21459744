"""Activities of the recurring-place scan (未诉先办): find the places, open their cases."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity
from temporalio.client import Client

from core.cases.service import CaseService, IntakeRequest
from core.config import Settings
from core.db import SessionFactory, session_scope
from core.intake.service import IntakeService
from core.models import ProactiveSource
from core.proactive.places import recurring_places
from workflows.contracts import Actor, Role
from workflows.proactive.contracts import RecurringPlace, ScanInput

# Who opens a proactive case: the system, on the city centre's behalf (the timeline says so).
PROACTIVE_ACTOR = Actor(
    username="system:proactive", name="未诉先办", role=Role.ADMIN, unit_id="", unit_name="系统"
)


class ProactiveActivities:
    def __init__(self, client: Client, sessions: SessionFactory, settings: Settings) -> None:
        self._client, self._sessions, self._settings = client, sessions, settings

    @activity.defn
    def find_recurring_places(self, inp: ScanInput) -> list[RecurringPlace]:
        """The places of every category that call for a proactive case at `now`."""
        now = inp.now or datetime.now(UTC)
        with session_scope(self._sessions) as session:
            places = recurring_places(
                session, now, self._settings.proactive_rules, self._settings.proactive_default
            )
        return [
            RecurringPlace(
                key=p.key,
                category=p.category,
                category_name=p.category_name,
                tickets=list(p.tickets),
                lat=p.lat,
                lon=p.lon,
                address=p.address,
            )
            for p in places
        ]

    @activity.defn
    async def open_proactive_case(self, place: RecurringPlace) -> str:
        """Open the place's case and record the cases that triggered it. The place's key is the
        intake's idempotency key: a retried activity finds the case it opened."""
        intake = IntakeService(CaseService(self._client, self._sessions, self._settings))
        result = await intake.submit(PROACTIVE_ACTOR, proactive_request(place), key=place.key)
        with session_scope(self._sessions) as session:
            for source in place.tickets:
                if session.get(ProactiveSource, (result.ticket, source)) is None:
                    session.add(
                        ProactiveSource(proactive_ticket=result.ticket, source_ticket=source)
                    )
        activity.logger.info(
            "proactive_case_opened",
            extra={
                "ticket": result.ticket,
                "category": place.category,
                "sources": len(place.tickets),
            },
        )
        return result.ticket


def proactive_request(place: RecurringPlace) -> IntakeRequest:
    listed = "、".join(place.tickets)
    return IntakeRequest(
        title=f"未诉先办：{place.category_name}在此处反复发生"[:200],
        description=(
            f"近期此处已办结 {len(place.tickets)} 件同类工单（{listed}）。"
            "请从根源上排查处置，避免再次发生。"
        ),
        category=place.category,
        lat=place.lat,
        lon=place.lon,
        address=place.address,
        channel="proactive",  # places.PROACTIVE_CHANNEL
        duplicates="new",
    )
