"""The published measures (article 13): a period's measures per group, with the groups named,
as rows for JSON, CSV and the public page. Counts and ratios only: no case, no person, no text.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlmodel import Session, col, select

from core.db import SessionFactory, session_scope
from core.measures.definitions import DURATIONS, MEASURES
from core.measures.queries import Group, compute, parse_period
from core.models import Category, Unit

CHANNEL_NAMES = {
    "hotline": "12345热线",
    "web": "网站",
    "patrol": "网格巡查",
    "citizen": "市民上报",
    "open311": "Open311",
    "sensor": "物联感知",
}
KIND_NAMES = {k: k for k in ("咨询", "求助", "投诉", "举报", "建议")}
BY_NAMES = {
    "district": "区",
    "street": "街道",
    "unit": "承办单位",
    "category": "问题类型",
    "channel": "来源渠道",
    "kind": "诉求类型",
    "all": "全市",
}


class MeasureValue(BaseModel):
    numerator: int
    denominator: int
    value: float | None  # numerator / denominator, 4 decimals; null when nothing to count


class GroupOut(BaseModel):
    key: str
    name: str
    cases: int
    measures: dict[str, MeasureValue]
    handling_avg_minutes: float | None
    handling_p90_minutes: int | None


class MeasureName(BaseModel):
    key: str
    name: str


class MeasureTable(BaseModel):
    period: str
    by: str
    computed_at: datetime
    measures: list[MeasureName]
    groups: list[GroupOut]


def measure_names() -> list[MeasureName]:
    return [MeasureName(key=m.key, name=m.name) for m in MEASURES]


def published(
    sessions: SessionFactory,
    period: str,
    by: str,
    *,
    area: str | None = None,
    now: datetime | None = None,
) -> MeasureTable:
    """The measures of `period` grouped `by`; `area` (a unit's path) narrows to its cases."""
    span, now = parse_period(period), now or datetime.now(UTC)
    with session_scope(sessions) as session:
        groups = compute(session, span, by, now=now, area=area)
        names = group_names(session, by, [g.key for g in groups])
    return MeasureTable(
        period=span.label,
        by=by,
        computed_at=now,
        measures=measure_names(),
        groups=[_out(g, names.get(g.key, g.key)) for g in groups],
    )


def group_names(session: Session, by: str, keys: list[str]) -> dict[str, str]:
    """What each group is called: a unit's or category's name, a channel's, 全市."""
    if by in ("district", "street", "unit"):
        rows = session.exec(select(Unit.id, Unit.name).where(col(Unit.id).in_(keys)))
        return dict(rows.all())
    if by == "category":
        rows = session.exec(select(Category.key, Category.name).where(col(Category.key).in_(keys)))
        return dict(rows.all())
    table = {"channel": CHANNEL_NAMES, "kind": KIND_NAMES, "all": {"": "全市"}}[by]
    return {k: table.get(k, k or "未分类") for k in keys}


def _out(g: Group, name: str) -> GroupOut:
    return GroupOut(
        key=g.key,
        name=name,
        cases=g.cases,
        measures={
            k: MeasureValue(numerator=r.num, denominator=r.den, value=r.value)
            for k, r in g.ratios.items()
        },
        handling_avg_minutes=g.handling_avg,
        handling_p90_minutes=g.handling_p90,
    )


def as_csv(table: MeasureTable) -> str:
    """One line per group: each measure's value, numerator and denominator (UTF-8, BOM-less)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    head = ["period", "by", "key", "name", "cases"]
    for m in table.measures:
        head += [m.key, f"{m.key}_numerator", f"{m.key}_denominator"]
    writer.writerow([*head, *DURATIONS])
    for g in table.groups:
        row: list[object] = [table.period, table.by, g.key, g.name, g.cases]
        for m in table.measures:
            v = g.measures[m.key]
            row += ["" if v.value is None else v.value, v.numerator, v.denominator]
        writer.writerow([*row, _blank(g.handling_avg_minutes), _blank(g.handling_p90_minutes)])
    return out.getvalue()


def _blank(value: object) -> object:
    return "" if value is None else value
