"""Duplicate candidates at intake (减少重复派单, article 12).

An open case of the same category within the category's radius, received within its window,
is a candidate. The read model answers: one indexed range over (category, latitude band),
then the exact distance for the few rows the band lets through.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement
from sqlmodel import Session, col, select

from core.models import CaseRecord, Category
from workflows.intake.reports import JOINABLE

EARTH_RADIUS_M = 6_371_000.0
METRES_PER_DEGREE = math.pi * EARTH_RADIUS_M / 180


@dataclass
class Candidate:
    ticket: str
    title: str
    status: str
    distance_m: float
    created_at: datetime
    report_count: int
    address: str
    assigned_unit_name: str


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine): exact enough for metres within a city."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def candidates(
    session: Session,
    category: Category,
    lat: float,
    lon: float,
    now: datetime,
    *where: ColumnElement[bool],
) -> list[Candidate]:
    """Open cases of `category` near (lat, lon) within its window, nearest first; `where`
    narrows them further (the report's district, what the asker may see)."""
    radius = float(category.dedup_radius_m)
    dlat = radius / METRES_PER_DEGREE
    dlon = dlat / max(math.cos(math.radians(lat)), 0.01)
    since = now - timedelta(hours=category.dedup_window_hours)
    lat_col, lon_col = col(CaseRecord.lat), col(CaseRecord.lon)
    query = select(CaseRecord).where(
        CaseRecord.category == category.key,
        lat_col.between(lat - dlat, lat + dlat),
        lon_col.between(lon - dlon, lon + dlon),
        col(CaseRecord.created_at) >= since,
        col(CaseRecord.status).in_([s.value for s in JOINABLE]),
        *where,
    )
    found = []
    for row in session.exec(query):
        assert row.lat is not None and row.lon is not None  # the range excludes NULLs
        d = distance_m(lat, lon, row.lat, row.lon)
        if d <= radius:
            found.append(
                Candidate(
                    ticket=row.ticket,
                    title=row.title,
                    status=row.status,
                    distance_m=round(d, 1),
                    created_at=row.created_at,
                    report_count=row.report_count,
                    address=row.address,
                    assigned_unit_name=row.assigned_unit_name,
                )
            )
    return sorted(found, key=lambda c: (c.distance_m, c.created_at))
