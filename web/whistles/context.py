"""What the 吹哨报到 parts of the UI show: the panel on a case, one whistle, the queue and board,
and the statistics. Who may do what is asked of `workflows.whistle_rules`, never re-decided here.
"""

from __future__ import annotations

from typing import Any

from temporalio.service import RPCError

from core import whistles
from core.cases.service import CaseService
from core.models import User
from web import lookups
from web.whistles import reads
from workflows.contracts import (
    WHISTLE_STAGES,
    Actor,
    ApproveWhistle,
    BlowWhistle,
    CaseEvent,
    CaseState,
    CloseWhistle,
    RateWhistle,
    Role,
    WhistleAction,
    WhistleState,
)
from workflows.shared.rejection import Rejection
from workflows.whistle import rules as whistle_rules

STATS_ROLES = frozenset({Role.SUPERVISOR, Role.DISPATCHER, Role.ADMIN})


def _allows(rejection: Rejection | None) -> bool:
    """A probe command refused only for its (empty) fields: the actor may, in this state.

    The rules check the actor and the case before the fields, so an "invalid" refusal means
    the form is worth showing.
    """
    return rejection is None or rejection.kind == "invalid"


def case_panel(cases: CaseService, user: User, state: CaseState) -> dict[str, Any]:
    """The whistle rounds of a case (newest first) and the whistle forms the user may use."""
    actor = cases.actor(user)
    may_blow = _allows(whistle_rules.check_blow(state, BlowWhistle(actor=actor)))
    kinds = cases.settings.whistle_kinds
    return {
        "whistle_rounds": list(reversed(state.whistles)),
        "may_blow": may_blow,
        "whistle_kinds": [(k, s.label, s.needs_approval) for k, s in kinds.items()],
        "whistle_departments": (
            reads.district_departments(cases.sessions, state.location.district_id)
            if may_blow
            else []
        ),
        "may_approve": whistle_rules.check_approve(state, ApproveWhistle(actor)) is None,
        "may_close": _allows(whistle_rules.check_close(state, CloseWhistle(actor))),
        "rateable": _rateable(state, actor),
        "whistle_failed": "",
        "whistle_error": "",
        "whistle_values": {},
    }


def _rateable(state: CaseState, actor: Actor) -> set[str]:
    """`round:unit` of the departments the user may rate now (probed with a valid score)."""
    return {
        f"{rnd.round}:{m.unit.id}"
        for rnd in state.whistles
        for m in rnd.members
        if whistle_rules.check_rate(state, RateWhistle(actor, m.unit.id, 1, "", rnd.round)) is None
    }


async def whistle_context(
    cases: CaseService, user: User, whistle_id: str, *, state: WhistleState | None = None
) -> dict[str, Any]:
    """One whistle live from its workflow: its steps, its timeline and the user's next step."""
    if state is None:
        state = (await whistles.detail(cases, user, whistle_id)).whistle
    events = await _timeline(cases, state.whistle_id)
    actor = cases.actor(user)
    probe = WhistleAction(actor, note="·", arrived=True)
    stages = [s for s in WHISTLE_STAGES if whistle_rules.check_step(state, s, probe) is None]
    ids = [state.department.id, state.blower_unit.id]
    ids += [str(e.payload["unit"]) for e in events if e.payload.get("unit")]
    return {
        "w": state,
        "events": events,
        "stages": stages,
        "unit_names": lookups.unit_names(cases.sessions, ids),
        "failed_stage": "",
        "step_error": "",
        "values": {},
    }


async def _timeline(cases: CaseService, whistle_id: str) -> list[CaseEvent]:
    """The whistle's events from its workflow (complete at once, unlike the projection)."""
    handle = cases.client.get_workflow_handle(whistle_id)
    try:
        events: list[CaseEvent] = await handle.query("get_timeline", result_type=list[CaseEvent])
    except RPCError:
        return []  # the header still shows the state; the audit trail is in the read model
    return events


def queue_context(cases: CaseService, user: User, unit: str, show: str) -> dict[str, Any]:
    """A department's queue (whistles summoning it) and a street's board (whistles it blew)."""
    unit_id = unit or user.unit_id
    rows = whistles.list_whistles(
        cases.sessions, cases.settings, user, unit=unit_id, open_only=show != "all"
    )
    return {
        "summons": [r for r in rows if r.dept_id == unit_id],
        # what the unit and the units below it blew: a district supervisor sees the district's
        "board": [r for r in rows if r.dept_id != unit_id],
        "board_below": any(r.blower_unit_id != unit_id for r in rows if r.dept_id != unit_id),
        "unit_id": unit_id,
        "unit_name": lookups.unit_names(cases.sessions, [unit_id]).get(unit_id, unit_id),
        "show": show,
        "may_see_stats": Role(user.role) in STATS_ROLES,
    }


def stats_context(cases: CaseService, user: User, district: str) -> dict[str, Any]:
    """吹哨率 per street, timeliness and ratings per department, within the user's area."""
    districts = lookups.districts_in(cases.sessions, user.unit_id)
    known = {d for d, _ in districts}
    if district not in known:
        # A district's staff see their district; the city sees all unless it picks one.
        district = districts[0][0] if len(districts) == 1 else ""
    if not districts:
        return {"districts": [], "district": "", "stats": None}
    return {
        "districts": districts,
        "district": district,
        "stats": whistles.stats(cases.sessions, user, district=district),
    }
