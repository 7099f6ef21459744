"""Tests for workflows.workcal against the real 2025/2026 Chinese calendar.

Dates below come from the chinese_calendar 1.11 tables:
- National Day 2025: Oct 1-8 off; make-up workdays Sun Sep 28 and Sat Oct 11.
- Spring Festival 2026: Feb 15-23 off; make-up workdays Sat Feb 14 and Sat Feb 28.
- 2027 is not covered by the package, so the Mon-Fri fallback applies.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import chinese_calendar
import pytest

from workflows.shared.workcal import (
    CST,
    WorkCalendar,
    add_natural_minutes,
    deadline,
    limit_minutes,
    parse_limit,
)

CAL = WorkCalendar()


def cst(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    """Build a CST datetime tersely."""
    return datetime(y, mo, d, h, mi, tzinfo=CST)


# --- construction -----------------------------------------------------------


def test_defaults_and_day_minutes() -> None:
    assert CAL.day_start == time(8, 30)
    assert CAL.day_end == time(17, 30)
    assert CAL.day_minutes == 540
    assert WorkCalendar.from_spec(day_start="09:00", day_end="12:00").day_minutes == 180


def test_from_spec_parses_strings() -> None:
    cal = WorkCalendar.from_spec(
        day_start="09:00",
        day_end="18:00",
        extra_workdays=["2025-10-08"],
        extra_holidays=["2025-11-17"],
    )
    assert cal.day_start == time(9, 0)
    assert cal.day_end == time(18, 0)
    assert cal.extra_workdays == frozenset({date(2025, 10, 8)})
    assert cal.extra_holidays == frozenset({date(2025, 11, 17)})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"day_start": "8h30"}, "day_start"),
        ({"day_end": "25:00"}, "day_end"),
        ({"day_start": "17:30", "day_end": "08:30"}, "must be after"),
        ({"day_start": "09:00", "day_end": "09:00"}, "must be after"),
        ({"day_start": "08:30+08:00"}, "UTC offset"),
        ({"extra_workdays": ["2025-13-01"]}, "extra_workdays"),
        ({"extra_holidays": ["tomorrow"]}, "extra_holidays"),
        ({"extra_holidays": "2025-10-01"}, "single string"),
        (
            {"extra_workdays": ["2025-10-01"], "extra_holidays": ["2025-10-01"]},
            "both",
        ),
    ],
)
def test_from_spec_rejects_bad_values(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WorkCalendar.from_spec(**kwargs)  # type: ignore[arg-type]


def test_direct_construction_is_validated_and_normalised() -> None:
    with pytest.raises(ValueError, match="must be after"):
        WorkCalendar(day_start=time(18, 0), day_end=time(9, 0))
    cal = WorkCalendar(extra_workdays={date(2025, 10, 8)})  # type: ignore[arg-type]
    assert isinstance(cal.extra_workdays, frozenset)
    with pytest.raises(ValueError, match=r"datetime\.date"):
        WorkCalendar(extra_holidays=frozenset({datetime(2025, 10, 8)}))


def test_calendar_is_hashable_and_callback_ignored_in_equality() -> None:
    a = WorkCalendar.from_spec(on_unknown_year=lambda year: None)
    b = WorkCalendar.from_spec()
    assert a == b
    assert hash(a) == hash(b)


# --- is_workday -------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2025, 9, 26), True),  # Fri before the holiday
        (date(2025, 9, 27), False),  # ordinary Saturday
        (date(2025, 9, 28), True),  # make-up Sunday
        (date(2025, 10, 1), False),  # National Day
        (date(2025, 10, 6), False),  # Mon inside the holiday week
        (date(2025, 10, 8), False),  # last holiday day (Wed)
        (date(2025, 10, 9), True),
        (date(2025, 10, 11), True),  # make-up Saturday
        (date(2025, 10, 12), False),
        (date(2026, 2, 13), True),  # Fri before Spring Festival
        (date(2026, 2, 14), True),  # make-up Saturday
        (date(2026, 2, 16), False),  # Mon, Spring Festival
        (date(2026, 2, 23), False),  # last Spring Festival day (Mon)
        (date(2026, 2, 24), True),
        (date(2026, 2, 28), True),  # make-up Saturday
        (date(2026, 3, 1), False),
    ],
)
def test_is_workday_follows_chinese_calendar(day: date, expected: bool) -> None:
    assert CAL.is_workday(day) is expected


def test_is_workday_accepts_datetime_by_cst_date() -> None:
    # 2025-09-27 20:00 UTC is already Sun Sep 28 (make-up day) in CST.
    utc_evening = datetime(2025, 9, 27, 20, 0, tzinfo=UTC)
    assert CAL.is_workday(utc_evening) is True


def test_extra_days_override_package() -> None:
    cal = WorkCalendar.from_spec(
        extra_workdays=["2025-10-01", "2025-11-15"],
        extra_holidays=["2025-09-28", "2025-11-17"],
    )
    assert cal.is_workday(date(2025, 10, 1)) is True  # package: National Day
    assert cal.is_workday(date(2025, 11, 15)) is True  # package: Saturday
    assert cal.is_workday(date(2025, 9, 28)) is False  # package: make-up Sunday
    assert cal.is_workday(date(2025, 11, 17)) is False  # package: Monday


def test_unknown_year_falls_back_to_weekdays_and_notifies() -> None:
    seen: list[int] = []
    cal = WorkCalendar(on_unknown_year=seen.append)
    assert cal.is_workday(date(2027, 1, 1)) is True  # Friday by the weekday rule
    assert cal.is_workday(date(2027, 1, 2)) is False  # Saturday
    assert seen == [2027, 2027]
    # Without a callback it must still not raise.
    assert CAL.is_workday(date(2027, 1, 4)) is True


def test_unknown_year_respects_extra_days_without_notifying() -> None:
    seen: list[int] = []
    cal = WorkCalendar.from_spec(extra_holidays=["2027-01-01"], on_unknown_year=seen.append)
    assert cal.is_workday(date(2027, 1, 1)) is False
    assert seen == []


# --- next_working_instant ---------------------------------------------------


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (cst(2025, 11, 14, 10, 15), cst(2025, 11, 14, 10, 15)),  # inside hours
        (cst(2025, 11, 14, 8, 30), cst(2025, 11, 14, 8, 30)),  # exactly at start
        (cst(2025, 11, 14, 7, 0), cst(2025, 11, 14, 8, 30)),  # early morning
        (cst(2025, 11, 14, 17, 30), cst(2025, 11, 17, 8, 30)),  # day_end is outside
        (cst(2025, 11, 15, 11, 0), cst(2025, 11, 17, 8, 30)),  # Saturday
        (cst(2025, 10, 3, 11, 0), cst(2025, 10, 9, 8, 30)),  # National Day
        (cst(2025, 9, 27, 11, 0), cst(2025, 9, 28, 8, 30)),  # make-up Sunday next
    ],
)
def test_next_working_instant(at: datetime, expected: datetime) -> None:
    assert CAL.next_working_instant(at) == expected


# --- add_working_minutes / deadline -----------------------------------------


def test_friday_afternoon_rolls_over_ordinary_weekend() -> None:
    result = CAL.add_working_minutes(cst(2025, 11, 14, 16, 30), 120)
    assert result == cst(2025, 11, 17, 9, 30)
    assert deadline(cst(2025, 11, 14, 16, 30), "2h", working=True, cal=CAL) == result


def test_national_day_week_is_skipped() -> None:
    start = cst(2025, 9, 30, 16, 30)  # Tue, last workday before the holiday
    assert CAL.add_working_minutes(start, 120) == cst(2025, 10, 9, 9, 30)
    # "3d" = 3 working days: Oct 9, Oct 10 and make-up Sat Oct 11.
    assert deadline(start, "3d", working=True, cal=CAL) == cst(2025, 10, 11, 16, 30)


def test_make_up_saturday_counts_as_working_day() -> None:
    assert CAL.add_working_minutes(cst(2025, 10, 10, 17, 0), 60) == cst(2025, 10, 11, 9, 0)
    # ... and the make-up Sunday before National Day too.
    assert CAL.add_working_minutes(cst(2025, 9, 27, 10, 0), 30) == cst(2025, 9, 28, 9, 0)


def test_spring_festival_2026() -> None:
    # Fri Feb 13 17:00: 30 min that day, remaining 510 min on make-up Sat Feb 14.
    assert deadline(cst(2026, 2, 13, 17, 0), "1d", working=True, cal=CAL) == cst(2026, 2, 14, 17, 0)
    # From the make-up Saturday evening the next workday is Tue Feb 24.
    assert CAL.add_working_minutes(cst(2026, 2, 14, 17, 0), 60) == cst(2026, 2, 24, 9, 0)


def test_deadline_landing_in_2027_uses_fallback_and_notifies() -> None:
    seen: list[int] = []
    cal = WorkCalendar(on_unknown_year=seen.append)
    # Thu 2026-12-31 17:00 + 2h: Fri 2027-01-01 is a workday under the fallback.
    result = deadline(cst(2026, 12, 31, 17, 0), "2h", working=True, cal=cal)
    assert result == cst(2027, 1, 1, 10, 0)
    assert 2027 in seen
    # Across the first 2027 weekend: Fri 17:00 + 1h -> Mon Jan 4 09:00.
    assert cal.add_working_minutes(cst(2027, 1, 1, 17, 0), 60) == cst(2027, 1, 4, 9, 0)


def test_extra_days_change_deadlines() -> None:
    start = cst(2025, 11, 14, 16, 30)
    holiday_monday = WorkCalendar.from_spec(extra_holidays=["2025-11-17"])
    assert holiday_monday.add_working_minutes(start, 120) == cst(2025, 11, 18, 9, 30)
    working_saturday = WorkCalendar.from_spec(extra_workdays=["2025-11-15"])
    assert working_saturday.add_working_minutes(start, 120) == cst(2025, 11, 15, 9, 30)


def test_start_before_and_after_hours() -> None:
    assert CAL.add_working_minutes(cst(2025, 11, 17, 6, 0), 30) == cst(2025, 11, 17, 9, 0)
    assert CAL.add_working_minutes(cst(2025, 11, 17, 20, 0), 30) == cst(2025, 11, 18, 9, 0)
    assert CAL.add_working_minutes(cst(2025, 11, 17, 17, 30), 30) == cst(2025, 11, 18, 9, 0)


def test_result_exactly_at_day_end_stays() -> None:
    assert CAL.add_working_minutes(cst(2025, 11, 17, 16, 30), 60) == cst(2025, 11, 17, 17, 30)
    assert deadline(cst(2025, 11, 17, 8, 30), "1d", working=True, cal=CAL) == cst(
        2025, 11, 17, 17, 30
    )


def test_zero_minutes_returns_start_unchanged() -> None:
    saturday_night = cst(2025, 11, 15, 23, 0)
    assert CAL.add_working_minutes(saturday_night, 0) == saturday_night
    assert deadline(saturday_night, "0m", working=True, cal=CAL) == saturday_night


def test_negative_minutes_rejected() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        CAL.add_working_minutes(cst(2025, 11, 17, 9, 0), -1)


def test_inputs_converted_to_cst_and_results_in_cst() -> None:
    start_utc = datetime(2025, 11, 14, 8, 30, tzinfo=UTC)  # 16:30 CST Fri
    result = CAL.add_working_minutes(start_utc, 120)
    assert result == cst(2025, 11, 17, 9, 30)
    assert result.utcoffset() == timedelta(hours=8)
    assert add_natural_minutes(start_utc, 0).utcoffset() == timedelta(hours=8)


def test_naive_datetimes_rejected() -> None:
    naive = datetime(2025, 11, 17, 9, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.add_working_minutes(naive, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_natural_minutes(naive, 10)
    with pytest.raises(ValueError, match="timezone-aware"):
        CAL.working_minutes_between(naive, cst(2025, 11, 18))


def test_seconds_are_preserved() -> None:
    start = datetime(2025, 11, 17, 17, 29, 30, tzinfo=CST)
    assert CAL.add_working_minutes(start, 1) == datetime(2025, 11, 18, 8, 30, 30, tzinfo=CST)


def test_twenty_working_days_across_national_day() -> None:
    # Working days from Mon Sep 22 2025: Sep 22-26 (5), Sun Sep 28 (6),
    # Sep 29-30 (8), Oct 9-11 (11), Oct 13-17 (16), Oct 20-23 (20).
    start = cst(2025, 9, 22, 8, 30)
    assert deadline(start, "20d", working=True, cal=CAL) == cst(2025, 10, 23, 17, 30)
    assert limit_minutes("20d", working=True, cal=CAL) == 20 * 540


def test_long_limit_steps_per_day_not_per_minute(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0
    real = chinese_calendar.is_workday

    def counting(day: date) -> bool:
        nonlocal calls
        calls += 1
        return bool(real(day))

    monkeypatch.setattr(chinese_calendar, "is_workday", counting)
    result = CAL.add_working_minutes(cst(2025, 9, 22, 8, 30), 20 * 540)
    assert result == cst(2025, 10, 23, 17, 30)
    assert 0 < calls <= 40  # 32 calendar days in the span


def test_skips_spring_festival_for_multi_day_limit() -> None:
    # Thu Feb 12 2026 09:00 + 5 * 540 min: 510 on Feb 12, 540 each on Feb 13,
    # make-up Sat Feb 14, Feb 24 and Feb 25, leaving 30 min on Thu Feb 26.
    start = cst(2026, 2, 12, 9, 0)
    assert deadline(start, "5d", working=True, cal=CAL) == cst(2026, 2, 26, 9, 0)


# --- natural time -----------------------------------------------------------


def test_natural_limits_ignore_calendar() -> None:
    start = cst(2025, 9, 30, 16, 30)
    assert deadline(start, "2h", working=False, cal=CAL) == cst(2025, 9, 30, 18, 30)
    assert deadline(start, "1d", working=False, cal=CAL) == cst(2025, 10, 1, 16, 30)
    assert deadline(start, "45m", working=False, cal=CAL) == cst(2025, 9, 30, 17, 15)
    assert add_natural_minutes(start, 1440 * 3) == cst(2025, 10, 3, 16, 30)


@pytest.mark.parametrize(
    ("text", "working", "expected"),
    [
        ("30m", True, 30),
        ("30m", False, 30),
        ("2h", True, 120),
        ("2h", False, 120),
        ("1d", True, 540),
        ("1d", False, 1440),
        ("3d", True, 1620),
    ],
)
def test_limit_minutes(text: str, working: bool, expected: int) -> None:
    assert limit_minutes(text, working=working, cal=CAL) == expected


def test_limit_minutes_uses_calendar_day_length() -> None:
    short_day = WorkCalendar.from_spec(day_start="09:00", day_end="12:00")
    assert limit_minutes("2d", working=True, cal=short_day) == 360


# --- parse_limit ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30m", (30, "m")), ("2h", (2, "h")), ("1d", (1, "d")), (" 15d ", (15, "d"))],
)
def test_parse_limit(text: str, expected: tuple[int, str]) -> None:
    assert parse_limit(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "30", "m", "1.5d", "-1d", "2h30m", "3w", "1 d", "1D", "٣d", "d1"],
)
def test_parse_limit_rejects_bad_text(text: str) -> None:
    with pytest.raises(ValueError, match="time limit"):
        parse_limit(text)


def test_parse_limit_rejects_non_string() -> None:
    with pytest.raises(ValueError, match="time limit"):
        parse_limit(None)  # type: ignore[arg-type]


def test_deadline_rejects_bad_limit() -> None:
    with pytest.raises(ValueError, match="time limit"):
        deadline(cst(2025, 11, 17, 9, 0), "soon", working=True, cal=CAL)


# --- working_minutes_between ------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (cst(2025, 11, 17, 9, 0), cst(2025, 11, 17, 9, 0), 0),
        (cst(2025, 11, 17, 10, 0), cst(2025, 11, 17, 9, 0), 0),  # reversed
        (cst(2025, 11, 17, 9, 0), cst(2025, 11, 17, 10, 30), 90),
        (cst(2025, 11, 17, 6, 0), cst(2025, 11, 17, 20, 0), 540),  # whole day
        (cst(2025, 11, 14, 16, 30), cst(2025, 11, 17, 9, 30), 120),  # weekend
        (cst(2025, 9, 30, 16, 30), cst(2025, 10, 9, 9, 30), 120),  # National Day
        (cst(2025, 10, 10, 17, 0), cst(2025, 10, 11, 9, 0), 60),  # make-up Sat
        (cst(2025, 11, 15, 9, 0), cst(2025, 11, 16, 17, 0), 0),  # all weekend
        (cst(2025, 9, 22, 8, 30), cst(2025, 10, 23, 17, 30), 20 * 540),
    ],
)
def test_working_minutes_between(start: datetime, end: datetime, expected: int) -> None:
    assert CAL.working_minutes_between(start, end) == expected


def test_working_minutes_between_rounds_down_partial_minutes() -> None:
    start = cst(2025, 11, 17, 9, 0)
    assert CAL.working_minutes_between(start, start + timedelta(seconds=119)) == 1


def test_working_minutes_between_mixed_zones() -> None:
    start_utc = datetime(2025, 11, 17, 1, 0, tzinfo=UTC)  # 09:00 CST
    assert CAL.working_minutes_between(start_utc, cst(2025, 11, 17, 10, 0)) == 60


@pytest.mark.parametrize(
    "start",
    [
        cst(2025, 9, 26, 11, 17),  # Fri before the National Day run-up
        cst(2025, 9, 27, 3, 0),  # Saturday night, off
        cst(2026, 2, 12, 17, 30),  # exactly at day_end before Spring Festival
        cst(2026, 12, 28, 14, 0),  # runs into fallback year 2027
    ],
)
def test_add_then_between_round_trips(start: datetime) -> None:
    for minutes in range(0, 12 * 540, 37):
        end = CAL.add_working_minutes(start, minutes)
        assert CAL.working_minutes_between(start, end) == minutes


@pytest.mark.parametrize(
    "end",
    [
        cst(2025, 10, 9, 9, 45),  # first morning after National Day
        cst(2025, 10, 11, 17, 29),  # make-up Saturday
        cst(2026, 2, 24, 9, 0),  # first morning after Spring Festival
        cst(2025, 11, 17, 17, 30),  # exactly at day_end
        cst(2027, 1, 4, 11, 0),  # fallback year
    ],
)
def test_between_then_add_reaches_end(end: datetime) -> None:
    start = cst(2025, 9, 25, 15, 0)
    remaining = CAL.working_minutes_between(start, end)
    assert CAL.add_working_minutes(start, remaining) == end


def test_between_then_add_at_day_start_gives_previous_day_end() -> None:
    # day_end of one working day and day_start of the next are the same
    # working instant; add_working_minutes reports the earlier one (day_end).
    start = cst(2025, 9, 25, 15, 0)
    end = cst(2026, 2, 24, 8, 30)  # first instant after Spring Festival
    result = CAL.add_working_minutes(start, CAL.working_minutes_between(start, end))
    assert result == cst(2026, 2, 14, 17, 30)  # make-up Saturday's day_end
    assert CAL.next_working_instant(result) == end


def test_paused_clock_remaining_time() -> None:
    # A 3-working-day limit started Fri Sep 26 10:00, paused Tue Sep 30 10:00,
    # resumed Thu Oct 9 10:00: the remaining time carries over the holiday.
    started = cst(2025, 9, 26, 10, 0)
    paused = cst(2025, 9, 30, 10, 0)
    resumed = cst(2025, 10, 9, 10, 0)
    total = limit_minutes("3d", working=True, cal=CAL)
    used = CAL.working_minutes_between(started, paused)
    assert used == 3 * 540  # Fri, Sun make-up and Mon, each 10:00 -> 10:00
    assert CAL.add_working_minutes(resumed, total - used) == resumed
    used_early = CAL.working_minutes_between(started, cst(2025, 9, 29, 10, 0))
    assert used_early == 2 * 540
    assert CAL.add_working_minutes(resumed, total - used_early) == cst(2025, 10, 10, 10, 0)
