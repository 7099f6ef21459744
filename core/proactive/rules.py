"""The thresholds of the recurring-place scan, as settings hold them."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RecurrenceRule(BaseModel):
    """When a category's closed cases make a place worth a proactive case."""

    min_cases: int = Field(default=3, ge=2, le=100)
    radius_m: float = Field(default=100.0, gt=0, le=5000)
    window_days: int = Field(default=30, ge=1, le=365)
