"""Recurring places (未诉先办): the clustering, and closed cases in the read model."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from core.db import SessionFactory, session_scope
from core.intake.dedup import METRES_PER_DEGREE
from core.proactive.places import Point, clusters, recurring_places
from core.proactive.rules import RecurrenceRule
from tests.cases import case_record

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
LAT, LON = 32.0605, 118.7795
RULE = RecurrenceRule()  # 3 cases within 100 m in 30 days


def north(metres: float) -> float:
    return LAT + metres / METRES_PER_DEGREE


def test_three_within_the_radius_make_a_place_and_two_do_not() -> None:
    three = [Point("A", LAT, LON), Point("B", north(40), LON), Point("C", north(80), LON)]
    far = Point("D", north(1000), LON)
    assert [[p.ticket for p in c] for c in clusters([*three, far], RULE)] == [["A", "B", "C"]]
    assert clusters([*three[:2], far], RULE) == []
    # A place is a case and the cases within the radius of it: B's two neighbours 90 m away
    # make one, 110 m away they do not.
    chain = [Point("A", LAT, LON), Point("B", north(90), LON), Point("C", north(180), LON)]
    assert [p.ticket for p in clusters(chain, RULE)[0]] == ["A", "B", "C"]
    apart = [Point("A", LAT, LON), Point("B", north(110), LON), Point("C", north(220), LON)]
    assert clusters(apart, RULE) == []
    assert clusters(apart, RecurrenceRule(radius_m=120)) != []


def test_a_place_is_taken_once_and_the_densest_first() -> None:
    dense = [Point(f"A{i}", north(10 * i), LON) for i in range(5)]
    beside = [Point(f"B{i}", north(150 + 10 * i), LON) for i in range(3)]
    found = clusters([*beside, *dense], RULE)
    assert [len(c) for c in found] == [5, 3]
    assert {p.ticket for c in found for p in c} == {p.ticket for p in dense + beside}


def closed(
    session: Session, ticket: str, lat: float, *, days_ago: float = 3, **extra: object
) -> None:
    at = NOW - timedelta(days=days_ago)
    fields = dict(
        status="ARCHIVED",
        location_unit_id="gl-nhl-c1-g1",
        location_path="gl/gl-nhl/gl-nhl-c1/gl-nhl-c1-g1",
        created_at=at - timedelta(days=1),
        updated_at=at,
        closed_at=at,
        lat=lat,
        lon=extra.pop("lon", LON),
        address="宁海路 1 号",
    )
    session.add(case_record(ticket, **{**fields, **extra}))


def test_the_read_model_finds_places_of_closed_cases_only(sessions: SessionFactory) -> None:
    with session_scope(sessions) as session:
        for i, metres in enumerate((0, 30, 60)):
            closed(session, f"P{i}", north(metres))
        closed(session, "OLD", north(20), days_ago=45)  # outside the 30 days
        closed(session, "OPEN", north(20), status="HANDLING", closed_at=None)
        closed(session, "VOID", north(20), status="VOIDED")
        closed(session, "ANS", north(20), direct_answer=True)
        closed(session, "W1", north(0), category="road_waterlogging", category_name="道路积水")
        closed(session, "W2", north(10), category="road_waterlogging", category_name="道路积水")
    with session_scope(sessions) as session:
        [place] = recurring_places(session, NOW, {}, RULE)
        waterlogging = {"road_waterlogging": RecurrenceRule(min_cases=2)}
        both = recurring_places(session, NOW, waterlogging, RULE)
    assert (place.category, place.tickets) == ("exposed_garbage", ("P0", "P1", "P2"))
    assert abs(place.lat - north(30)) < 1e-9 and place.key.startswith("pa-")
    assert sorted(p.tickets for p in both) == [("P0", "P1", "P2"), ("W1", "W2")]


def test_a_place_with_a_proactive_case_is_not_found_again(sessions: SessionFactory) -> None:
    with session_scope(sessions) as session:
        for i, metres in enumerate((0, 30, 60)):
            closed(session, f"P{i}", north(metres))
        closed(session, "PRO", north(50), channel="proactive", status="HANDLING", closed_at=None)
    with session_scope(sessions) as session:
        assert recurring_places(session, NOW, {}, RULE) == []
