"""derive: a dataclass built from the same-named fields of another, the rest given."""

from __future__ import annotations

from dataclasses import dataclass, field

from workflows.shared.fields import derive


@dataclass
class _State:
    case_id: str
    title: str
    status: str
    secret: str = ""
    tags: list[str] = field(default_factory=list)


@dataclass
class _Row:
    id: str
    title: str
    status: str
    secret: str = "none"


def test_same_named_fields_travel_and_given_values_win() -> None:
    state = _State("c-1", "井盖缺失", "open", secret="s3", tags=["a"])
    row = derive(_Row, state, id=state.case_id, status="OPEN")
    assert row == _Row(id="c-1", title="井盖缺失", status="OPEN", secret="s3")


def test_skipped_fields_keep_their_defaults() -> None:
    state = _State("c-1", "井盖缺失", "open", secret="s3")
    row = derive(_Row, state, skip=("secret",), id=state.case_id)
    assert row.secret == "none"


def test_a_cases_initial_state_leaves_out_the_tracking_token_and_masks_the_reporter() -> None:
    from datetime import UTC, datetime

    from workflows.case.workflow import _initial_state
    from workflows.contracts import Actor, CaseInput, CasePolicy, Location, Role

    place = Location("gl-nhl", ["nj", "gl", "gl-nhl"], district_id="gl")
    operator = Actor("operator1", "话务员", Role.OPERATOR, "nj")
    named = ("CL20261202-000001", "city_event", "井盖缺失", "路口井盖缺失", "manhole", "井盖")
    inp = CaseInput(*named, "component", place, CasePolicy(), operator, tracking_token="secret")
    inp.reporter_name, inp.reporter_phone = "张三丰", "13812345678"
    inp.direct_answer, inp.attachments = "已答复", ["a" * 64]
    state = _initial_state(inp, "case-CL20261202-000001", datetime(2026, 12, 2, tzinfo=UTC))
    assert state.tracking_token == "" and state.direct_answer == ""
    assert state.reporter_name != inp.reporter_name and state.reporter_phone != inp.reporter_phone
    assert state.attachments == inp.attachments and state.attachments is not inp.attachments
    assert (state.case_id, state.ticket, state.title) == (
        f"case-{inp.ticket}",
        inp.ticket,
        inp.title,
    )
    assert state.taken_by == "operator1"
