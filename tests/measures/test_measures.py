"""Every measure over a fixture month, against values worked out by hand, on both databases."""

from __future__ import annotations

import pytest

from core.db import SessionFactory, session_scope
from core.errors import CaseError
from core.measures.queries import Group, compute, parse_period
from tests.measures.fixture import NOW, seed

# gl: cases A B C D; xw: E and I (F voided, G a direct answer, H received in October).
EXPECTED = {
    "gl": {
        "response": (1, 4),  # A was contacted
        "resolution": (1, 3),  # A 已解决; B, C 未解决
        "satisfaction": (2, 3),  # A 满意, B 基本满意, C 不满意
        "closed_on_time": (2, 3),  # B's 处置 went overdue
        "accepted_in_time": (3, 4),  # C was accepted late
        "feedback_on_time": (2, 3),  # B late; D still handling, not yet due
        "rework": (2, 3),  # B failed verification, C was reopened by its caller
        "overdue": (2, 4),  # B's 处置, C's 签收
        "returned": (1, 4),
        "extended": (1, 4),
        "supervised": (2, 4),  # B and C escalated
        "whistled": (1, 4),
        "whistle_signed_in_time": (1, 2),
        "whistle_reported_in_time": (1, 2),  # the police still owe theirs, past due
    },
    "xw": {
        "response": (0, 2),
        "resolution": (0, 0),
        "satisfaction": (0, 0),  # E's caller was not reached
        "closed_on_time": (1, 1),
        "accepted_in_time": (1, 1),  # I is not yet due
        "feedback_on_time": (1, 1),
        "rework": (0, 1),
        "overdue": (0, 2),
        "returned": (0, 2),
        "extended": (0, 2),
        "supervised": (0, 2),
        "whistled": (0, 2),
        "whistle_signed_in_time": (0, 0),
        "whistle_reported_in_time": (0, 0),
    },
}


def _measures(sessions: SessionFactory, by: str) -> dict[str, Group]:
    with session_scope(sessions) as session:
        seed(session)
        session.flush()
        return {g.key: g for g in compute(session, parse_period("2026-11"), by, now=NOW)}


def test_measures_by_district_match_the_hand_computed_values(sessions: SessionFactory) -> None:
    groups = _measures(sessions, "district")
    assert sorted(groups) == ["gl", "xw"]
    for key, expected in EXPECTED.items():
        got = {m: (r.num, r.den) for m, r in groups[key].ratios.items()}
        assert got == expected, key
    gl, xw = groups["gl"], groups["xw"]
    assert (gl.cases, gl.handling_avg, gl.handling_p90) == (4, 86.7, 120)  # 40, 120, 100 min
    assert (xw.cases, xw.handling_avg, xw.handling_p90) == (2, 30.0, 30)
    assert gl.ratios["satisfaction"].value == 0.6667


def test_other_groupings_and_the_whole_city(sessions: SessionFactory) -> None:
    groups = _measures(sessions, "category")
    assert {k: g.cases for k, g in groups.items()} == {"exposed_garbage": 5, "manhole": 1}
    garbage = groups["exposed_garbage"]
    assert (garbage.handling_p90, garbage.ratios["closed_on_time"].num) == (120, 3)
    with session_scope(sessions) as session:
        (city,) = compute(session, parse_period("2026-11"), "all", now=NOW)
        (street,) = compute(session, parse_period("2026"), "street", now=NOW, area="/nj/gl/gl-hq/")
    assert (city.cases, city.handling_p90, city.ratios["response"].den) == (6, 120, 6)
    assert (street.key, street.cases) == ("gl-hq", 1)


@pytest.mark.parametrize("text", ["2026-13", "26-11", "2026-11-01", ""])
def test_a_period_is_a_month_or_a_year(text: str) -> None:
    with pytest.raises(CaseError):
        parse_period(text)
