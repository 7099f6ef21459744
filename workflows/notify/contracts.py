"""Inputs and results of the notification sender (issue 12).

Kept beside its workflow until the contracts are split per domain (issue 11 moves them to
workflows/contracts/); pure dataclasses, so the sandbox passes them through.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass
class DeliverNotificationsInput:
    now: datetime | None = None  # the workflow's time: which rows are due


@dataclass
class DeliverNotificationsResult:
    sent: int = 0
    failed: int = 0  # attempts that failed; their rows wait for a later run
    gave_up: int = 0  # rows that reached the bound on attempts
