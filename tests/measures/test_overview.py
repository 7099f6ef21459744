"""The overview's marks and day buckets (the pages are tested in tests/web)."""

from __future__ import annotations

from datetime import datetime

from core.measures.overview import _marks, day_start
from core.measures.queries import Group, Ratio
from workflows.shared.workcal import CST


def test_marks_are_red_below_80_and_amber_below_90_percent() -> None:
    group = Group("gl")
    group.ratios = {
        "closed_on_time": Ratio(7, 10),
        "accepted_in_time": Ratio(85, 100),
        "satisfaction": Ratio(0, 0),  # nothing rated: no mark
    }
    assert _marks(group) == {"closed_on_time": "red", "accepted_in_time": "amber"}
    assert _marks(None) == {}


def test_a_day_starts_at_midnight_in_beijing() -> None:
    late_utc = datetime.fromisoformat("2026-12-01T17:30:00+00:00")  # 01:30 on 12-02 in Beijing
    assert day_start(late_utc) == datetime(2026, 12, 2, tzinfo=CST)
