"""What a notification is about: the reporter's two, and the three staff opt in to."""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    TRACKING = "tracking"  # to a reporter at intake: the tracking link
    RESULT = "result"  # to a reporter when the case is closed (or archived): the link again
    REMIND = "remind"  # 催办: a deadline is near (and a parked case's review date)
    ESCALATE = "escalate"  # 督办: the case climbed to this unit, or the top's daily report
    DISPATCH = "dispatch"  # a case was dispatched (or reassigned) to this unit
    TEST = "test"  # `cityloop notify test USER`


class StaffKind(StrEnum):
    """What staff may opt in to (the same values as in `Kind`)."""

    REMIND = "remind"
    ESCALATE = "escalate"
    DISPATCH = "dispatch"


# The case events each staff kind is sent for.
EVENT_KINDS = {
    "remind": StaffKind.REMIND,
    "park_review": StaffKind.REMIND,
    "escalate": StaffKind.ESCALATE,
    "escalation_report": StaffKind.ESCALATE,
    "dispatch": StaffKind.DISPATCH,
    "reassign": StaffKind.DISPATCH,
}
