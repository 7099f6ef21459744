"""The major-event domain service: what the generic case routes ask of this type.

Start an event from an intake body, resolve the units an action names (with their escalation
chains), turn a link filter into tickets, and say who may see an event.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from core import access
from core.cases.tickets import next_serial
from core.cases.types import claim_ticket
from core.config import Settings
from core.db import SessionFactory, session_scope
from core.directory.org import area_path, as_unit, location_of, supervisors_of
from core.errors import CaseError
from core.major_events.settings import get_major_event_settings
from core.models import CaseRecord, User
from core.models import Unit as UnitRow
from workflows import registry
from workflows.contracts import Actor, Location, Role, Unit
from workflows.major_event.contracts import (
    EVENT_TYPES,
    Appoint,
    AssignTask,
    Classification,
    LinkCases,
    MajorEventInput,
    MajorEventPolicy,
    MajorEventState,
    OrderStation,
)
from workflows.major_event.workflow import MajorEventWorkflow, start_search_attributes
from workflows.shared import idempotency
from workflows.shared.workcal import CST

Handle = WorkflowHandle[MajorEventWorkflow, MajorEventState]
EventType = Literal["natural_disaster", "accident_disaster", "public_health", "social_security"]


class MajorEventIntake(BaseModel):
    """A major event as the centre receives it (接报), classified at once."""

    case_type: Literal["major_event"]
    title: str = Field(min_length=2, max_length=200)
    event_type: EventType
    sub_type: str = Field(default="", max_length=32)
    grade: Literal["I", "II", "III", "IV"]
    location_unit_id: str = Field(min_length=1, max_length=64)
    description: str = Field(default="", max_length=5000)
    reporter_name: str = Field(default="", max_length=100)
    reporter_phone: str = Field(default="", pattern=r"^[0-9+\- ]{0,20}$")


class MajorEventService:
    intake_model = MajorEventIntake

    def __init__(self, client: Client, sessions: SessionFactory, settings: Settings) -> None:
        self.client, self.sessions, self.settings = client, sessions, settings

    def policy(self) -> MajorEventPolicy:
        return get_major_event_settings().policy()

    # ---- start ------------------------------------------------------------------------
    async def start(
        self, actor: Actor, body: MajorEventIntake, *, key: str = ""
    ) -> MajorEventState:
        """Start the event (a retry under the same Idempotency-Key finds the first one)."""
        if body.sub_type and body.sub_type not in EVENT_TYPES[body.event_type][1]:
            raise CaseError(
                422, f"unknown sub-type {body.sub_type!r}", "sub_type", code="major_sub_type"
            )
        digest = idempotency.fingerprint("intake:major_event", body.model_dump(mode="json"))
        with session_scope(self.sessions) as session:
            ticket, retry = claim_ticket(
                session, actor, key, digest, lambda: self._mint_ticket(session)
            )
            inp = self.event_input(session, actor, body, ticket=ticket)
        try:
            await self.begin(inp)
        except WorkflowAlreadyStartedError:
            if not retry:
                raise CaseError(
                    409, f"ticket {ticket} is taken by another case", code="ticket_taken"
                ) from None
        return await self.live(inp.ticket)

    async def begin(self, inp: MajorEventInput) -> None:
        await self.client.start_workflow(
            MajorEventWorkflow.run,
            inp,
            id=registry.MAJOR_EVENT.workflow_id(inp.ticket),
            task_queue=self.settings.task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=start_search_attributes(inp),
        )

    def event_input(
        self, session: Session, actor: Actor, body: MajorEventIntake, *, ticket: str = ""
    ) -> MajorEventInput:
        location, city, district = self._location(session, body.location_unit_id)
        return MajorEventInput(
            ticket=ticket or self._mint_ticket(session),
            title=body.title,
            classification=Classification(body.event_type, body.sub_type, body.grade),
            location=location,
            reporter=actor,
            received_at=datetime.now(UTC),
            city=city,
            district=district,
            description=body.description,
            reporter_name=body.reporter_name,
            reporter_phone=body.reporter_phone,
            policy=self.policy(),
        )

    def _location(self, session: Session, unit_id: str) -> tuple[Location, Unit, Unit | None]:
        unit = session.get(UnitRow, unit_id)
        if unit is None or unit.level == "dept":
            raise CaseError(
                422, f"unknown area unit {unit_id!r}", "location_unit_id", code="unknown_area"
            )
        path = area_path(session, unit)
        city = next(u for u in path if u.level == "city")
        district = next((u for u in path if u.level == "district"), None)
        location = location_of(unit, path)
        return location, as_unit(city), as_unit(district) if district else None

    def _mint_ticket(self, session: Session) -> str:
        """ME-<prefix><day>-0001: the type's own serial of the day (China time)."""
        day = datetime.now(CST).strftime("%Y%m%d")
        key = f"M{day[1:]}"  # the counter table's day column: 8 characters
        return f"ME-{self.settings.ticket_prefix}{day}-{next_serial(session, key):04d}"

    # ---- actions ------------------------------------------------------------------------
    def prepare(self, user: User, action: str, cmd: Any) -> Any:
        """Resolve what an action names (units and their chains, a link filter)."""
        with session_scope(self.sessions) as session:
            if isinstance(cmd, OrderStation):
                rows = [self._unit(session, u, "unit_ids") for u in cmd.unit_ids]
                cmd.units = [as_unit(r) for r in rows]
                cmd.chains = [supervisors_of(session, r.id) for r in rows]
            elif isinstance(cmd, AssignTask):
                row = self._unit(session, cmd.unit_id, "unit_id")
                cmd.unit, cmd.chain = as_unit(row), supervisors_of(session, row.id)
            elif isinstance(cmd, Appoint):
                for person in (cmd.commander, *cmd.deputies):
                    person.name = self._name(session, person.username)
            elif isinstance(cmd, LinkCases):
                cmd.tickets = [*cmd.tickets, *self._matching(session, user, cmd)]
        return cmd

    def _name(self, session: Session, username: str) -> str:
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None:
            raise CaseError(422, f"unknown user {username!r}", "commander", code="unknown_user")
        return user.display_name

    def _unit(self, session: Session, unit_id: str, field: str) -> UnitRow:
        unit = session.get(UnitRow, unit_id)
        if unit is None:
            raise CaseError(422, f"unknown unit {unit_id!r}", field, code="unknown_unit")
        return unit

    def _matching(self, session: Session, user: User, cmd: LinkCases) -> list[str]:
        """The open city events a link filter names (category, area, opened since)."""
        if not (cmd.category or cmd.area or cmd.since):
            return []
        query = select(CaseRecord.ticket).where(access.case_clause(session, user))
        if cmd.category:
            query = query.where(CaseRecord.category == cmd.category)
        if cmd.area:
            query = query.where(col(CaseRecord.location_path).contains(f"/{cmd.area}/"))
        if cmd.since:
            query = query.where(col(CaseRecord.created_at) >= cmd.since)
        return list(session.exec(query.order_by(col(CaseRecord.created_at)).limit(500)))

    # ---- reads --------------------------------------------------------------------------
    async def live(self, ticket: str) -> MajorEventState:
        handle: Handle = self.client.get_workflow_handle(registry.MAJOR_EVENT.workflow_id(ticket))
        return await handle.query(MajorEventWorkflow.get_state)

    def may_see(self, user: access.Principal, state: MajorEventState) -> bool:
        """Staff of the city, of the event's area, or of a unit on its board."""
        if not access.is_staff(user) and user.role != Role.ADMIN:
            return False
        units = {state.city.id, *state.location.path, *(b.unit.id for b in state.board)}
        return user.unit_id in units
