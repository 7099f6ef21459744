"""Cases told as event lists, the way the case workflow records them (for the measures tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from workflows.contracts import SYSTEM, CaseEvent

STATUS_AFTER = {
    "receive": "RECEIVED",
    "register": "REGISTERED",
    "dispatch": "DISPATCHED",
    "return_case": "RETURNED",
    "accept": "ACCEPTED",
    "submit_feedback": "VERIFYING",
    "park": "PARKED",
    "unpark": "HANDLING",
    "void": "VOIDED",
}


@dataclass
class Story:
    """Build a case's events: each step `minutes` after the case was received at `start`."""

    start: datetime
    events: list[CaseEvent] = field(default_factory=list)
    status: str = ""

    def at(self, minutes: float, action: str, to: str = "", **payload: Any) -> Story:
        to = to or STATUS_AFTER.get(action, self.status)
        self.events.append(
            CaseEvent(
                seq=len(self.events) + 1,
                at=self.start + timedelta(minutes=minutes),
                action=action,
                actor=SYSTEM,
                from_status=self.status if action != "receive" else "",
                to_status=to,
                payload=payload,
            )
        )
        self.status = to
        return self

    def opened(self, unit: str = "u1") -> Story:
        return self.at(0, "receive").at(1, "register").at(2, "dispatch", unit=unit)

    def verified(self, minutes: float, passed: bool = True) -> Story:
        return self.at(minutes, "verify", "CLOSED" if passed else "REWORK", passed=passed)

    def callback(self, minutes: float, rating: str, to: str = "ARCHIVED", **more: Any) -> Story:
        return self.at(minutes, "record_callback", to, rating=rating, **more)
