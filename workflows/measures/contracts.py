"""Inputs and results of 未诉先办 (issue 13): opening proactive cases where problems recur.

Pure dataclasses beside their workflow, as workflows/notify/contracts.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class ProactiveCasesInput:
    now: datetime | None = None  # the workflow's time: the window ends here
    days: int = 30
    radius_m: float = 100.0
    min_cases: int = 3
    per_category: dict[str, int] = field(default_factory=dict)  # category -> its own minimum


@dataclass
class ProactiveCasesResult:
    opened: list[str] = field(default_factory=list)  # tickets of the proactive cases
