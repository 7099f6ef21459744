"""Working-calendar arithmetic for case deadlines.

Pure and deterministic so it can run inside Temporal workflow code: no I/O,
no wall clock, no logging, no settings. The only data source is the bundled
``chinese_calendar`` table (statutory holidays and make-up workdays), plus
per-deployment corrections carried on :class:`WorkCalendar` itself.

All datetimes must be timezone-aware. They are converted to China Standard
Time (fixed UTC+8; China has had no DST since 1991, so no zoneinfo needed)
and results are returned in CST.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

import chinese_calendar

CST = timezone(timedelta(hours=8))

_ONE_MINUTE = timedelta(minutes=1)
_ONE_DAY = timedelta(days=1)
# Bounds the search for the next working day so a misconfigured calendar
# (e.g. every day forced off) fails loudly instead of looping forever.
_MAX_SCAN_DAYS = 366
_LIMIT_RE = re.compile(r"([0-9]+)([mhd])")
_UNIT_MINUTES = {"m": 1, "h": 60}


def _to_cst(value: datetime) -> datetime:
    """Return ``value`` as the same instant expressed in CST.

    Raises:
        ValueError: If ``value`` is naive; guessing its zone would silently
            shift deadlines by hours.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware, got naive {value!r}")
    return value.astimezone(CST)


def _parse_clock(name: str, text: str) -> time:
    """Parse an ``HH:MM`` (or ``HH:MM:SS``) wall-clock time for ``from_spec``."""
    try:
        parsed = time.fromisoformat(text)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a time like '08:30', got {text!r}") from exc
    if parsed.tzinfo is not None:
        raise ValueError(f"{name} must not carry a UTC offset (hours are CST), got {text!r}")
    return parsed


def _parse_dates(name: str, values: Iterable[str]) -> frozenset[date]:
    """Parse ISO ``YYYY-MM-DD`` strings into a set of dates for ``from_spec``."""
    # A bare string is iterable too; without this check "2025-10-01" would be
    # split into characters and fail with a confusing message.
    if isinstance(values, str):
        raise ValueError(f"{name} must be a list of ISO dates, not a single string {values!r}")
    parsed: set[date] = set()
    for text in values:
        try:
            parsed.add(date.fromisoformat(text))
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"{name} entry must be an ISO date like '2025-10-01', got {text!r}"
            ) from exc
    return frozenset(parsed)


def _check_dates(name: str, values: frozenset[date]) -> None:
    """Reject non-date members; a ``datetime`` never equals a ``date`` key."""
    for value in values:
        if not isinstance(value, date) or isinstance(value, datetime):
            raise ValueError(f"{name} must contain datetime.date values, got {value!r}")


@dataclass(frozen=True)
class WorkCalendar:
    """Working days and hours used to measure working-time limits.

    Attributes:
        day_start: Start of the working day, CST wall clock (inclusive).
        day_end: End of the working day, CST wall clock (exclusive).
        extra_workdays: Dates forced to be working days (deployment fixes).
        extra_holidays: Dates forced to be days off; wins over everything.
        on_unknown_year: Called with the year whenever a date outside the
            ``chinese_calendar`` table is classified by the weekday rule, so
            the caller can warn that the package needs updating. May be called
            repeatedly for the same year; deduplicate on the caller side.
    """

    day_start: time = time(8, 30)
    day_end: time = time(17, 30)
    extra_workdays: frozenset[date] = frozenset()
    extra_holidays: frozenset[date] = frozenset()
    on_unknown_year: Callable[[int], None] | None = field(default=None, compare=False, hash=False)

    def __post_init__(self) -> None:
        """Validate hours and normalise the correction sets.

        Raises:
            ValueError: On aware/invalid hours, ``day_end <= day_start``, or a
                date listed as both an extra workday and an extra holiday.
        """
        if self.day_start.tzinfo is not None or self.day_end.tzinfo is not None:
            raise ValueError("day_start/day_end must be naive times (they are CST wall clock)")
        if self.day_end <= self.day_start:
            raise ValueError(
                f"day_end ({self.day_end.isoformat()}) must be after "
                f"day_start ({self.day_start.isoformat()})"
            )
        # Frozen dataclass: accept any iterable (e.g. a set) but store a
        # frozenset so the calendar stays hashable and immutable.
        object.__setattr__(self, "extra_workdays", frozenset(self.extra_workdays))
        object.__setattr__(self, "extra_holidays", frozenset(self.extra_holidays))
        _check_dates("extra_workdays", self.extra_workdays)
        _check_dates("extra_holidays", self.extra_holidays)
        both = self.extra_workdays & self.extra_holidays
        if both:
            listed = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"dates listed as both extra workday and extra holiday: {listed}")

    @classmethod
    def from_spec(
        cls,
        *,
        day_start: str = "08:30",
        day_end: str = "17:30",
        extra_workdays: Iterable[str] = (),
        extra_holidays: Iterable[str] = (),
        on_unknown_year: Callable[[int], None] | None = None,
    ) -> WorkCalendar:
        """Build a calendar from configuration strings.

        Args:
            day_start: Working-day start, ``"HH:MM"`` CST.
            day_end: Working-day end, ``"HH:MM"`` CST; must be after start.
            extra_workdays: ISO dates forced to be working days.
            extra_holidays: ISO dates forced to be days off.
            on_unknown_year: See :attr:`on_unknown_year`.

        Returns:
            The validated calendar.

        Raises:
            ValueError: With a message naming the offending setting.
        """
        return cls(
            day_start=_parse_clock("day_start", day_start),
            day_end=_parse_clock("day_end", day_end),
            extra_workdays=_parse_dates("extra_workdays", extra_workdays),
            extra_holidays=_parse_dates("extra_holidays", extra_holidays),
            on_unknown_year=on_unknown_year,
        )

    @property
    def day_minutes(self) -> int:
        """Length of one working day in whole minutes (540 for 08:30-17:30)."""
        return int(self._day_span() // _ONE_MINUTE)

    def is_workday(self, d: date) -> bool:
        """Tell whether ``d`` is a working day.

        Order: ``extra_holidays``, then ``extra_workdays``, then the
        ``chinese_calendar`` table; for years the table does not cover, the
        Mon-Fri rule applies and ``on_unknown_year`` is notified. Never raises
        for unknown years, because a deadline must always be computable.

        Args:
            d: The CST calendar date. A ``datetime`` is converted to its CST
                date first, since its date depends on the zone.
        """
        if isinstance(d, datetime):
            d = _to_cst(d).date()
        if d in self.extra_holidays:
            return False
        if d in self.extra_workdays:
            return True
        try:
            return bool(chinese_calendar.is_workday(d))
        except NotImplementedError:
            if self.on_unknown_year is not None:
                self.on_unknown_year(d.year)
            return d.weekday() < 5

    def next_working_instant(self, at: datetime) -> datetime:
        """Return the first instant at or after ``at`` inside working hours.

        Args:
            at: Any aware datetime.

        Returns:
            ``at`` (in CST) if it is inside ``[day_start, day_end)`` of a
            working day, else the start of the next working period.
        """
        local = _to_cst(at)
        if self.is_workday(local.date()):
            if local < self._opening(local.date()):
                return self._opening(local.date())
            if local < self._closing(local.date()):
                return local
        return self._opening(self._next_workday_after(local.date()))

    def add_working_minutes(self, start: datetime, minutes: int) -> datetime:
        """Advance ``start`` by ``minutes`` of working time.

        Only time inside working hours of working days counts. A start
        outside working hours counts from the next working period; a result
        that falls exactly on ``day_end`` stays there rather than rolling to
        the next morning (the deadline is "end of that day").

        Args:
            start: Aware datetime the clock starts at.
            minutes: Working minutes to add, ``>= 0``.

        Returns:
            The resulting instant in CST; ``start`` itself (in CST) for 0.

        Raises:
            ValueError: If ``minutes`` is negative.
        """
        if minutes < 0:
            raise ValueError(f"minutes must be >= 0, got {minutes}")
        if minutes == 0:
            return _to_cst(start)
        remaining = timedelta(minutes=minutes)
        cursor = self.next_working_instant(start)
        # One iteration per working day, not per minute: whole days are
        # consumed in a single subtraction.
        while True:
            left_today = self._closing(cursor.date()) - cursor
            if remaining <= left_today:
                return cursor + remaining
            remaining -= left_today
            cursor = self._opening(self._next_workday_after(cursor.date()))

    def working_minutes_between(self, start: datetime, end: datetime) -> int:
        """Count whole working minutes in ``[start, end)``.

        The inverse of :meth:`add_working_minutes`: for ``end`` inside working
        hours and minute-aligned inputs,
        ``add_working_minutes(start, working_minutes_between(start, end)) == end``.
        Used to compute the working time left when a case clock is paused.

        Args:
            start: Aware datetime, beginning of the interval.
            end: Aware datetime, end of the interval.

        Returns:
            Working minutes, rounded down; 0 if ``end <= start``.
        """
        lo, hi = _to_cst(start), _to_cst(end)
        if hi <= lo:
            return 0
        total = timedelta(0)
        day = lo.date()
        # One step per calendar day; spans are at most a few months in practice.
        while day <= hi.date():
            if self.is_workday(day):
                overlap = min(hi, self._closing(day)) - max(lo, self._opening(day))
                if overlap > timedelta(0):
                    total += overlap
            day += _ONE_DAY
        return int(total // _ONE_MINUTE)

    def _day_span(self) -> timedelta:
        """Return ``day_end - day_start`` as a timedelta."""
        anchor = date(2000, 1, 1)
        return datetime.combine(anchor, self.day_end) - datetime.combine(anchor, self.day_start)

    def _opening(self, d: date) -> datetime:
        """Return ``day_start`` on ``d`` as a CST datetime."""
        return datetime.combine(d, self.day_start, tzinfo=CST)

    def _closing(self, d: date) -> datetime:
        """Return ``day_end`` on ``d`` as a CST datetime."""
        return datetime.combine(d, self.day_end, tzinfo=CST)

    def _next_workday_after(self, d: date) -> date:
        """Return the first working day strictly after ``d``.

        Raises:
            ValueError: If none exists within a year, which only happens when
                the corrections mark (almost) every day as a holiday.
        """
        candidate = d
        for _ in range(_MAX_SCAN_DAYS):
            candidate += _ONE_DAY
            if self.is_workday(candidate):
                return candidate
        raise ValueError(f"no working day within {_MAX_SCAN_DAYS} days after {d.isoformat()}")


def add_natural_minutes(start: datetime, minutes: int) -> datetime:
    """Advance ``start`` by ``minutes`` of elapsed (calendar) time.

    Args:
        start: Aware datetime.
        minutes: Minutes to add.

    Returns:
        The resulting instant in CST.
    """
    return _to_cst(start) + timedelta(minutes=minutes)


def parse_limit(text: str) -> tuple[int, str]:
    """Parse a time-limit string such as ``"30m"``, ``"2h"`` or ``"1d"``.

    Args:
        text: A non-negative integer followed by ``m``, ``h`` or ``d``;
            surrounding whitespace is ignored.

    Returns:
        ``(amount, unit)``, e.g. ``(2, "h")``.

    Raises:
        ValueError: If ``text`` is not of that form.
    """
    # fullmatch with an explicit ASCII class: rejects "2h30m", "1.5d", "-1d"
    # and non-ASCII digits that int() would otherwise accept.
    match = _LIMIT_RE.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"time limit must look like '30m', '2h' or '1d', got {text!r}")
    return int(match.group(1)), match.group(2)


def limit_minutes(text: str, *, working: bool, cal: WorkCalendar) -> int:
    """Convert a limit string to minutes.

    A day is ``cal.day_minutes`` for working-time limits (one working day)
    and 1440 for natural-time limits.

    Args:
        text: Limit such as ``"3d"``.
        working: Whether the limit is measured in working time.
        cal: Calendar supplying the working-day length.

    Returns:
        The limit in minutes.

    Raises:
        ValueError: If ``text`` is malformed.
    """
    amount, unit = parse_limit(text)
    if unit == "d":
        return amount * (cal.day_minutes if working else 1440)
    return amount * _UNIT_MINUTES[unit]


def deadline(start: datetime, limit: str, *, working: bool, cal: WorkCalendar) -> datetime:
    """Compute when a limit starting at ``start`` expires.

    Args:
        start: Aware datetime the clock starts at.
        limit: Limit such as ``"2h"`` or ``"5d"``.
        working: Count working time (``True``) or elapsed time (``False``).
        cal: Working calendar.

    Returns:
        The deadline in CST.

    Raises:
        ValueError: If ``limit`` is malformed or ``start`` is naive.
    """
    minutes = limit_minutes(limit, working=working, cal=cal)
    if working:
        return cal.add_working_minutes(start, minutes)
    return add_natural_minutes(start, minutes)
