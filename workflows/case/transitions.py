"""Pure transition rules of the closed loop.

`check` decides whether an actor may take an action on a case now; `target` says where the
action leads. The workflow's update validators and handlers call both, and so do the unit tests,
without Temporal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from workflows.contracts import (
    PRIORITIES,
    TERMINAL,
    Action,
    CallbackOutcome,
    CaseState,
    Command,
    Rating,
    Role,
    Status,
)
from workflows.shared.rejection import Rejection

HANDLING_STATES = frozenset({Status.ACCEPTED, Status.HANDLING, Status.REWORK})
OPEN_STATES = frozenset(Status) - TERMINAL
UNCLOSED_STATES = OPEN_STATES - {Status.CLOSED}
CLOCKED_STATES = UNCLOSED_STATES - {Status.PARKED, Status.RECEIVED}
CENTRE_ROLES = frozenset({Role.DISPATCHER, Role.SUPERVISOR})
SUPERVISOR = frozenset({Role.SUPERVISOR})
SUPERVISOR_OVERRIDES = frozenset(
    {
        Action.REASSIGN,
        Action.CHANGE_CATEGORY,
        Action.CHANGE_PRIORITY,
        Action.EXTEND_DEADLINE,
        Action.DE_ESCALATE,
        Action.FORCE_CLOSE,
        Action.VOID_INVALID,
        Action.REOPEN,
    }
)
# Channels with nobody to call back: their cases archive once verified (no 回访).
NO_CALLBACK_CHANNELS = frozenset({"patrol", "sensor"})
# Channels whose reporter holds a tracking link and may rate the result there (评价).
CITIZEN_CHANNELS = frozenset({"citizen", "open311", "web"})
# 60 working days of the default 9-hour day: anything more is a typo, not a plan.
MAX_EXTENSION_HOURS = 540


@dataclass(frozen=True)
class Rule:
    """Who may take an action, from which states, and what it needs."""

    sources: frozenset[Status]
    roles: frozenset[Role]
    scope: (
        str  # "area": actor's unit contains the case's location; "assigned": actor's unit holds it
    )
    needs: tuple[str, ...] = ()  # Command fields that must be filled


RULES: dict[Action, Rule] = {
    Action.REGISTER: Rule(frozenset({Status.RECEIVED}), CENTRE_ROLES, "area"),
    Action.VOID: Rule(
        frozenset({Status.RECEIVED, Status.REGISTERED}), CENTRE_ROLES, "area", ("reason",)
    ),
    Action.DISPATCH: Rule(
        frozenset({Status.REGISTERED, Status.RETURNED, Status.DISPATCHED}),
        CENTRE_ROLES,
        "area",
        ("unit_id",),
    ),
    Action.ACCEPT: Rule(frozenset({Status.DISPATCHED}), frozenset({Role.HANDLER}), "assigned"),
    Action.RETURN: Rule(
        frozenset({Status.DISPATCHED}), frozenset({Role.HANDLER}), "assigned", ("reason",)
    ),
    Action.PROGRESS: Rule(HANDLING_STATES, frozenset({Role.HANDLER}), "assigned", ("note",)),
    Action.REQUEST_EXTENSION: Rule(
        HANDLING_STATES, frozenset({Role.HANDLER}), "assigned", ("reason", "hours")
    ),
    Action.DECIDE_EXTENSION: Rule(HANDLING_STATES, CENTRE_ROLES, "area", ("reason",)),
    Action.PARK: Rule(HANDLING_STATES, CENTRE_ROLES, "area", ("reason",)),
    Action.UNPARK: Rule(frozenset({Status.PARKED}), CENTRE_ROLES, "area"),
    Action.SUBMIT_FEEDBACK: Rule(HANDLING_STATES, frozenset({Role.HANDLER}), "assigned", ("note",)),
    Action.VERIFY: Rule(
        frozenset({Status.VERIFYING}), frozenset({Role.VERIFIER, Role.SUPERVISOR}), "area"
    ),
    # The rating is checked in check_fields: a caller who cannot be reached gives none.
    Action.CALLBACK: Rule(frozenset({Status.CLOSED}), frozenset({Role.OPERATOR}), "any"),
    Action.CITIZEN_RATE: Rule(frozenset({Status.CLOSED}), frozenset({Role.PUBLIC}), "any"),
    # Supervisor overrides (SUPERVISOR_OVERRIDES): always a reason, always in the supervisor's area.
    Action.REASSIGN: Rule(
        UNCLOSED_STATES - {Status.RECEIVED}, SUPERVISOR, "area", ("reason", "unit_id")
    ),
    Action.CHANGE_CATEGORY: Rule(UNCLOSED_STATES, SUPERVISOR, "area", ("reason", "category")),
    Action.CHANGE_PRIORITY: Rule(OPEN_STATES, SUPERVISOR, "area", ("reason", "priority")),
    Action.EXTEND_DEADLINE: Rule(CLOCKED_STATES, SUPERVISOR, "area", ("reason", "hours")),
    Action.DE_ESCALATE: Rule(OPEN_STATES, SUPERVISOR, "area", ("reason",)),
    Action.FORCE_CLOSE: Rule(UNCLOSED_STATES, SUPERVISOR, "area", ("reason", "note")),
    Action.VOID_INVALID: Rule(OPEN_STATES, SUPERVISOR, "area", ("reason",)),
    Action.REOPEN: Rule(frozenset({Status.CLOSED}), SUPERVISOR, "area", ("reason",)),
}

STATUS_NAMES = {
    Status.RECEIVED: "受理",
    Status.REGISTERED: "立案",
    Status.VOIDED: "注销",
    Status.DISPATCHED: "派遣",
    Status.RETURNED: "退单",
    Status.ACCEPTED: "签收",
    Status.HANDLING: "处置中",
    Status.PARKED: "挂账",
    Status.VERIFYING: "核查",
    Status.REWORK: "返工",
    Status.CLOSED: "结案",
    Status.ARCHIVED: "归档",
}


def check_version(state: CaseState, cmd: Command) -> Rejection | None:
    """A command sent from a page that showed an older version of the case is refused
    (optimistic concurrency): what the sender decided on is no longer what is there."""
    if cmd.expected_version is None or cmd.expected_version == state.last_seq:
        return None
    return Rejection(
        "conflict",
        "stale",
        f"the case has changed since version {cmd.expected_version} (now {state.last_seq})",
        "expected_version",
        {"expected": cmd.expected_version, "now": state.last_seq},
    )


def check(state: CaseState, action: Action, cmd: Command, now: datetime) -> Rejection | None:
    """Return why `cmd` may not take `action` on `state` now, or None if it may."""
    rule = RULES[action]
    return (
        _check_actor(state, action, rule, cmd)
        or _check_state(state, action, rule, now)
        or check_fields(action, cmd, now)
    )


def _check_actor(state: CaseState, action: Action, rule: Rule, cmd: Command) -> Rejection | None:
    actor = cmd.actor
    if actor.role not in rule.roles:
        allowed = "/".join(sorted(rule.roles))
        return Rejection(
            "forbidden",
            "role_not_allowed",
            f"{action.value} requires role {allowed}, not {actor.role}",
            params={"action": action.value},
        )
    if rule.scope == "area" and actor.unit_id not in state.location.path:
        return Rejection(
            "forbidden", "outside_area", f"unit {actor.unit_id} does not cover this case's area"
        )
    if rule.scope == "assigned" and (
        state.assigned_unit is None or state.assigned_unit.id != actor.unit_id
    ):
        return Rejection(
            "forbidden", "not_assigned", f"case is not assigned to unit {actor.unit_id}"
        )
    return None


def _check_state(state: CaseState, action: Action, rule: Rule, now: datetime) -> Rejection | None:
    if state.status not in rule.sources:
        return Rejection(
            "conflict",
            "wrong_status",
            f"cannot {action.value} a case in status {state.status}",
            params={"action": action.value, "status": str(state.status)},
        )
    pending = state.pending_extension
    if action is Action.REQUEST_EXTENSION:
        if pending is not None:
            return Rejection(
                "conflict", "extension_pending", "an extension request is already pending"
            )
        due = state.clock.due_at
        if due is not None and now >= due:
            return Rejection(
                "conflict", "extension_late", "an extension must be requested before the deadline"
            )
    if action is Action.DECIDE_EXTENSION and pending is None:
        return Rejection("conflict", "no_extension_pending", "no extension request is pending")
    if action is Action.CITIZEN_RATE and state.channel not in CITIZEN_CHANNELS:
        return Rejection(
            "conflict",
            "not_rated_online",
            f"a case of channel {state.channel} is not rated online",
        )
    if action is Action.DE_ESCALATE and state.clock.escalation_level == 0:
        return Rejection("conflict", "not_escalated", "the case is not escalated")
    if action is Action.EXTEND_DEADLINE and state.clock.due_at is None:
        return Rejection("conflict", "no_deadline", "the current stage has no deadline to extend")
    return None


def check_fields(action: Action, cmd: Command, now: datetime) -> Rejection | None:
    """Whether `cmd` carries what `action` needs, whatever the case (bulk overrides ask first)."""
    rule = RULES[action]
    for name in rule.needs:
        value = getattr(cmd, name)
        if not (value.strip() if isinstance(value, str) else value):
            return Rejection("invalid", "required", f"{action.value} needs a {name}", name)
    extending = action in (Action.REQUEST_EXTENSION, Action.EXTEND_DEADLINE)
    if extending and not 0 < cmd.hours <= MAX_EXTENSION_HOURS:
        return Rejection(
            "invalid",
            "hours_range",
            f"hours must be between 1 and {MAX_EXTENSION_HOURS}",
            "hours",
            {"max": MAX_EXTENSION_HOURS},
        )
    if action is Action.CHANGE_PRIORITY and cmd.priority not in PRIORITIES:
        return Rejection(
            "invalid", "not_in_list", f"priority must be one of {list(PRIORITIES)}", "priority"
        )
    if action is Action.PARK and cmd.review_at is not None and cmd.review_at <= now:
        return Rejection("invalid", "review_in_past", "the review date must lie ahead", "review_at")
    if action is Action.CHANGE_CATEGORY and cmd.policy is None:
        return Rejection(
            "invalid", "policy_missing", "the new category's policy is missing", "category"
        )
    if action is Action.VERIFY and not cmd.passed and not cmd.reason.strip():
        return Rejection("invalid", "required", "a failed verification needs a reason", "reason")
    if action in (Action.CALLBACK, Action.CITIZEN_RATE):
        return _check_rating(action, cmd)
    return None


def _check_rating(action: Action, cmd: Command) -> Rejection | None:
    outcomes = [o.value for o in CallbackOutcome]
    if cmd.outcome and cmd.outcome not in outcomes:
        return Rejection("invalid", "not_in_list", f"outcome must be one of {outcomes}", "outcome")
    if action is Action.CALLBACK and cmd.outcome == CallbackOutcome.UNREACHABLE:
        return None  # nobody to ask: no rating
    if not cmd.rating:
        return Rejection("invalid", "required", f"{action.value} needs a rating", "rating")
    if cmd.rating not in {r.value for r in Rating}:
        return Rejection(
            "invalid", "not_in_list", f"rating must be one of {[r.value for r in Rating]}", "rating"
        )
    return None


LEADS_TO = {
    Action.REGISTER: Status.REGISTERED,
    Action.VOID: Status.VOIDED,
    Action.DISPATCH: Status.DISPATCHED,
    Action.ACCEPT: Status.ACCEPTED,
    Action.RETURN: Status.RETURNED,
    Action.PROGRESS: Status.HANDLING,
    Action.UNPARK: Status.HANDLING,
    Action.PARK: Status.PARKED,
    Action.SUBMIT_FEEDBACK: Status.VERIFYING,
    Action.REASSIGN: Status.DISPATCHED,
    Action.FORCE_CLOSE: Status.CLOSED,
    Action.VOID_INVALID: Status.VOIDED,
    Action.REOPEN: Status.REWORK,
}


def target(state: CaseState, action: Action, cmd: Command) -> Status:
    """The status a checked action leads to."""
    if action is Action.VERIFY:
        return Status.CLOSED if cmd.passed else Status.REWORK
    if action in (Action.CALLBACK, Action.CITIZEN_RATE):
        return _after_callback(state, cmd)
    # Extensions, category, priority and de-escalation keep the status.
    return LEADS_TO.get(action, state.status)


def _after_callback(state: CaseState, cmd: Command) -> Status:
    """不满意 sends a case back once (重办); the second rating counts whatever it is."""
    if cmd.rating == Rating.UNSATISFIED and state.reopen_count == 0:
        return Status.REWORK
    return Status.ARCHIVED


def allowed_actions(state: CaseState, cmd: Command, now: datetime) -> list[Action]:
    """The actions `cmd.actor` could take now, ignoring fields still to be filled (for the UI)."""
    return [
        action
        for action, rule in RULES.items()
        if _check_actor(state, action, rule, cmd) is None
        and _check_state(state, action, rule, now) is None
    ]
