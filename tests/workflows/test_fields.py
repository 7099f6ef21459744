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
