"""The monthly accountability report per unit (通报, article 21): for each unit holding cases in
an area, its overdue cases, escalations, returns, reworks, closures on time and whistle
timeliness, ranked against its peers; the cases behind each number; an .xlsx export.

The numbers are the measures' own numerators (core/measures/definitions.py), grouped by the
holding unit (for whistles, the summoned department): a drill-down lists exactly the cases a
number counts.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from sqlalchemy import and_, select
from sqlmodel import Session

from core.errors import CaseError
from core.measures.definitions import CASE_MEASURES, MEASURES, F, Measure
from core.measures.queries import FACTS, Group, Period, case_filter, compute
from core.measures.report import group_names
from core.models import CaseRecord

C = CaseRecord.__table__.c  # type: ignore[attr-defined]
# The report's columns: counts of cases (numerators), then rates; the rank follows the first rate.
COUNTS = ("overdue", "supervised", "returned", "rework")
RATES = ("closed_on_time", "accepted_in_time", "whistle_reported_in_time")
BY_KEY = {m.key: m for m in MEASURES}
MAX_CASES = 500  # a drill-down lists at most this many cases


@dataclass
class UnitLine:
    unit_id: str
    name: str
    group: Group
    rank: int | None = None  # by 按期结案率 among the units that closed cases; 1 is best


def report(session: Session, period: Period, *, now: datetime, area: str | None) -> list[UnitLine]:
    groups = [g for g in compute(session, period, "unit", now=now, area=area) if g.key]
    names = group_names(session, "unit", [g.key for g in groups])
    lines = [UnitLine(g.key, names.get(g.key, g.key), g) for g in groups]
    ranked = sorted(
        (line for line in lines if line.group.ratios["closed_on_time"].den),
        key=lambda line: (-(line.group.ratios["closed_on_time"].value or 0), -line.group.cases),
    )
    for place, line in enumerate(ranked, start=1):
        line.rank = place
    return sorted(lines, key=lambda line: (line.rank or len(lines) + 1, line.name))


def measure_of(key: str) -> Measure:
    measure = BY_KEY.get(key)
    if measure is None or measure not in CASE_MEASURES:
        raise CaseError(
            422,
            f"measure must be one of {[m.key for m in CASE_MEASURES]}",
            "measure",
            code="not_in_list",
        )
    return measure


def cases_behind(
    session: Session, period: Period, unit_id: str, measure: Measure, *, area: str | None
) -> list[dict[str, Any]]:
    """The cases a unit's number counts: the measure's numerator among the unit's cases."""
    query = (
        select(C.ticket, C.title, C.category_name, C.status, F.received_at, F.closed_at)
        .select_from(FACTS.join(CaseRecord.__table__, C.id == F.case_id))  # type: ignore[attr-defined]
        .where(case_filter(period, area), F.unit_id == unit_id)
        .where(and_(measure.numerator, measure.denominator))
        .order_by(F.received_at)
        .limit(MAX_CASES)
    )
    return [dict(row._mapping) for row in session.execute(query)]


def workbook(lines: list[UnitLine], period: Period) -> bytes:
    """The report as an .xlsx file: one sheet, a header row, one row per unit."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = f"{period.label} 通报"
    head = ["排名", "单位", "工单数"]
    head += [BY_KEY[k].name.removesuffix("率") + "工单" for k in COUNTS]
    head += [BY_KEY[k].name for k in RATES]
    sheet.append(head)
    for line in lines:
        ratios = line.group.ratios
        row: list[Any] = [line.rank or "—", line.name, line.group.cases]
        row += [ratios[k].num for k in COUNTS]
        row += [ratios[k].value for k in RATES]
        sheet.append(row)
    for cells in sheet.iter_rows(min_row=2, min_col=len(head) - len(RATES) + 1):
        for cell in cells:
            cell.number_format = "0.0%"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
