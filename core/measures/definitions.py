"""The measures, defined once: each a numerator and a denominator over `case_facts` (or, for
the whistle measures, `whistles`), as SQL expressions. docs/measures.md says the same in words;
the API, the public page, the overview and the bench all read this list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, bindparam, false, not_, or_, true

from core.models import CaseFactRecord, UTCDateTime, WhistleRecord
from workflows.contracts import WhistleStep

F = CaseFactRecord.__table__.c  # type: ignore[attr-defined]
W = WhistleRecord.__table__.c  # type: ignore[attr-defined]

DISPATCHED = F.dispatched_at.is_not(None)
CLOSED = F.closed_at.is_not(None)
SATISFIED = ("satisfied", "basically_satisfied")  # 满意 + 基本满意
# The instant whistle deadlines are judged at: a step still owed past its deadline counts
# against the department (as in core/whistles.py); one closed or cancelled early does not.
NOW = bindparam("now", type_=UTCDateTime())
ENDED_EARLY = (WhistleStep.CLOSED.value, WhistleStep.CANCELLED.value)


def _owed(
    done: ColumnElement[datetime | None], due: ColumnElement[datetime | None]
) -> ColumnElement[bool]:
    late = and_(not_(W.step.in_(ENDED_EARLY)), due.is_not(None), due <= NOW)
    return or_(done.is_not(None), late)


@dataclass(frozen=True)
class Measure:
    key: str
    name: str  # zh-CN, as published
    numerator: ColumnElement[bool]  # which cases (or whistles) count for it
    denominator: ColumnElement[bool]  # … among which
    counts: str  # zh-CN: the numerator, in words (the public definitions page)
    among: str  # zh-CN: the denominator, in words
    whistles: bool = False  # counted over whistles (summoned in the period), not cases


def _yes(column: ColumnElement[bool | None]) -> ColumnElement[bool]:
    return column == true()


def _dispatched(key: str, name: str, counts: str, condition: ColumnElement[bool]) -> Measure:
    return Measure(key, name, and_(DISPATCHED, condition), DISPATCHED, counts, "已派遣的工单")


MEASURES: tuple[Measure, ...] = (
    _dispatched("response", "响应率", "已联系诉求人的工单", F.first_contact_at.is_not(None)),
    Measure(
        "resolution",
        "解决率",
        _yes(F.resolved),
        F.resolved.is_not(None),
        "回访结果为“已解决”的工单",
        "回访记录了“已解决”或“未解决”的工单",
    ),
    Measure(
        "satisfaction",
        "满意率",
        F.satisfaction.in_(SATISFIED),
        F.satisfaction != "",
        "最后一次回访评价为“满意”或“基本满意”的工单",
        "有回访评价的工单（联系不上的不计）",
    ),
    Measure(
        "closed_on_time",
        "按期结案率",
        _yes(F.closed_on_time),
        CLOSED,
        "处置阶段均未超期的已结案工单",
        "已结案工单",
    ),
    Measure(
        "accepted_in_time",
        "及时签收率",
        _yes(F.accept_met),
        F.accept_met.is_not(None),
        "首次派遣后在时限内签收（或退回）的工单",
        "首次签收阶段已结束或已超期的工单",
    ),
    Measure(
        "feedback_on_time",
        "按时反馈率",
        _yes(F.feedback_met),
        F.feedback_met.is_not(None),
        "首次处置在时限内反馈的工单",
        "首次处置阶段已结束或已超期的工单",
    ),
    Measure(
        "rework",
        "返工率",
        and_(CLOSED, F.reworks > 0),
        CLOSED,
        "至少返工一次（核查不通过或回访不满意重办）的已结案工单",
        "已结案工单",
    ),
    _dispatched("overdue", "超期率", "至少一个阶段超期的工单", F.overdue == true()),
    _dispatched("returned", "退单率", "至少被退单一次的工单", F.returns > 0),
    _dispatched("extended", "延期率", "至少延期一次的工单", F.extensions > 0),
    _dispatched("supervised", "督办率", "至少升级督办一级的工单", F.escalations > 0),
    _dispatched("whistled", "吹哨率", "发起过吹哨报到的工单", F.whistles > 0),
    Measure(
        "whistle_signed_in_time",
        "吹哨及时签到率",
        _yes(W.signed_in_time),
        _owed(W.signed_at, W.sign_due),
        "在时限内签收的被吹哨部门",
        "已签收或超期未签收的被吹哨部门",
        whistles=True,
    ),
    Measure(
        "whistle_reported_in_time",
        "吹哨报到及时率",
        _yes(W.reported_in_time),
        _owed(W.reported_at, W.report_due),
        "在时限内报到的被吹哨部门",
        "已报到或超期未报到的被吹哨部门",
        whistles=True,
    ),
)
CASE_MEASURES = tuple(m for m in MEASURES if not m.whistles)
WHISTLE_MEASURES = tuple(m for m in MEASURES if m.whistles)
# Durations, over closed cases: received → closed, natural minutes.
DURATIONS = {"handling_avg": "平均办理时长（分钟）", "handling_p90": "办理时长 P90（分钟）"}

# What a measure may be grouped by: the `case_facts` column, and the whistles' own column
# where it has one (a whistle's unit is the summoned department).
GROUPINGS: dict[str, tuple[str, str]] = {
    "district": ("district_id", "district_id"),
    "street": ("street_id", "street_id"),
    "unit": ("unit_id", "dept_id"),
    "category": ("category", ""),
    "channel": ("channel", ""),
    "kind": ("request_kind", ""),
    "all": ("", ""),
}


def counted() -> ColumnElement[bool]:
    """Cases the measures count at all: no direct answers (直接答复), nothing voided (注销,
    invalid). Merged reports are not cases: they count through the case they joined."""
    return and_(F.direct_answer == false(), F.voided == false())
