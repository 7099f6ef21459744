"""Deadlines of major events, from the environment (CITYLOOP_MAJOR_EVENT_*), defaults per the
issue: Ⅰ/Ⅱ first report by phone in 15 min and written in 35 min, Ⅲ in 1 h, Ⅳ in 6 h; 续报 at
08:00 and 17:00 for Ⅲ and above."""

from __future__ import annotations

import dataclasses
from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

from workflows.major_event.contracts import MajorEventPolicy

_DEFAULT = MajorEventPolicy()


class MajorEventSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CITYLOOP_MAJOR_EVENT_", env_file=".env", extra="ignore"
    )

    lead_level: dict[str, str] = _DEFAULT.lead_level
    first_phone: dict[str, str] = _DEFAULT.first_phone
    first_written: dict[str, str] = _DEFAULT.first_written
    progress_at: list[str] = _DEFAULT.progress_at
    progress_grades: list[str] = _DEFAULT.progress_grades
    final_report: str = _DEFAULT.final_report
    station_sign: str = _DEFAULT.station_sign
    station_arrive: str = _DEFAULT.station_arrive
    task_accept: str = _DEFAULT.task_accept
    task_limit: str = _DEFAULT.task_limit
    reminders: list[float] = _DEFAULT.reminders
    grace: dict[str, str] = _DEFAULT.grace
    history_limit: int = _DEFAULT.history_limit

    def policy(self) -> MajorEventPolicy:
        names = [f.name for f in dataclasses.fields(MajorEventPolicy)]
        return MajorEventPolicy(**{n: getattr(self, n) for n in names})


@lru_cache
def get_major_event_settings() -> MajorEventSettings:
    return MajorEventSettings()
