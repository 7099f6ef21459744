"""未诉先办's finding half: the same category closed three times within 100 m in 30 days."""

from __future__ import annotations

from datetime import datetime, timedelta

from core.db import SessionFactory, session_scope
from core.measures.recurring import recurring_places
from core.measures.store import _write, rows_for
from tests.measures.live import _case
from tests.measures.story import Story
from workflows.shared.workcal import CST

NOW = datetime(2026, 11, 30, 12, tzinfo=CST)
M = 1 / 111_320  # one metre of latitude, in degrees


def _closed(session: object, n: int, lat: float, lon: float, days_ago: float) -> None:
    received = NOW - timedelta(days=days_ago)
    row = _case(n, "gl-nhl", received, "CLOSED", lat=lat, lon=lon, category="exposed_garbage")
    story = Story(received).opened("gl-nhl").at(5, "accept").at(30, "submit_feedback").verified(60)
    session.add(row)  # type: ignore[attr-defined]
    _write(session, [(row.id, *rows_for(row.id, row, story.events))])  # type: ignore[arg-type]


def test_three_closures_within_100_m_make_a_place_and_far_or_old_ones_do_not(
    sessions: SessionFactory,
) -> None:
    lat, lon = 32.56, 119.1
    with session_scope(sessions) as session:
        _closed(session, 1, lat, lon, 2)
        _closed(session, 2, lat + 60 * M, lon, 5)  # 60 m north
        _closed(session, 3, lat - 30 * M, lon, 20)  # 30 m south
        _closed(session, 4, lat + 400 * M, lon, 3)  # 400 m away: alone
        _closed(session, 5, lat, lon, 45)  # closed 45 days ago: outside the window
        session.flush()
        (place,) = recurring_places(session, NOW)
        assert (place.category, place.street_id) == ("exposed_garbage", "gl-nhl")
        assert sorted(place.tickets) == ["L1", "L2", "L3"]
        assert recurring_places(session, NOW, per_category={"exposed_garbage": 4}) == []
        assert recurring_places(session, NOW, radius_m=20) == []
