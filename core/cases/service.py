"""Case operations shared by the JSON API and the web UI: intake, actions, reads.

The adapters parse and render; this module authorises, talks to Temporal and reads the SQL
read model, and turns every refusal into a `CaseError` with an HTTP status, a reason and,
where one is to blame, a field.
"""

from __future__ import annotations

import base64
import dataclasses
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import RawValue, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from core import access, metrics
from core.attachments.store import is_sha256
from core.cases import codes
from core.cases.tickets import next_serial
from core.config import Settings
from core.db import SessionFactory, session_scope
from core.directory.org import area_path, location_of, supervisors_of
from core.errors import CaseError, IntakePending
from core.intake.geo import boundaries
from core.logs import get_logger
from core.models import (
    CaseAttachment,
    CaseEventRecord,
    CaseRecord,
    Category,
    LinkedReportRecord,
    Unit,
    User,
)
from core.notify.addresses import EMAIL_PATTERN
from workflows import registry
from workflows.case.workflow import start_search_attributes
from workflows.contracts import (
    TERMINAL,
    Action,
    Actor,
    CallbackOutcome,
    CaseEvent,
    CaseInput,
    CasePolicy,
    CaseState,
    Command,
    Location,
    Rating,
    Role,
)
from workflows.shared import idempotency
from workflows.shared.rejection import from_error
from workflows.shared.workcal import CST

log = get_logger(__name__)
INTAKE_ROLES = frozenset({Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR})
IDEMPOTENCY_KEY = r"^[A-Za-z0-9_.:-]{1,100}$"


class IntakeRequest(BaseModel):
    """A new case as an operator or another system reports it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "title": "宁海路暴露垃圾",
                    "category": "exposed_garbage",
                    "location_unit_id": "gl-nhl-c1-g1",
                    "duplicates": "new",
                }
            ]
        }
    )

    title: str = Field(min_length=2, max_length=200)
    description: str = Field(default="", max_length=5000)
    category: str = Field(min_length=1, max_length=64)
    location_unit_id: str = Field(
        default="",
        max_length=64,
        description="area unit (grid…district); a map point (lat, lon) is resolved instead",
    )
    address: str = Field(default="", max_length=300)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    priority: Literal["normal", "urgent"] = "normal"
    case_type: str = "city_event"
    channel: Literal["hotline", "patrol", "sensor", "citizen", "open311", "web", "proactive"] = (
        "hotline"
    )
    external_id: str = Field(default="", pattern=r"^[A-Za-z0-9_.-]{0,40}$")
    request_kind: Literal["", "咨询", "求助", "投诉", "举报", "建议"] = ""
    reporter_name: str = Field(default="", max_length=100)
    reporter_phone: str = Field(default="", pattern=r"^[0-9+\- ]{0,20}$")
    reporter_email: str = Field(
        default="",
        max_length=254,
        pattern=EMAIL_PATTERN,
        description="where the reporter is sent the tracking link and the result (optional)",
    )
    auto_dispatch: bool = True
    direct_answer: str = Field(
        default="", max_length=5000, description="a 咨询 answered on the spot: closes the case"
    )
    attachments: list[Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]] = Field(
        default_factory=list, max_length=10, description="sha256 of uploaded files"
    )
    merge_into: str = Field(
        default="", pattern=r"^[A-Za-z0-9_.-]{0,80}$", description="ticket this report duplicates"
    )
    duplicates: Literal["ask", "new", "auto"] = Field(
        default="ask",
        description="ask: 409 with candidates; new: never merge; auto: merge a certain one",
    )
    publish: bool = Field(
        default=False,
        description="the reporter agreed to publish the text (personal information removed)",
    )


class ActionRequest(BaseModel):
    """The body of a human action; which fields an action needs is checked by the workflow."""

    reason: str = Field(default="", max_length=2000)
    note: str = Field(default="", max_length=5000)
    unit_id: str = Field(default="", max_length=64)
    hours: int = Field(default=0, ge=0, le=10000)
    approve: bool = False
    passed: bool = False
    rating: str = Field(default="", max_length=32)
    outcome: CallbackOutcome | None = Field(
        default=None, description="record_callback: 已解决 / 未解决 / 联系不上 (no rating needed)"
    )
    evidence: list[str] = Field(default_factory=list, max_length=20)
    category: str = Field(default="", max_length=64, description="change_category")
    priority: str = Field(default="", max_length=16, description="change_priority")
    review_at: datetime | None = Field(default=None, description="park: when to review")
    expected_version: int | None = Field(
        default=None,
        ge=0,
        le=2**31 - 1,
        description="the case's `last_seq` the client saw; 409 with code `stale` if it changed",
    )


class CitizenRating(BaseModel):
    """评价 from the tracking page: the reporter's own 回访."""

    rating: Rating
    outcome: CallbackOutcome | None = None
    comment: str = Field(default="", max_length=500)


# Who a citizen's 评价 is recorded as on the timeline.
CITIZEN = Actor(username="public", name="市民", role=Role.PUBLIC, unit_id="")


class CaseFilter(BaseModel):
    """Which cases a list, a queue or a bulk override is about (read-model columns)."""

    status: str = Field(default="", max_length=16)
    category: str = Field(default="", max_length=64)
    district: str = Field(default="", max_length=64)
    unit: str = Field(default="", max_length=64, description="assigned unit")
    area: str = Field(default="", max_length=64, description="a unit whose area holds the case")
    overdue: bool | None = None
    escalated: bool | None = None
    open_only: bool = False

    def apply(self, query: SelectOfScalar[CaseRecord]) -> SelectOfScalar[CaseRecord]:
        for column, value in (
            (CaseRecord.status, self.status),
            (CaseRecord.category, self.category),
            (CaseRecord.district_id, self.district),
            (CaseRecord.assigned_unit_id, self.unit),
        ):
            if value:
                query = query.where(column == value)
        if self.area:
            path = col(CaseRecord.location_path)
            query = query.where(path.contains(f"/{self.area}/", autoescape=True))
        if self.overdue is not None:
            query = query.where(CaseRecord.overdue == self.overdue)
        if self.escalated is not None:
            level = col(CaseRecord.escalation_level)
            query = query.where(level > 0 if self.escalated else level == 0)
        if self.open_only:
            query = query.where(col(CaseRecord.status).not_in([s.value for s in TERMINAL]))
        return query


@dataclass
class Reporter:
    ticket: str
    channel: str
    taken_by: str
    name: str
    phone: str
    split: bool = False


@dataclass
class CasePage:
    items: list[CaseRecord]
    total: int
    page: int
    size: int


class CaseService:
    def __init__(self, client: Client, sessions: SessionFactory, settings: Settings) -> None:
        self.client, self.sessions, self.settings = client, sessions, settings
        self._calendar = read_calendar_file(settings.calendar_file)
        self._unit_names: dict[str, str] = {}

    # ---- intake ------------------------------------------------------------------------
    async def intake(self, user: User, req: IntakeRequest) -> CaseState:
        """Start (or, for a known external id, find) the case and return it once routed."""
        actor = self.actor(user)
        if actor.role not in INTAKE_ROLES:
            raise CaseError(403, f"role {actor.role} may not record new cases", code="intake_role")
        with session_scope(self.sessions) as session:
            inp = self.case_input(session, actor, req)
        return await self.start(inp)

    async def start(self, inp: CaseInput, *, reuse: bool = False) -> CaseState:
        """Start the case `inp` describes and return it once routed.

        `reuse`: a case already running under this ticket is the one meant (a retry), as it
        always is for an external id.
        """
        case_type = registry.get(inp.case_type)
        if case_type is None or not case_type.startable:
            raise CaseError(
                422, f"unknown case type {inp.case_type!r}", "case_type", code="unknown_case_type"
            )
        op = WithStartWorkflowOperation(
            case_type.workflow.run,  # type: ignore[attr-defined]
            inp,
            id=case_type.workflow_id(inp.ticket),
            task_queue=self.settings.task_queue,
            # A repeated external id finds its case; a minted ticket must never meet another case.
            id_conflict_policy=(
                WorkflowIDConflictPolicy.USE_EXISTING
                if reuse or inp.external_id
                else WorkflowIDConflictPolicy.FAIL
            ),
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=start_search_attributes(inp),
        )
        structlog.contextvars.bind_contextvars(ticket=inp.ticket)
        log.info("case_intake", category=inp.category, channel=inp.channel)
        return await self._confirm(op, inp.ticket, reuse=reuse or bool(inp.external_id))

    async def _confirm(
        self, op: WithStartWorkflowOperation, ticket: str, *, reuse: bool
    ) -> CaseState:
        try:
            return await self.client.execute_update_with_start_workflow(
                "confirm_intake",
                start_workflow_operation=op,
                result_type=CaseState,
                rpc_timeout=timedelta(seconds=self.settings.intake_wait_seconds),
            )
        except WorkflowAlreadyStartedError:
            if not reuse:
                raise CaseError(
                    409, f"ticket {ticket} is taken by another case", code="ticket_taken"
                ) from None
            return await self.live_state(ticket)  # the external id's case, finished already
        except WorkflowUpdateRPCTimeoutOrCancelledError:
            raise await self._pending(ticket) from None
        except RPCError as err:
            raise rpc_error(err, ticket) from None

    async def _pending(self, ticket: str) -> Exception:
        """Routing did not answer in time: 202 if the case provably runs, else 503 (a retry
        with the same key or external id finds or starts the same case)."""
        handle = self.client.get_workflow_handle(self._workflow_id(ticket))
        try:
            await handle.describe(rpc_timeout=timedelta(seconds=5))
        except RPCError as err:
            return CaseError(
                503, f"case {ticket} may not have started: {err.message}", code="unavailable"
            )
        try:
            state = await handle.query(
                "get_state", result_type=CaseState, rpc_timeout=timedelta(seconds=2)
            )
        except RPCError:
            state = None  # no worker answers yet; the ticket is all there is to say
        return IntakePending(ticket, state, self.tracking_token(ticket))

    def case_input(
        self,
        session: Session,
        actor: Actor,
        req: IntakeRequest,
        *,
        ticket: str = "",
        triage_outside: bool = False,
    ) -> CaseInput:
        """The workflow input for `req`: category policy, resolved location, ticket.

        `triage_outside`: a point outside the city goes to the city centre for manual triage
        (a channel that cannot be asked again, a sensor) instead of being refused.
        """
        category = session.get(Category, req.category)
        if category is None:
            raise CaseError(
                422, f"unknown category {req.category!r}", "category", code="unknown_category"
            )
        if req.direct_answer.strip() and req.request_kind != "咨询":
            raise CaseError(
                422,
                "only a 咨询 can be answered directly",
                "direct_answer",
                code="direct_answer_kind",
            )
        location = self._location(session, req, triage_outside=triage_outside)
        inp = CaseInput(
            ticket="",
            case_type=req.case_type,
            title=req.title,
            description=req.description,
            category=category.key,
            category_name=category.name,
            category_kind=category.kind,
            location=location,
            policy=self.policy(category),
            reporter=actor,
            channel=req.channel,
            external_id=req.external_id,
            priority=req.priority,
            reporter_name=req.reporter_name,
            reporter_phone=req.reporter_phone,
            request_kind=req.request_kind,
            auto_dispatch=req.auto_dispatch,
            received_at=datetime.now(UTC),
            direct_answer=req.direct_answer.strip(),
            attachments=list(dict.fromkeys(req.attachments)),
        )
        return self.with_ticket(inp, ticket or self.ticket_for(session, req))

    def with_ticket(self, inp: CaseInput, ticket: str) -> CaseInput:
        """`inp` under `ticket`, with the tracking token that ticket always gets."""
        return dataclasses.replace(inp, ticket=ticket, tracking_token=self.tracking_token(ticket))

    def tracking_token(self, ticket: str) -> str:
        """The citizen's token for `ticket`: derived, so a retried or concurrent report of the
        same ticket answers with the token that was stored (an HMAC under the secret key)."""
        mac = hmac.new(self.settings.secret_key.encode(), f"track:{ticket}".encode(), "sha256")
        return base64.urlsafe_b64encode(mac.digest()[:16]).decode().rstrip("=")

    def query_code(self, ticket: str) -> str:
        """The citizen's short query code for `ticket` (see core.cases.codes)."""
        return codes.query_code(self.settings.secret_key, ticket)

    def _location(self, session: Session, req: IntakeRequest, *, triage_outside: bool) -> Location:
        unit = session.get(Unit, self._area_unit_id(session, req, triage_outside))
        if unit is None or unit.level == "dept":
            raise CaseError(
                422,
                f"unknown area unit {req.location_unit_id!r}",
                "location_unit_id",
                code="unknown_area",
            )
        path = area_path(session, unit)
        return location_of(unit, path, address=req.address, lat=req.lat, lon=req.lon)

    def _area_unit_id(self, session: Session, req: IntakeRequest, triage_outside: bool) -> str:
        """The area unit of the report: its map point's, else the unit it names."""
        if (req.lat is None) != (req.lon is None):
            raise CaseError(
                422,
                "a map point needs both lat and lon",
                "lon" if req.lon is None else "lat",
                code="point_incomplete",
            )
        if req.lat is None or req.lon is None:
            if not req.location_unit_id:
                raise CaseError(
                    422,
                    "a location is needed: a map point (lat, lon) or an area unit",
                    "location",
                    code="location_needed",
                )
            return req.location_unit_id
        unit_id = boundaries(self.settings.boundaries_file).resolve(req.lat, req.lon)
        if unit_id is not None:
            return unit_id
        if not triage_outside:
            raise CaseError(
                422, "the point lies outside the city's boundaries", "lat", code="point_outside"
            )
        city = session.exec(select(Unit).where(Unit.level == "city")).first()
        if city is None:
            raise CaseError(503, "the org tree has no city unit", code="unavailable")
        return city.id  # the city centre triages it by hand

    def policy(self, category: Category) -> CasePolicy:
        extra_work, extra_off = self._calendar
        return CasePolicy(
            working_time=category.working_time,
            limits=dict(category.limits),
            day_start=self.settings.workday_start,
            day_end=self.settings.workday_end,
            extra_workdays=extra_work,
            extra_holidays=extra_off,
            reminders=list(category.reminders or self.settings.reminders),
            grace=dict(self.settings.escalation_grace),
        )

    def ticket_for(self, session: Session, req: IntakeRequest) -> str:
        """The report's ticket: its external id's, or the next serial of the day."""
        return f"EX-{req.external_id}" if req.external_id else self._mint_ticket(session)

    def _mint_ticket(self, session: Session) -> str:
        """Next serial of the day in China time: CL20261129-000001."""
        day = datetime.now(CST).strftime("%Y%m%d")
        return f"{self.settings.ticket_prefix}{day}-{next_serial(session, day):06d}"

    # ---- actions -----------------------------------------------------------------------
    async def act(
        self, user: User, ticket: str, action: str, req: ActionRequest, *, key: str = ""
    ) -> CaseState:
        """Run one human action as an Update; a validator refusal becomes a CaseError."""
        with metrics.action(action):
            state: CaseState = await self._update(user, ticket, action, req, CaseState, key)
        return state

    async def act_json(
        self, user: User, ticket: str, action: str, req: ActionRequest, *, key: str = ""
    ) -> bytes:
        """The same, answered with the workflow's own JSON of the new state.

        The JSON API passes it through rather than decoding and re-encoding ~2 KB per action.
        """
        with metrics.action(action):
            raw: RawValue = await self._update(user, ticket, action, req, RawValue, key)
        return raw.payload.data

    async def _update(
        self,
        user: User,
        ticket: str,
        action: str,
        req: ActionRequest,
        result_type: type,
        key: str,
    ) -> Any:
        try:
            act = Action(action)
        except ValueError:
            raise CaseError(404, f"unknown action {action!r}", code="unknown_action") from None
        structlog.contextvars.bind_contextvars(ticket=ticket)
        try:
            cmd = self.command(user, act, req)
        except CaseError as err:  # a target the user may not send to, on a case they may see?
            raise await self._hidden_or(err, user, ticket) from None
        handle = self.client.get_workflow_handle(self._workflow_id(ticket))
        try:
            result = await execute_update(
                handle,
                act.value,
                cmd,
                ticket=ticket,
                update_id=action_update_id(user, act, req, key),
                result_type=result_type,
                wait=timedelta(seconds=self.settings.action_wait_seconds),
            )
        except CaseError as err:  # only a refusal is a 403, the one _hidden_or may turn
            raise await self._hidden_or(err, user, ticket) from None
        log.info("case_action", action=act.value, user=user.username, key=bool(key))
        return result

    async def _hidden_or(self, refused: CaseError, user: User, ticket: str) -> CaseError:
        """A forbidden action on a case the user may not even see is a 404: its existence is
        not told. Asked only after a refusal, so actions need no read of their own (and go on
        while the read model is down)."""
        if refused.status != 403:
            return refused
        try:
            await self.visible_state(user, ticket)
        except CaseError as hidden:
            return hidden if hidden.status == 404 else refused
        return refused

    def command(self, user: User, action: Action, req: ActionRequest) -> Command:
        """The workflow command for `req`, with the units and policy it names resolved."""
        cmd = Command(
            actor=self.actor(user),
            **req.model_dump(exclude={"outcome"}),
            outcome=req.outcome.value if req.outcome else "",
        )
        if req.review_at is not None and req.review_at.tzinfo is None:
            raise CaseError(422, "review_at needs a timezone", "review_at", code="timezone_needed")
        with session_scope(self.sessions) as session:
            _check_evidence(session, user, cmd.evidence)
            if action in (Action.DISPATCH, Action.REASSIGN) and cmd.unit_id:
                unit = session.get(Unit, cmd.unit_id)
                if unit is None:
                    raise CaseError(
                        422, f"unknown unit {cmd.unit_id!r}", "unit_id", code="unknown_unit"
                    )
                access.check_target(session, user, unit, "unit_id")
                cmd.unit_name, cmd.unit_chain = unit.name, supervisors_of(session, unit.id)
            if action is Action.CHANGE_CATEGORY and cmd.category:
                category = session.get(Category, cmd.category)
                if category is None:
                    raise CaseError(
                        422,
                        f"unknown category {cmd.category!r}",
                        "category",
                        code="unknown_category",
                    )
                cmd.category_name, cmd.category_kind = category.name, category.kind
                cmd.policy = self.policy(category)
        return cmd

    async def rate_by_citizen(self, ticket: str, req: CitizenRating, *, key: str) -> CaseState:
        """Record the reporter's 评价 (the caller has checked their tracking token); a repeat
        with the same key answers as the first did."""
        cmd = Command(
            actor=CITIZEN,
            rating=req.rating.value,
            note=req.comment.strip(),
            outcome=req.outcome.value if req.outcome else "",
        )
        digest = idempotency.fingerprint(Action.CITIZEN_RATE.value, req.model_dump(mode="json"))
        state: CaseState = await execute_update(
            self.client.get_workflow_handle(self._workflow_id(ticket)),
            Action.CITIZEN_RATE.value,
            cmd,
            ticket=ticket,
            update_id=idempotency.update_id(CITIZEN.username, key, digest) if key else None,
            result_type=CaseState,
            wait=timedelta(seconds=self.settings.action_wait_seconds),
        )
        log.info("case_rated_by_citizen", rating=cmd.rating)
        return state

    async def live_state(self, ticket: str) -> CaseState:
        handle = self.client.get_workflow_handle(self._workflow_id(ticket))
        try:
            return await handle.query("get_state", result_type=CaseState)
        except RPCError as err:
            raise rpc_error(err, ticket) from None

    async def live_timeline(self, state: CaseState) -> list[CaseEvent]:
        """The case's events from its workflow: complete at once, unlike the projection (a
        run that continued as new holds its own; earlier runs' come from the read model)."""
        handle = self.client.get_workflow_handle(state.case_id)
        try:
            live = await handle.query("get_timeline", result_type=list[CaseEvent])
        except RPCError as err:
            raise rpc_error(err, state.ticket) from None
        return [*earlier_events(self.sessions, state.case_id, live), *live]

    async def tracking_token_matches(self, ticket: str, token: str) -> bool:
        """Whether `token` is the case's tracking token: the workflow checks it, its state
        never carries it (cases started before kept it in the state)."""
        handle = self.client.get_workflow_handle(self._workflow_id(ticket))
        try:
            return bool(await handle.query("check_tracking_token", token, result_type=bool))
        except WorkflowQueryFailedError:
            state = await self.live_state(ticket)
            return bool(token) and hmac.compare_digest(state.tracking_token, token)
        except RPCError as err:
            raise rpc_error(err, ticket) from None

    async def allowed_actions(self, user: User, ticket: str) -> list[str]:
        handle = self.client.get_workflow_handle(self._workflow_id(ticket))
        try:
            return await handle.query(
                "get_allowed_actions", self.actor(user), result_type=list[str]
            )
        except RPCError as err:
            raise rpc_error(err, ticket) from None

    async def visible_state(
        self, user: access.Principal, ticket: str, *, known: CaseState | None = None
    ) -> CaseState:
        """The live case (`known`: as an action just returned it), if `user` may see it; else
        404, as for a case that does not exist."""
        state = known or await self.live_state(ticket)
        if not access.may_see_case(user, state):
            raise CaseError(404, f"no case with ticket {ticket!r}", code="no_case")
        return state

    async def check_visible(self, user: access.Principal, ticket: str) -> None:
        """404 unless `user` may see the case, asked of the live case (the read model may
        lag a reassignment, or be down)."""
        await self.visible_state(user, ticket)

    # ---- reads from the SQL read model -------------------------------------------------
    def list_cases(
        self, filters: CaseFilter, *, viewer: User, page: int = 1, size: int = 50
    ) -> CasePage:
        """The cases `viewer` may see that match `filters`, soonest deadline first."""
        with session_scope(self.sessions) as session:
            query = filters.apply(select(CaseRecord)).where(access.case_clause(session, viewer))
            total = session.exec(select(func.count()).select_from(query.subquery())).one()
            order = (col(CaseRecord.due_at).is_(None), col(CaseRecord.due_at), CaseRecord.ticket)
            rows = session.exec(query.order_by(*order).offset((page - 1) * size).limit(size))
            return CasePage(items=list(rows), total=total, page=page, size=size)

    def get_case(self, ticket: str, viewer: User) -> tuple[CaseRecord, list[CaseEventRecord]]:
        """The case and its audit trail, if `viewer` may see it (else 404: no existence told)."""
        with session_scope(self.sessions) as session:
            case = access.visible_case(session, viewer, ticket)
            if case is None:
                raise CaseError(404, f"no case with ticket {ticket!r}", code="no_case")
            events = session.exec(
                select(CaseEventRecord)
                .where(CaseEventRecord.case_id == case.id)
                .order_by(col(CaseEventRecord.seq))
            )
            return case, list(events)

    def reporters(self, case: CaseRecord) -> list[Reporter]:
        """The case's reporter and those of its linked reports, first come first (unmasked:
        the caller masks them, core.privacy)."""
        own = Reporter(
            case.ticket, case.channel, case.taken_by, case.reporter_name, case.reporter_phone
        )
        with session_scope(self.sessions) as session:
            rows = session.exec(
                select(LinkedReportRecord)
                .where(LinkedReportRecord.case_id == case.id)
                .order_by(col(LinkedReportRecord.linked_at))
            )
            linked = [
                Reporter(
                    r.ticket,
                    r.channel,
                    r.taken_by,
                    r.reporter_name,
                    r.reporter_phone,
                    split=r.split_at is not None,
                )
                for r in rows
            ]
        return [own, *linked]

    def reporters_of(self, state: CaseState) -> list[Reporter]:
        """The case's reporter and its linked reports' (unmasked: the caller masks them).

        The read model holds them whole; until the projection has caught up with the workflow,
        a report missing there is the state's copy, which the workflow keeps masked.
        """
        with session_scope(self.sessions) as session:
            record = session.exec(select(CaseRecord).where(CaseRecord.ticket == state.ticket))
            row = record.first()
        known = {r.ticket: r for r in self.reporters(row)} if row else {}
        own = Reporter(
            state.ticket, state.channel, state.taken_by, state.reporter_name, state.reporter_phone
        )
        people = [known.get(state.ticket, own)]
        for linked in state.linked_reports:
            rep = linked.report
            fallback = Reporter(
                rep.ticket,
                rep.channel,
                rep.reporter.username,
                rep.reporter_name,
                rep.reporter_phone,
            )
            found = known.get(rep.ticket, fallback)
            found.split = linked.split_at is not None
            people.append(found)
        return people

    def attachments(self, case_id: str) -> list[str]:
        """The files a case holds (sha256), in the order they came."""
        with session_scope(self.sessions) as session:
            query = (
                select(CaseAttachment.sha256)
                .where(CaseAttachment.case_id == case_id)
                .order_by(col(CaseAttachment.seq), col(CaseAttachment.id))
            )
            return list(session.exec(query))

    def actor(self, user: User) -> Actor:
        return Actor(
            username=user.username,
            name=user.display_name,
            role=Role(user.role),
            unit_id=user.unit_id,
            unit_name=self._unit_name(user.unit_id),
        )

    def _unit_name(self, unit_id: str) -> str:
        """Unit names, read once per process: every action names its actor's unit."""
        if unit_id not in self._unit_names:
            with session_scope(self.sessions) as session:
                unit = session.get(Unit, unit_id)
            self._unit_names[unit_id] = unit.name if unit else ""
        return self._unit_names[unit_id]

    def _workflow_id(self, ticket: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,80}", ticket):
            raise CaseError(404, f"no case with ticket {ticket!r}", code="no_case")
        return registry.CITY_EVENT.workflow_id(ticket)


RETRY_WITH_KEY = "send it again with the same Idempotency-Key: it acts at most once"


def _check_evidence(session: Session, user: User, evidence: list[str]) -> None:
    """Uploaded files a step names must be stored and the user's to show: attaching a file
    makes it visible to all who see the case. (Names typed by older clients pass as text.)"""
    for sha in evidence:
        if is_sha256(sha) and access.file_grant(session, user, sha) is None:
            raise CaseError(
                422,
                f"unknown attachment {sha}: upload it first",
                "evidence",
                code="attachment_missing",
            )


def action_update_id(user: User, action: Action, req: ActionRequest, key: str) -> str | None:
    """The update id of an action: from the client's idempotency key, else Temporal's own."""
    if not key:
        return None
    if not re.fullmatch(IDEMPOTENCY_KEY, key):
        raise CaseError(
            422, "1-100 letters, digits or _.:- expected", "Idempotency-Key", code="key_format"
        )
    digest = idempotency.fingerprint(action.value, req.model_dump(mode="json"))
    return idempotency.update_id(user.username, key, digest)


def refusal(err: WorkflowUpdateFailedError) -> CaseError:
    """A validator's refusal as the caller gets it: status, field, code and params kept."""
    rejection = from_error(err.cause)
    if rejection is not None:
        return CaseError.of(rejection)
    return CaseError(500, f"action failed: {err.cause}", code="action_failed")


async def execute_update(
    handle: WorkflowHandle[Any, Any],
    update: Any,
    arg: Any,
    *,
    ticket: str,
    update_id: str | None,
    wait: timedelta,
    result_type: type | None = None,
) -> Any:
    """Run an update on a case's workflow; what can go wrong, as the caller gets it.

    Args:
        handle: the workflow's (or, for a part of a city event, the part's).
        update: the update's name, or its method on the workflow class.
        arg: its input.
        ticket: the case's, for the messages.
        update_id: from the client's idempotency key; None lets Temporal pick one.
        wait: how long to wait for the answer before a 503.
        result_type: for an update named by string, the type of its result.

    Returns:
        The update's result.
    """
    try:
        return await handle.execute_update(
            update, arg, id=update_id, result_type=result_type, rpc_timeout=wait
        )
    except WorkflowUpdateFailedError as err:
        raise refusal(err) from None
    except WorkflowUpdateRPCTimeoutOrCancelledError:
        slow = f"case {ticket} did not answer in time; {RETRY_WITH_KEY}"
        raise CaseError(503, slow, code="unavailable") from None
    except RPCError as err:
        raise rpc_error(err, ticket) from None


def rpc_error(err: RPCError, ticket: str) -> CaseError:
    if err.status == RPCStatusCode.NOT_FOUND:
        return CaseError(404, f"no case with ticket {ticket!r}", code="no_case")
    if err.status == RPCStatusCode.FAILED_PRECONDITION:
        reason = f"case {ticket} is finished and takes no more actions"
        return CaseError(409, reason, code="case_finished")
    return CaseError(503, f"case service unavailable: {err.message}", code="unavailable")


def earlier_events(
    sessions: SessionFactory, workflow_id: str, live: list[CaseEvent]
) -> list[CaseEvent]:
    """Events before a run's own (it continued as new), from the read model's timeline."""
    first = live[0].seq if live else 1
    if first <= 1:
        return []
    with session_scope(sessions) as session:
        rows = session.exec(
            select(CaseEventRecord)
            .where(CaseEventRecord.case_id == workflow_id, col(CaseEventRecord.seq) < first)
            .order_by(col(CaseEventRecord.seq))
        )
        return [_event(r) for r in rows]


def _event(row: CaseEventRecord) -> CaseEvent:
    actor = Actor(row.actor_username, row.actor_name, Role(row.actor_role), row.actor_unit_id)
    return CaseEvent(
        seq=row.seq,
        at=row.at,
        action=row.action,
        actor=actor,
        from_status=row.from_status,
        to_status=row.to_status,
        reason=row.reason,
        payload=dict(row.payload),
    )


def read_calendar_file(path: Path | None) -> tuple[list[str], list[str]]:
    """Deployment corrections: '+YYYY-MM-DD' a working day, '-YYYY-MM-DD' a day off."""
    if path is None:
        return [], []
    work: list[str] = []
    off: list[str] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            datetime.strptime(line[1:], "%Y-%m-%d")  # fail at start-up, not in a workflow
            (work if line[0] == "+" else off).append(line[1:])
    return work, off


def due_in(case: CaseRecord, now: datetime | None = None) -> timedelta | None:
    """Time left until the stage deadline (negative when overdue)."""
    if case.due_at is None:
        return None
    return case.due_at - (now or datetime.now(UTC))
