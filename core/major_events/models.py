"""The read model of major events: one row per event, its timeline in `case_events`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime
from sqlmodel import Field, SQLModel


class MajorEventRecord(SQLModel, table=True):
    __tablename__ = "major_events"

    id: str = Field(primary_key=True, max_length=120)  # the workflow id
    ticket: str = Field(index=True, unique=True, max_length=80)
    title: str = Field(max_length=200)
    event_type: str = Field(max_length=32)
    sub_type: str = Field(default="", max_length=32)
    grade: str = Field(max_length=4)
    phase: str = Field(index=True, max_length=16)
    district_id: str = Field(default="", index=True, max_length=64)
    lead_unit_id: str = Field(default="", max_length=64)
    commander: str = Field(default="", max_length=100)
    stations: int = 0
    stations_late: int = 0
    tasks_open: int = 0
    reports_late: int = 0
    next_report_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    linked: int = 0
    received_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_seq: int = 0
