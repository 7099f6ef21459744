"""Pure rules of supervision: reminders (催办), the escalation ladder (督办), priorities.

The workflow calls these with its clock and calendar; nothing here reads time or does I/O.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from workflows.contracts import PRIORITIES, CasePolicy, Clock, Unit
from workflows.shared.workcal import WorkCalendar, add_natural_minutes, limit_minutes

TOP_REPORT_EVERY = timedelta(days=1)  # a case stuck at the top is reported to the city daily


def raise_priority(priority: str) -> str:
    """One step up (normal → urgent → critical), staying at the top."""
    rank = PRIORITIES.index(priority) if priority in PRIORITIES else 0
    return PRIORITIES[min(rank + 1, len(PRIORITIES) - 1)]


def reminder_instants(
    *,
    now: datetime,
    remaining: int,
    limit: int,
    fractions: list[float],
    policy: CasePolicy,
    cal: WorkCalendar,
) -> list[datetime]:
    """When each reminder falls, given `remaining` minutes of a `limit`-minute stage.

    A reminder at fraction f fires when the time left drops to (1 - f) of the limit, so a
    clock that pauses or is extended moves its reminders with it. Reminders already due are
    dropped: a resumed clock does not fire a burst of stale reminders.
    """
    instants = []
    for fraction in sorted(fractions):
        offset = remaining - round((1 - fraction) * limit)
        if 0 < offset < remaining:
            instants.append(add_minutes(now, offset, policy=policy, cal=cal))
    return instants


def grace_until(
    at: datetime, unit: Unit | None, *, policy: CasePolicy, cal: WorkCalendar
) -> datetime:
    """How long the supervising `unit` has to act before the case climbs past it."""
    limit = policy.grace.get(unit.level if unit else "", "") or policy.grace.get("city", "1d")
    minutes = limit_minutes(limit, working=policy.working_time, cal=cal)
    return add_minutes(at, minutes, policy=policy, cal=cal)


def add_minutes(at: datetime, minutes: int, *, policy: CasePolicy, cal: WorkCalendar) -> datetime:
    if policy.working_time:
        return cal.add_working_minutes(at, minutes)
    return add_natural_minutes(at, minutes)


def next_rung(chain: list[Unit], level: int) -> Unit | None:
    """The unit a case climbs to from rung `level`, or None at the top."""
    return chain[level] if level < len(chain) else None


def alarm_kind(clock: Clock, alarm: datetime) -> str:
    """What an alarm of a stage clock is: a rung to climb, a reminder, or the deadline."""
    if clock.overdue:
        return "escalate"
    if clock.reminders_at and clock.reminders_at[0] <= alarm:
        return "remind"
    return "overdue"


def climb(
    clock: Clock, chain: list[Unit], alarm: datetime, *, policy: CasePolicy, cal: WorkCalendar
) -> Unit | None:
    """督办: one rung up `chain` from the clock's level, or None at the top.

    Moves the clock: its level and when the next rung (or the daily report at the top) falls.
    The one escalation ladder of every workflow type (cases, whistles, major-event tasks).
    """
    target = next_rung(chain, clock.escalation_level)
    if target is None:
        clock.next_escalation_at = alarm + TOP_REPORT_EVERY
        return None
    clock.escalation_level += 1
    clock.next_escalation_at = grace_until(alarm, target, policy=policy, cal=cal)
    return target
