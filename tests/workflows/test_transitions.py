"""The pure transition rules, without Temporal."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.cases import case_state
from workflows.case.transitions import RULES, allowed_actions, check, check_version, target
from workflows.contracts import (
    Action,
    Actor,
    CaseState,
    Clock,
    Command,
    Location,
    PendingExtension,
    Role,
    Status,
    Unit,
)
from workflows.shared.workcal import CST

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=CST)
HANDLER = Actor("h", "处置员", Role.HANDLER, "gl-nhl")
OTHER_HANDLER = Actor("h2", "处置员2", Role.HANDLER, "gl-hq")
DISPATCHER = Actor("d", "派遣员", Role.DISPATCHER, "gl")
FOREIGN_DISPATCHER = Actor("d2", "派遣员2", Role.DISPATCHER, "xw")
VERIFIER = Actor("v", "核查员", Role.VERIFIER, "gl")
OPERATOR = Actor("o", "话务员", Role.OPERATOR, "nj")


def case(status: Status, **kw: object) -> CaseState:
    state = case_state(
        "1",
        title="t",
        location=Location(
            unit_id="gl-nhl-c1-g1", path=["nj", "gl", "gl-nhl", "gl-nhl-c1", "gl-nhl-c1-g1"]
        ),
        status=status,
        assigned_unit=Unit("gl-nhl", "宁海路街道"),
    )
    for key, value in kw.items():
        setattr(state, key, value)
    return state


@pytest.mark.parametrize(
    ("status", "action", "cmd", "to"),
    [
        (Status.RECEIVED, Action.REGISTER, Command(DISPATCHER), Status.REGISTERED),
        (Status.RECEIVED, Action.VOID, Command(DISPATCHER, reason="非城市管理事项"), Status.VOIDED),
        (Status.RETURNED, Action.DISPATCH, Command(DISPATCHER, unit_id="gl-hq"), Status.DISPATCHED),
        (Status.DISPATCHED, Action.ACCEPT, Command(HANDLER), Status.ACCEPTED),
        (Status.DISPATCHED, Action.RETURN, Command(HANDLER, reason="不属本单位"), Status.RETURNED),
        (Status.ACCEPTED, Action.PROGRESS, Command(HANDLER, note="到场"), Status.HANDLING),
        (Status.HANDLING, Action.SUBMIT_FEEDBACK, Command(HANDLER, note="完成"), Status.VERIFYING),
        (Status.REWORK, Action.SUBMIT_FEEDBACK, Command(HANDLER, note="完成"), Status.VERIFYING),
        (Status.VERIFYING, Action.VERIFY, Command(VERIFIER, passed=True), Status.CLOSED),
        (Status.VERIFYING, Action.VERIFY, Command(VERIFIER, reason="未完成"), Status.REWORK),
        (Status.HANDLING, Action.PARK, Command(DISPATCHER, reason="等待"), Status.PARKED),
        (Status.PARKED, Action.UNPARK, Command(DISPATCHER), Status.HANDLING),
        (Status.CLOSED, Action.CALLBACK, Command(OPERATOR, rating="satisfied"), Status.ARCHIVED),
        (Status.CLOSED, Action.CALLBACK, Command(OPERATOR, rating="unsatisfied"), Status.REWORK),
    ],
)
def test_legal_actions_lead_where_the_lifecycle_says(
    status: Status, action: Action, cmd: Command, to: Status
) -> None:
    state = case(status)
    assert check(state, action, cmd, NOW) is None
    assert target(state, action, cmd) == to


def test_second_unsatisfied_callback_archives() -> None:
    state = case(Status.CLOSED, reopen_count=1)
    assert (
        target(state, Action.CALLBACK, Command(OPERATOR, rating="unsatisfied")) == Status.ARCHIVED
    )


@pytest.mark.parametrize(
    ("status", "action", "cmd", "kind", "field"),
    [
        (Status.DISPATCHED, Action.ACCEPT, Command(OTHER_HANDLER), "forbidden", ""),
        (Status.DISPATCHED, Action.ACCEPT, Command(VERIFIER), "forbidden", ""),
        (Status.RECEIVED, Action.REGISTER, Command(FOREIGN_DISPATCHER), "forbidden", ""),
        (Status.CLOSED, Action.ACCEPT, Command(HANDLER), "conflict", ""),
        (Status.ARCHIVED, Action.CALLBACK, Command(OPERATOR, rating="satisfied"), "conflict", ""),
        (Status.DISPATCHED, Action.RETURN, Command(HANDLER, reason="  "), "invalid", "reason"),
        (Status.RECEIVED, Action.VOID, Command(DISPATCHER), "invalid", "reason"),
        (Status.REGISTERED, Action.DISPATCH, Command(DISPATCHER), "invalid", "unit_id"),
        (Status.HANDLING, Action.SUBMIT_FEEDBACK, Command(HANDLER), "invalid", "note"),
        (Status.VERIFYING, Action.VERIFY, Command(VERIFIER, passed=False), "invalid", "reason"),
        (Status.CLOSED, Action.CALLBACK, Command(OPERATOR, rating="great"), "invalid", "rating"),
        (
            Status.HANDLING,
            Action.REQUEST_EXTENSION,
            Command(HANDLER, reason="r", hours=0),
            "invalid",
            "hours",
        ),
        (
            Status.HANDLING,
            Action.REQUEST_EXTENSION,
            Command(HANDLER, reason="r", hours=541),
            "invalid",
            "hours",
        ),
        (
            Status.HANDLING,
            Action.DECIDE_EXTENSION,
            Command(DISPATCHER, approve=True),
            "conflict",
            "",
        ),
    ],
)
def test_illegal_actions_say_why(
    status: Status, action: Action, cmd: Command, kind: str, field: str
) -> None:
    rejection = check(case(status), action, cmd, NOW)
    assert rejection is not None
    assert (rejection.kind, rejection.field) == (kind, field)
    assert rejection.reason


def test_extension_must_be_asked_before_the_deadline() -> None:
    state = case(Status.HANDLING, clock=Clock(stage="handle", due_at=NOW - timedelta(minutes=1)))
    rejection = check(state, Action.REQUEST_EXTENSION, Command(HANDLER, reason="r", hours=8), NOW)
    assert rejection is not None and "before the deadline" in rejection.reason
    state.clock.due_at = NOW + timedelta(minutes=1)
    assert (
        check(state, Action.REQUEST_EXTENSION, Command(HANDLER, reason="r", hours=8), NOW) is None
    )


def test_only_one_extension_request_pends_at_a_time() -> None:
    pending = PendingExtension(hours=8, reason="r", requested_by="h", requested_at=NOW)
    state = case(Status.HANDLING, pending_extension=pending)
    rejection = check(state, Action.REQUEST_EXTENSION, Command(HANDLER, reason="r", hours=8), NOW)
    assert rejection is not None and rejection.kind == "conflict"
    assert (
        check(state, Action.DECIDE_EXTENSION, Command(DISPATCHER, approve=True, reason="同意"), NOW)
        is None
    )


def test_allowed_actions_follow_role_unit_and_state() -> None:
    dispatched = case(Status.DISPATCHED)
    assert allowed_actions(dispatched, Command(HANDLER), NOW) == [Action.ACCEPT, Action.RETURN]
    assert allowed_actions(dispatched, Command(OTHER_HANDLER), NOW) == []
    assert allowed_actions(dispatched, Command(DISPATCHER), NOW) == [Action.DISPATCH]


def test_every_action_has_a_rule() -> None:
    assert set(RULES) == set(Action)


def test_a_command_from_an_older_version_of_the_case_is_stale() -> None:
    state = case(Status.DISPATCHED, last_seq=4)
    assert check_version(state, Command(HANDLER)) is None  # no version sent: no check
    assert check_version(state, Command(HANDLER, expected_version=4)) is None
    stale = check_version(state, Command(HANDLER, expected_version=3))
    assert stale is not None and (stale.code, stale.field) == ("stale", "expected_version")
