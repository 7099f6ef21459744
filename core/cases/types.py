"""The generic seam: start, act on and read a case of any registered type but the city event.

Everything type-specific comes from the registry entry (workflows/registry.py): the workflow,
its actions (input dataclass, roles, update method), its query, and — by dotted path — its
domain service (start, prepare an action, who may see it). The city event keeps its own richer
path (core/cases/service.py, core/intake/service.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlmodel import Session
from temporalio.client import Client
from temporalio.service import RPCError

from core.cases.service import (
    IDEMPOTENCY_KEY,
    CaseService,
    earlier_events,
    execute_update,
    rpc_error,
)
from core.config import Settings
from core.db import SessionFactory
from core.errors import CaseError
from core.logs import get_logger
from core.models import IntakeKey, User
from workflows import registry
from workflows.contracts import Actor, CaseEvent
from workflows.registry import ActionSpec, CaseType
from workflows.shared import idempotency

log = get_logger(__name__)


def parse(model: Any, data: Any, *, loc: tuple[str, ...] = ("body",)) -> Any:
    """`data` validated as `model` (a pydantic model or a dataclass); 422 as FastAPI says it."""
    try:
        if isinstance(model, type) and issubclass(model, BaseModel):
            return model.model_validate(data)
        return TypeAdapter(model).validate_python(data)
    except ValidationError as err:
        raise RequestValidationError(
            [{**e, "loc": (*loc, *e["loc"])} for e in err.errors(include_url=False)]
        ) from None


def claim_ticket(
    session: Session, actor: Actor, key: str, fingerprint: str, mint: Callable[[], str]
) -> tuple[str, bool]:
    """The ticket of a start under an Idempotency-Key: its first request's (True: a retry),
    or a new one recorded with the key in the caller's transaction. Another body under the
    same key is refused. Shares `intake_keys` with the city event's intake."""
    if not key:
        return mint(), False
    if not re.fullmatch(IDEMPOTENCY_KEY, key):
        raise CaseError(
            422, "1-100 letters, digits or _.:- expected", "Idempotency-Key", code="key_format"
        )
    scope = f"{actor.role}:{actor.username}"
    row = session.get(IntakeKey, (scope, key))
    if row is not None:
        if row.fingerprint != fingerprint:
            raise CaseError(
                422,
                "this Idempotency-Key was sent before with another body",
                "Idempotency-Key",
                code="key_reused",
            )
        return row.ticket, True
    ticket, now = mint(), datetime.now(UTC)
    session.add(
        IntakeKey(
            scope=scope,
            key=key,
            fingerprint=fingerprint,
            ticket=ticket,
            case_ticket=ticket,
            received_at=now,
            created_at=now,
        )
    )
    return ticket, False


@dataclass
class Detail:
    case_type: str
    case: Any
    timeline: list[CaseEvent]


class CaseTypes:
    """Dispatch to a registered type's workflow and domain service."""

    def __init__(
        self, client: Client, sessions: SessionFactory, settings: Settings, cases: CaseService
    ) -> None:
        self.client, self.sessions, self.settings, self.cases = client, sessions, settings, cases
        self._services: dict[str, Any] = {}

    @staticmethod
    def handles(ticket: str) -> bool:
        """Whether the ticket is of a type served here (not the city event)."""
        return registry.of_ticket(ticket) is not registry.CITY_EVENT

    def service(self, case_type: CaseType) -> Any:
        if case_type.name not in self._services:
            cls = registry.load(case_type.service)
            self._services[case_type.name] = cls(self.client, self.sessions, self.settings)
        return self._services[case_type.name]

    # ---- start --------------------------------------------------------------------------
    async def start(self, user: User, name: str, body: Any, *, key: str = "") -> Any:
        case_type = registry.get(name)
        if case_type is None or not case_type.startable or not case_type.service:
            raise CaseError(
                422, f"unknown case type {name!r}", "case_type", code="unknown_case_type"
            )
        if case_type not in registry.startable_by(user.role):
            raise CaseError(403, f"role {user.role} may not start a {name}", code="intake_role")
        service = self.service(case_type)
        req = parse(service.intake_model, body)
        state = await service.start(self.cases.actor(user), req, key=key)
        log.info("case_started", case_type=name, ticket=state.ticket)
        return state

    # ---- act ----------------------------------------------------------------------------
    async def act(self, user: User, ticket: str, action: str, body: Any, *, key: str = "") -> Any:
        case_type = registry.of_ticket(ticket)
        spec = case_type.action(action)
        if spec is None:
            raise CaseError(404, f"unknown action {action!r}", code="unknown_action")
        structlog.contextvars.bind_contextvars(ticket=ticket)
        state = await self.visible(user, case_type, ticket)  # 404 before 403: existence untold
        if user.role not in spec.roles:
            raise CaseError(
                403,
                f"role {user.role} may not {action}",
                code="role_not_allowed",
                params={"action": action},
            )
        data = body if isinstance(body, dict) else {}
        cmd = parse(spec.input, {**data, "actor": self.cases.actor(user)})
        cmd = self.service(case_type).prepare(user, action, cmd)
        wid = case_type.workflow_id(ticket)
        target = spec.target(wid, cmd) if spec.target else wid
        if spec.target and not target.startswith(state.event_id):
            raise CaseError(404, f"no such part of {ticket}", code="not_found")
        return await self._update(spec, target, cmd, ticket, self._update_id(user, spec, data, key))

    async def _update(
        self, spec: ActionSpec, wid: str, cmd: Any, ticket: str, uid: str | None
    ) -> Any:
        return await execute_update(
            self.client.get_workflow_handle(wid),
            spec.update,
            cmd,
            ticket=ticket,
            update_id=uid,
            wait=timedelta(seconds=self.settings.action_wait_seconds),
        )

    @staticmethod
    def _update_id(user: User, spec: ActionSpec, data: dict[str, Any], key: str) -> str | None:
        if not key:
            return None
        digest = idempotency.fingerprint(spec.name, data)
        return idempotency.update_id(user.username, key, digest)

    # ---- read ---------------------------------------------------------------------------
    async def visible(self, user: User, case_type: CaseType, ticket: str) -> Any:
        """The live state, if `user` may see it (else 404, as for no such case)."""
        handle = self.client.get_workflow_handle(case_type.workflow_id(ticket))
        try:
            assert case_type.query is not None  # a type served here declares its query
            state = await handle.query(case_type.query)
        except RPCError as err:
            raise rpc_error(err, ticket) from None
        if not self.service(case_type).may_see(user, state):
            raise CaseError(404, f"no case with ticket {ticket!r}", code="no_case")
        return state

    async def detail(self, user: User, ticket: str) -> Detail:
        case_type = registry.of_ticket(ticket)
        state = await self.visible(user, case_type, ticket)
        handle = self.client.get_workflow_handle(case_type.workflow_id(ticket))
        timeline = await handle.query("get_timeline", result_type=list[CaseEvent])
        return Detail(
            case_type.name, state, [*earlier_events(self.sessions, handle.id, timeline), *timeline]
        )
