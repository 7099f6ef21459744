"""The monthly sums answer as the facts do: every grouping and area of a year and its months,
after late ratings, reopened and voided cases, on both databases."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import SessionFactory, session_scope
from core.measures import queries, rollup
from core.measures.definitions import GROUPINGS
from core.measures.queries import Period, compute, parse_period
from core.measures.store import _write, rows_for
from core.models import FACT_MONTH_BUCKETS, FACT_MONTH_COUNTS
from tests.measures.fixture import NOW, seed
from tests.measures.story import Story
from workflows.shared.workcal import CST

# Grids below the streets of tests/measures/fixture.py, and a case with no street at all.
PATHS = {
    "gl-nhl": ("gl", "/nj/gl/gl-nhl/c1/g1/"),
    "gl-hq": ("gl", "/nj/gl/gl-hq/"),
    "xw-xwm": ("xw", "/nj/xw/xw-xwm/c2/"),
    "": ("xw", "/nj/xw/"),
}
AREAS = [None, "/nj/gl/", "/nj/gl/gl-nhl/", "/nj/xw/xw-xwm/"]
RATINGS = ("satisfied", "basically_satisfied", "unsatisfied", "")


def _dims(rng: random.Random, n: int) -> SimpleNamespace:
    street = rng.choice(list(PATHS))
    district, path = PATHS[street]
    return SimpleNamespace(
        district_id=district,
        street_id=street,
        assigned_unit_id=rng.choice([street, f"{district}-dept", "u9"]),
        category=rng.choice(["exposed_garbage", "manhole", "noise"]),
        channel=rng.choice(["hotline", "grid", "web"]),
        request_kind=rng.choice(["", "投诉", "求助"]),
        location_path=path,
        status="",
        direct_answer=n % 41 == 0,
        lat=None,
        lon=None,
    )


def _story(rng: random.Random, received: datetime, *, rated: bool = True) -> Story:
    """A case closed after a handling time spread over many buckets (minutes to weeks)."""
    s = Story(received).opened().at(3, "accept")
    if rng.random() < 0.2:
        return s  # still open
    minutes = int(rng.lognormvariate(6.5, 1.6)) + 10
    if rng.random() < 0.3:
        s.at(4, "overdue").at(4, "escalate")
    s.at(minutes - 5, "submit_feedback").verified(minutes)
    rating = rng.choice(RATINGS)
    if rated and rating:
        s.callback(minutes + 5, rating, resolved=rating != "unsatisfied")
    return s


def _cases(n: int) -> list[tuple[str, Story, SimpleNamespace]]:
    """Cases over 2026, and a few over the new year (Beijing midnight, not UTC's)."""
    rng, out = random.Random(13), []
    for i in range(n):
        received = datetime(2026, 1, 1, tzinfo=CST) + timedelta(minutes=rng.uniform(0, 525_600))
        if i % 25 == 0:
            received = datetime(2027, 1, 1, tzinfo=CST) - timedelta(minutes=rng.uniform(-90, 90))
        out.append((f"case-R{i}", _story(rng, received), _dims(rng, i)))
    return out


def _seed(session: Session, cases: list[tuple[str, list[Any], SimpleNamespace]]) -> None:
    seed(session)  # the hand-counted month too, whistles and all
    batch = [(case_id, *rows_for(case_id, dims, events)) for case_id, events, dims in cases]
    for i in range(0, len(batch), 37):  # in batches, as the projection and backfill write
        _write(session, batch[i : i + 37])


def _summed(session: Session, period: Period, by: str, area: str | None) -> list[Any]:
    """The measures as the sums give them, with reading the facts' counts forbidden."""

    def forbidden(*_: Any) -> Any:
        raise AssertionError("the sums should answer")

    patch = pytest.MonkeyPatch()
    patch.setattr(queries, "_case_query", forbidden)
    patch.setattr(queries, "_p90_query", forbidden)
    try:
        return compute(session, period, by, now=NOW, area=area)
    finally:
        patch.undo()


def _assert_sums_answer_as_the_facts(session: Session) -> None:
    for text in ("2026", "2026-12", "2027"):  # a year, and months across the new year
        period = parse_period(text)
        for by in GROUPINGS:
            for area in AREAS:
                live = compute(session, period, by, now=NOW, area=area, live=True)
                assert _summed(session, period, by, area) == live, (text, by, area)


def _rows(session: Session) -> list[tuple]:
    query = select(rollup.MONTHS).order_by(*rollup.MONTHS.primary_key)
    return [tuple(r) for r in session.execute(query)]


def test_a_years_measures_from_the_sums_equal_the_facts(sessions: SessionFactory) -> None:
    with session_scope(sessions) as session:
        _seed(session, [(c, s.events, d) for c, s, d in _cases(400)])
        session.flush()
        _assert_sums_answer_as_the_facts(session)
        (year,) = compute(session, parse_period("2026"), "all", now=NOW)
        assert year.cases > 350 and year.handling_p90 is not None


def test_the_sums_follow_late_ratings_reopened_and_voided_cases(sessions: SessionFactory) -> None:
    rng, cases = random.Random(7), _cases(200)
    rated = {c for c, s, _ in cases if s.events[-1].action == "record_callback"}
    with session_scope(sessions) as session:
        # rated cases as they stood before their callback
        _seed(session, [(c, s.events[:-1] if c in rated else s.events, d) for c, s, d in cases])
        session.flush()
        later = []
        for case_id, story, dims in cases[:150]:
            if case_id in rated and rng.random() < 0.4:  # rated late, then reopened by the caller
                story.at(60_000, "record_callback", "REWORK", rating="unsatisfied")
            elif rng.random() < 0.15:
                story.at(70_000, "void")
            if rng.random() < 0.3:
                dims.assigned_unit_id = "u-reassigned"
            later.append((case_id, *rows_for(case_id, dims, story.events)))
        _write(session, later)
        session.flush()
        _assert_sums_answer_as_the_facts(session)
        kept = _rows(session)
        assert rollup.rebuild(session) == len(kept)
        assert _rows(session) == kept  # summed again from the facts: the same rows


def test_a_place_is_the_path_cut_after_its_street() -> None:
    assert rollup.place("/nj/gl/gl-nhl/c1/g1/") == "/nj/gl/gl-nhl/"
    assert rollup.place("/nj/gl/gl-nhl/") == "/nj/gl/gl-nhl/"
    assert rollup.place("/nj/gl/") == "/nj/gl/"
    assert rollup.place("") == ""


def test_the_sums_answer_for_whole_months_in_areas_down_to_a_street() -> None:
    year, month = parse_period("2026"), parse_period("2026-11")
    assert rollup.covers(year.start, year.end, None)
    assert rollup.covers(month.start, month.end, "/nj/gl/gl-nhl/")
    assert not rollup.covers(month.start, month.end, "/nj/gl/gl-nhl/c1/")  # a community
    assert not rollup.covers(month.start + timedelta(days=1), month.end, None)
    assert not rollup.covers(month.start, month.end - timedelta(hours=8), None)  # UTC's month


def test_the_table_has_a_counter_for_each_measure_and_bucket() -> None:
    """A measure added to definitions.py needs its columns (a migration that rebuilds)."""
    assert rollup.NAMES == FACT_MONTH_COUNTS
    assert len(rollup.BOUNDS) + 1 == FACT_MONTH_BUCKETS


def test_buckets_tile_the_minutes() -> None:
    assert rollup.bucket(-5) == rollup.bucket(0) == 0
    for b in range(len(rollup.BOUNDS) + 1):
        low, high = rollup.bucket_range(b)
        if low is not None:
            assert rollup.bucket(low) == b
        if high is not None:
            assert rollup.bucket(high - 1) == b and rollup.bucket(high) == b + 1
