"""Routing that learns: the misrouting report over closed cases and their first dispatch, and
the overrides a supervisor accepts from it (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from core.db import SessionFactory, session_scope
from core.errors import CaseError
from core.models import CaseEventRecord
from core.routing import learning, overrides
from core.routing.overrides import OverrideIn, RevokeIn
from tests.conftest import user_named
from tests.core.test_proactive_places import closed

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
MONTH = (NOW - timedelta(days=30), NOW)


def dispatched(session: Session, ticket: str, first: str, final: str, street: str) -> None:
    """A closed case first dispatched to `first` that ended with `final`."""
    closed(
        session,
        ticket,
        32.06,
        street_id=street,
        district_id="gl",
        assigned_unit_id=final,
        location_path=f"/nj/gl/{street}/",
        closed_at=NOW - timedelta(days=3),
    )
    for seq, unit in ((3, first), (7, final)):  # a later dispatch (after a return) is not first
        session.add(
            CaseEventRecord(
                case_id=f"case-{ticket}",
                seq=seq,
                at=NOW - timedelta(days=4),
                action="dispatch",
                actor_username="system",
                actor_name="系统",
                actor_role="admin",
                actor_unit_id="",
                from_status="REGISTERED",
                to_status="DISPATCHED",
                payload={"unit": unit, "rule": "locality_first", "auto": True},
            )
        )


@pytest.fixture
def misrouted(sessions: SessionFactory) -> SessionFactory:
    with session_scope(sessions) as session:
        for i in range(4):  # 宁海路's garbage ended with the urban-management bureau 4 times of 6
            dispatched(session, f"M{i}", "gl-nhl", "gl-dept-urban", "gl-nhl")
        for i in range(2):
            dispatched(session, f"K{i}", "gl-nhl", "gl-nhl", "gl-nhl")
        for i in range(5):  # 湖南路 routes right
            dispatched(session, f"H{i}", "gl-hnl", "gl-hnl", "gl-hnl")
    return sessions


def test_the_report_names_the_pair_and_where_its_cases_ended(misrouted: SessionFactory) -> None:
    with session_scope(misrouted) as session:
        supervisor = user_named(misrouted, "supervisor_gl")
        [found] = learning.suggestions(session, supervisor, *MONTH)
        outside = learning.suggestions(session, user_named(misrouted, "supervisor_xw"), *MONTH)
        strict = learning.suggestions(session, supervisor, *MONTH, min_share=0.7)
        few = learning.suggestions(session, supervisor, *MONTH, min_cases=7)
    assert (found.category, found.area_id, found.area_name) == (
        "exposed_garbage",
        "gl-nhl",
        "宁海路街道",
    )
    assert (found.cases, found.misrouted, found.share) == (6, 4, 0.667)
    assert (found.first_unit_id, found.unit_id, found.unit_cases) == ("gl-nhl", "gl-dept-urban", 4)
    assert (outside, strict, few) == ([], [], [])


def test_an_accepted_override_routes_until_replaced_or_revoked(misrouted: SessionFactory) -> None:
    supervisor = user_named(misrouted, "supervisor_gl")
    body = OverrideIn(
        category="exposed_garbage",
        area_unit_id="gl-nhl",
        unit_id="gl-dept-urban",
        reason="4/6 改派",
    )
    with session_scope(misrouted) as session:
        first = overrides.accept(session, supervisor, body)
        assert overrides.for_case(session, "exposed_garbage", "gl-nhl", "gl") == "gl-dept-urban"
        assert overrides.for_case(session, "exposed_garbage", "gl-hnl", "gl") == ""
        district = body.model_copy(update={"area_unit_id": "gl", "unit_id": "gl-dept-water"})
        overrides.accept(session, supervisor, district)
        assert overrides.for_case(session, "exposed_garbage", "gl-hnl", "gl") == "gl-dept-water"
        second = overrides.accept(
            session, supervisor, body.model_copy(update={"unit_id": "gl-hnl"})
        )
        assert overrides.for_case(session, "exposed_garbage", "gl-nhl", "gl") == "gl-hnl"
        overrides.revoke(session, supervisor, second.id, RevokeIn(reason="试行结束"))
        assert overrides.for_case(session, "exposed_garbage", "gl-nhl", "gl") == "gl-dept-water"
        listed = {o.id: o for o in overrides.listed(session, supervisor)}
    assert listed[first.id].revoked_by == "supervisor_gl" and listed[first.id].revoke_reason
    assert listed[second.id].revoke_reason == "试行结束" and listed[second.id].accepted_by
    assert len(listed) == 3


@pytest.mark.parametrize(
    ("username", "change", "status", "field"),
    [
        ("handler_nhl", {}, 403, ""),
        ("supervisor_xw", {}, 403, ""),
        ("supervisor_gl", {"area_unit_id": "gl-nhl-c1"}, 422, "area_unit_id"),
        ("supervisor_gl", {"unit_id": "nowhere"}, 422, "unit_id"),
        ("supervisor_gl", {"category": "ufo"}, 422, "category"),
    ],
)
def test_refusals_name_the_reason_and_change_nothing(
    sessions: SessionFactory, username: str, change: dict[str, str], status: int, field: str
) -> None:
    body = OverrideIn(
        category="exposed_garbage", area_unit_id="gl-nhl", unit_id="gl-dept-urban", reason="试行"
    )
    with session_scope(sessions) as session, pytest.raises(CaseError) as refused:
        overrides.accept(session, user_named(sessions, username), body.model_copy(update=change))
    assert (refused.value.status, refused.value.field) == (status, field)
    with session_scope(sessions) as session:
        assert overrides.listed(session, user_named(sessions, "supervisor1")) == []
