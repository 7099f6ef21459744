"""Inputs and results of the recurring-place scan (未诉先办)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class ScanInput:
    now: datetime | None = None  # the scan's clock: the workflow's time when not given


@dataclass
class RecurringPlace:
    """A place where `tickets` (closed cases of one category) cluster."""

    key: str  # the intake idempotency key of its proactive case
    category: str
    category_name: str
    tickets: list[str]
    lat: float
    lon: float
    address: str = ""


@dataclass
class ScanResult:
    places: int = 0
    opened: list[str] = field(default_factory=list)  # tickets of the proactive cases
