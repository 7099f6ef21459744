"""What the case pages show, gathered from the case's workflow and the read model."""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.service import RPCError, RPCStatusCode

from core.cases import INTAKE_ROLES, CaseError, CaseService
from core.models import User
from web import reads
from workflows.contracts import CaseEvent, CaseState, Role


async def timeline(cases: CaseService, state: CaseState) -> list[CaseEvent]:
    """The case's events from its workflow: complete at once, unlike the projection."""
    handle = cases.client.get_workflow_handle(state.case_id)
    try:
        events: list[CaseEvent] = await handle.query("get_timeline", result_type=list[CaseEvent])
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise CaseError(404, f"no case with ticket {state.ticket!r}") from None
        raise CaseError(503, f"case service unavailable: {err.message}") from None
    return events


async def case_context(
    cases: CaseService, user: User, ticket: str, *, state: CaseState | None = None
) -> dict[str, Any]:
    """Header, timeline and allowed actions of one case, live from its workflow.

    After an action the update's result is the state to show; the queries that follow it see
    the same workflow state, so nothing here waits for the read model.
    """
    state = state or await cases.live_state(ticket)
    events, allowed = await asyncio.gather(
        timeline(cases, state), cases.allowed_actions(user, ticket)
    )
    loc = state.location
    # Names for the location path and for the units dispatch events point at (they keep ids).
    targets = [str(e.payload["unit"]) for e in events if e.payload.get("unit")]
    return {
        "state": state,
        "events": events,
        "allowed": allowed,
        "path": loc.path,
        "unit_names": reads.unit_names(cases.sessions, [*loc.path, *targets]),
        "dispatch_units": (
            reads.dispatch_units(cases.sessions, loc.district_id) if "dispatch" in allowed else []
        ),
        "failed_action": "",
        "action_error": "",
        "values": {},
    }


def layout_context(cases: CaseService, user: User) -> dict[str, Any]:
    """What the layout shows of the user: name, role and unit, and whether they may record cases."""
    actor = cases.actor(user)
    return {"user": actor, "can_intake": actor.role in INTAKE_ROLES}


def may_intake(user: User) -> bool:
    return Role(user.role) in INTAKE_ROLES
