"""The deployment's holiday corrections file, and its effect on a case's deadlines."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from core.cases.service import read_calendar_file
from workflows.shared.workcal import CST, WorkCalendar, deadline


def test_corrections_are_read_and_applied(tmp_path: Path) -> None:
    path = tmp_path / "calendar.txt"
    path.write_text(
        "# 2027 春节 (announced after chinese-calendar 1.11)\n-2027-02-08\n+2027-02-06\n"
    )
    workdays, holidays = read_calendar_file(path)
    assert (workdays, holidays) == (["2027-02-06"], ["2027-02-08"])
    warned: list[int] = []
    cal = WorkCalendar.from_spec(
        extra_workdays=workdays, extra_holidays=holidays, on_unknown_year=warned.append
    )
    friday_evening = datetime(2027, 2, 5, 17, 0, tzinfo=CST)
    # 1 working hour: 30 min on Friday, then Saturday 6 Feb is a make-up working day.
    assert deadline(friday_evening, "1h", working=True, cal=cal) == datetime(
        2027, 2, 6, 9, 0, tzinfo=CST
    )
    monday = datetime(2027, 2, 8, 9, 0, tzinfo=CST)
    assert not cal.is_workday(monday.date())  # declared a day off
    assert cal.is_workday(datetime(2027, 2, 9).date())  # unknown year: the weekday rule
    assert set(warned) == {2027}


def test_a_bad_line_fails_at_start_up(tmp_path: Path) -> None:
    path = tmp_path / "calendar.txt"
    path.write_text("+2027-13-01\n")
    with pytest.raises(ValueError):
        read_calendar_file(path)
