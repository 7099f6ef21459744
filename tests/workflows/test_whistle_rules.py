"""The pure rules of 吹哨报到, without Temporal."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core.config import Settings
from core.whistles import whistle_spec
from tests.cases import case_state
from workflows.contracts import (
    Actor,
    BlowWhistle,
    CasePolicy,
    CaseState,
    Location,
    RateWhistle,
    Role,
    Status,
    Unit,
    WhistleAction,
    WhistleProgress,
    WhistleState,
)
from workflows.shared.workcal import CST, WorkCalendar
from workflows.whistle import rules

MONDAY_9 = datetime(2026, 11, 30, 9, 0, tzinfo=CST)  # a plain working Monday
STREET = Unit("gl-nhl", "宁海路街道", "street")
POLICE = Unit("gl-dept-police", "鼓楼区公安分局", "dept")
WATER = Unit("gl-dept-water", "鼓楼区水务局", "dept")
HANDLER = Actor("handler_nhl", "宁海路街道处置员", Role.HANDLER, "gl-nhl", "宁海路街道")
SPECS = {k: whistle_spec(k, v) for k, v in Settings().whistle_kinds.items()}


def case(status: Status = Status.HANDLING) -> CaseState:
    return case_state(
        "T1",
        title="占道经营",
        location=Location(
            "gl-nhl-c1-g1", ["nj", "gl", "gl-nhl", "gl-nhl-c1", "gl-nhl-c1-g1"], "gl"
        ),
        status=status,
        assigned_unit=STREET,
    )


def blow(*depts: Unit, kind: str = "work_push", actor: Actor = HANDLER) -> BlowWhistle:
    return BlowWhistle(
        actor=actor, kind=kind, spec=SPECS.get(kind), departments=list(depts), need="到场"
    )


@pytest.mark.parametrize(
    ("state", "cmd", "kind", "field"),
    [
        (case(), blow(), "invalid", "departments"),
        (case(), blow(POLICE, POLICE), "invalid", "departments"),
        (case(), blow(STREET), "invalid", "departments"),
        (case(), blow(POLICE, Unit("gl-hq", "华侨路街道", "street")), "invalid", "departments"),
        (case(), blow(POLICE, kind="someday"), "invalid", "kind"),
        (case(Status.DISPATCHED), blow(POLICE), "conflict", ""),
        (case(Status.VERIFYING), blow(POLICE), "conflict", ""),
        (case(), blow(POLICE, actor=Actor("h", "h", Role.HANDLER, "gl-hq")), "forbidden", ""),
        (
            case(),
            blow(POLICE, actor=Actor("w", "w", Role.HANDLER, "gl-dept-water")),
            "forbidden",
            "",
        ),
        (case(), blow(POLICE, actor=Actor("o", "o", Role.OPERATOR, "nj")), "forbidden", ""),
    ],
)
def test_blowing_a_whistle_is_refused_for_bad_input(
    state: CaseState, cmd: BlowWhistle, kind: str, field: str
) -> None:
    rejection = rules.check_blow(state, cmd)
    assert rejection is not None and (rejection.kind, rejection.field) == (kind, field)


def test_the_city_centre_may_blow_and_only_one_round_is_open_at_a_time() -> None:
    state = case()
    centre = Actor("supervisor1", "市督办员", Role.SUPERVISOR, "nj", "南京市")
    assert rules.check_blow(state, blow(POLICE, actor=centre)) is None
    state.whistles.append(rules.new_round(state, blow(POLICE, actor=centre), MONDAY_9))
    assert state.whistles[0].blower_unit.id == "nj"
    again = rules.check_blow(state, blow(WATER))
    assert again is not None and again.kind == "conflict"


def test_deadlines_count_from_the_summons_in_each_steps_own_time() -> None:
    cal = WorkCalendar()
    work = rules.WhistleClock(SPECS["work_push"], CasePolicy(), cal).dues(MONDAY_9)
    assert work["sign"] == MONDAY_9 + timedelta(hours=1)
    assert work["contact"] == MONDAY_9 + timedelta(hours=24)  # natural time
    assert work["report"] == datetime(2026, 12, 3, 9, 0, tzinfo=CST)  # 3 working days
    hard = rules.WhistleClock(SPECS["hard_problem"], CasePolicy(), cal).dues(MONDAY_9)
    assert hard["report"] == datetime(2026, 12, 7, 9, 0, tzinfo=CST)  # over the weekend
    evening = datetime(2026, 12, 4, 22, 0, tzinfo=CST)  # a Friday night
    urgent = rules.WhistleClock(SPECS["emergency"], CasePolicy(), cal).dues(evening)
    assert urgent["report"] == evening + timedelta(minutes=30)
    clock = rules.WhistleClock(SPECS["work_push"], CasePolicy(), cal).start(
        "sign", MONDAY_9, work["sign"]
    )
    assert clock.reminders_at == [
        MONDAY_9 + timedelta(minutes=45),
        MONDAY_9 + timedelta(minutes=54),
    ]


def test_a_step_heard_after_an_early_close_still_counts_but_moves_nothing() -> None:
    state = case()
    state.whistles.append(rules.new_round(state, blow(POLICE, WATER), MONDAY_9))
    rnd = state.whistles[0]
    rnd.closed_at, rnd.status = MONDAY_9 + timedelta(minutes=30), "closed"
    for m in rnd.members:
        m.step = "closed"
    police = rnd.members[0]
    signed = WhistleProgress(
        police.whistle_id, 1, POLICE.id, "sign", MONDAY_9 + timedelta(minutes=20), "signed"
    )
    assert rules.apply_progress(state, signed) is not None
    assert police.step == "closed" and police.signed_at == signed.at
    late = WhistleProgress(
        police.whistle_id, 1, POLICE.id, "contact", MONDAY_9 + timedelta(hours=1), "contacted"
    )
    assert rules.apply_progress(state, late) is None


def test_ratings_go_to_a_summoned_department_once_it_reported() -> None:
    state = case()
    state.whistles.append(rules.new_round(state, blow(POLICE), MONDAY_9))
    state.whistles[0].members[0].step = "summoned"
    rate = RateWhistle(HANDLER, POLICE.id, 5)
    assert rules.check_rate(state, rate).kind == "conflict"  # type: ignore[union-attr]
    state.whistles[0].members[0].step = "reported"
    assert rules.check_rate(state, rate) is None
    assert rules.check_rate(state, RateWhistle(HANDLER, POLICE.id, 0)).field == "score"  # type: ignore[union-attr]
    assert rules.check_rate(state, RateWhistle(HANDLER, WATER.id, 3)).field == "unit_id"  # type: ignore[union-attr]


def test_only_the_summoned_department_steps_in_order_with_what_each_step_needs() -> None:
    state = case()
    state.whistles.append(rules.new_round(state, blow(POLICE), MONDAY_9))
    w = WhistleState(
        "case-T1", "T1", "t", 1, "work_push", "工作推进哨", "n", POLICE, "w", STREET, MONDAY_9
    )
    police = Actor("p", "p", Role.HANDLER, POLICE.id)
    water = Actor("w", "w", Role.HANDLER, WATER.id)
    assert rules.check_step(w, "sign", WhistleAction(water)).kind == "forbidden"  # type: ignore[union-attr]
    assert rules.check_step(w, "report", WhistleAction(police, "x", True)).kind == "conflict"  # type: ignore[union-attr]
    assert rules.check_step(w, "sign", WhistleAction(police)) is None
    w.step = "contacted"
    assert rules.check_step(w, "report", WhistleAction(police, "方案")).field == "plan_date"  # type: ignore[union-attr]
    bad = WhistleAction(police, "方案", plan_date="2026-13-01")
    assert rules.check_step(w, "report", bad).field == "plan_date"  # type: ignore[union-attr]
    assert (
        rules.check_step(w, "report", WhistleAction(police, "方案", plan_date="2026-12-20")) is None
    )
