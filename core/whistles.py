"""吹哨报到 operations shared by the adapters: blow, approve, close and rate a whistle on a
case; sign, contact and report for a summoned department; queues, boards and statistics.

Like `core.cases`, this module authorises what the workflows cannot know (which departments
exist), sends Updates, reads the read model, and turns every refusal into a `CaseError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from core import access
from core.bounds import SQL_INT_MAX
from core.cases.service import CaseError, CaseService, refusal, rpc_error
from core.config import Settings, WhistleKindSetting
from core.db import SessionFactory, session_scope
from core.directory.org import as_unit, supervisors_of
from core.logs import get_logger
from core.models import CaseEventRecord, CaseRecord, Unit, User, WhistleRecord
from workflows import registry
from workflows.contracts import (
    WHISTLE_STAGES,
    ApproveWhistle,
    BlowWhistle,
    CaseState,
    CloseWhistle,
    RateWhistle,
    Role,
    WhistleAction,
    WhistleSpec,
    WhistleStage,
    WhistleState,
    WhistleStep,
)

log = get_logger(__name__)
WHISTLE_ID = re.compile(r"whistle-[A-Za-z0-9_.-]{1,150}")
TICKET = re.compile(r"[A-Za-z0-9_.-]{1,60}")
OPEN_STEPS = (WhistleStep.SUMMONED, WhistleStep.SIGNED, WhistleStep.CONTACTED)
ENDED_EARLY = frozenset({WhistleStep.CLOSED, WhistleStep.CANCELLED})
STEP_LABELS = {
    WhistleStep.PENDING: "待审批",
    WhistleStep.SUMMONED: "待签收",
    WhistleStep.SIGNED: "已签收，待联系",
    WhistleStep.CONTACTED: "已联系，待报到",
    WhistleStep.REPORTED: "已报到",
    WhistleStep.CLOSED: "已关闭",
    WhistleStep.CANCELLED: "已撤销",
}
# Timeline entries of whistles and of the case's whistle rounds, for the UI.
EVENT_NAMES = {
    "summon": "吹哨召集",
    "sign": "签收",
    "contact": "联系街道",
    "report": "报到",
    "close": "提前结束",
    "cancelled": "撤销",
    "whistle_blow": "吹哨",
    "whistle_approve": "批准吹哨",
    "whistle_sign": "部门签收",
    "whistle_contact": "部门联系",
    "whistle_report": "部门报到",
    "whistle_done": "报到完成",
    "whistle_close": "提前结束吹哨",
    "whistle_cancel": "撤销吹哨",
    "whistle_rate": "评价部门",
}
NEXT_STAGE = {  # step -> (the stage due next, its Chinese name)
    WhistleStep.SUMMONED: ("sign", "签收"),
    WhistleStep.SIGNED: ("contact", "联系"),
    WhistleStep.CONTACTED: ("report", "报到"),
}


class BlowRequest(BaseModel):
    kind: str = Field(max_length=32, description="work_push | hard_problem | emergency")
    departments: list[str] = Field(default_factory=list, max_length=30, description="unit ids")
    need: str = Field(default="", max_length=2000, description="what the departments must do")


class ApproveRequest(BaseModel):
    note: str = Field(default="", max_length=2000)


class CloseRequest(BaseModel):
    reason: str = Field(default="", max_length=2000)


class RateRequest(BaseModel):
    unit_id: str = Field(max_length=64)
    score: int = Field(default=0, ge=0, le=5, description="1-5")
    note: str = Field(default="", max_length=2000)
    round: int = Field(default=0, ge=0, le=SQL_INT_MAX, description="0: the latest round")


class StepRequest(BaseModel):
    """sign (nothing needed), contact (note), report (note, and arrived or a plan_date)."""

    note: str = Field(default="", max_length=5000)
    arrived: bool = False
    plan_date: str = Field(default="", max_length=10, description="YYYY-MM-DD")


class WhistleOut(BaseModel):
    """One whistle in a department's queue or a street's board, labelled in Chinese."""

    id: str
    ticket: str
    title: str
    round: int
    kind: str
    kind_label: str
    dept_id: str
    dept_name: str
    blower_unit_id: str
    blower_unit_name: str
    need: str
    step: str
    step_label: str
    next_action: str  # 签收 / 联系 / 报到, or "" once finished
    due_at: datetime | None
    summoned_at: datetime | None
    sign_due: datetime | None
    contact_due: datetime | None
    report_due: datetime | None
    signed_at: datetime | None
    contacted_at: datetime | None
    reported_at: datetime | None
    signed_in_time: bool | None
    reported_in_time: bool | None
    overdue: bool
    escalation_level: int
    rating: int
    rating_note: str
    closed_reason: str


class StreetStats(BaseModel):
    street_id: str
    street_name: str
    cases_held: int
    cases_whistled: int
    whistle_rate: float | None  # 吹哨率


class DeptStats(BaseModel):
    dept_id: str
    dept_name: str
    summoned: int
    signed_in_time: int
    sign_due: int
    sign_rate: float | None  # 及时签收率
    reported_in_time: int
    report_due: int
    report_rate: float | None  # 报到及时率
    rated: int
    average_rating: float | None


class WhistleStats(BaseModel):
    streets: list[StreetStats]
    departments: list[DeptStats]


@dataclass
class WhistleDetail:
    whistle: WhistleState
    timeline: list[CaseEventRecord]


def whistle_spec(kind: str, setting: WhistleKindSetting) -> WhistleSpec:
    stages = {
        name: WhistleStage(limit, working) for name, (limit, working) in setting.stages.items()
    }
    return WhistleSpec(
        kind=kind, label=setting.label, stages=stages, needs_approval=setting.needs_approval
    )


# ---- on the case -----------------------------------------------------------------------
async def blow(cases: CaseService, user: User, ticket: str, req: BlowRequest) -> CaseState:
    """Blow a whistle on the case: the departments are resolved here, the rest is checked by
    the case's validator."""
    setting = cases.settings.whistle_kinds.get(req.kind)
    spec = whistle_spec(req.kind, setting) if setting else None
    cmd = BlowWhistle(actor=cases.actor(user), kind=req.kind, spec=spec, need=req.need)
    with session_scope(cases.sessions) as session:
        for unit_id in req.departments:
            row = session.get(Unit, unit_id)
            if row is None:
                raise CaseError(
                    422, f"unknown department {unit_id!r}", "departments", code="unknown_department"
                )
            access.check_target(session, user, row, "departments")  # 吹哨: its district's
            cmd.departments.append(as_unit(row))
            cmd.chains[row.id] = supervisors_of(session, row.id)
    return await _case_update(cases, user, ticket, "blow_whistle", cmd)


async def approve(cases: CaseService, user: User, ticket: str, req: ApproveRequest) -> CaseState:
    cmd = ApproveWhistle(actor=cases.actor(user), note=req.note)
    return await _case_update(cases, user, ticket, "approve_whistle", cmd)


async def close(cases: CaseService, user: User, ticket: str, req: CloseRequest) -> CaseState:
    cmd = CloseWhistle(actor=cases.actor(user), reason=req.reason)
    return await _case_update(cases, user, ticket, "close_whistle", cmd)


async def rate(cases: CaseService, user: User, ticket: str, req: RateRequest) -> CaseState:
    cmd = RateWhistle(cases.actor(user), req.unit_id, req.score, req.note, req.round)
    return await _case_update(cases, user, ticket, "rate_whistle", cmd)


async def _case_update(
    cases: CaseService, user: User, ticket: str, name: str, cmd: Any
) -> CaseState:
    if not TICKET.fullmatch(ticket):
        raise CaseError(404, f"no case with ticket {ticket!r}", code="no_case")
    structlog.contextvars.bind_contextvars(ticket=ticket)
    await cases.check_visible(user, ticket)
    handle = cases.client.get_workflow_handle(registry.CITY_EVENT.workflow_id(ticket))
    try:
        state: CaseState = await handle.execute_update(name, cmd, result_type=CaseState)
    except WorkflowUpdateFailedError as err:
        raise refusal(err) from None
    except RPCError as err:
        raise rpc_error(err, ticket) from None
    log.info("whistle_action", action=name, user=user.username)
    return state


# ---- on a whistle ----------------------------------------------------------------------
async def act(
    cases: CaseService, user: User, whistle_id: str, stage: str, req: StepRequest
) -> WhistleState:
    """A summoned department signs, contacts or reports."""
    if stage not in WHISTLE_STAGES:
        raise CaseError(404, f"unknown whistle action {stage!r}", code="unknown_action")
    cmd = WhistleAction(cases.actor(user), req.note, req.arrived, req.plan_date)
    handle = cases.client.get_workflow_handle(_checked(whistle_id))
    try:
        state: WhistleState = await handle.execute_update(stage, cmd, result_type=WhistleState)
    except WorkflowUpdateFailedError as err:
        await _visible(cases, user, handle)  # the summoned department passes the validator
        raise refusal(err) from None
    except RPCError as err:
        await _visible(cases, user, handle)
        if err.status == RPCStatusCode.NOT_FOUND and await _exists(handle):
            raise CaseError(
                409, f"whistle {whistle_id} is over and takes no more steps", code="whistle_over"
            ) from None
        raise _whistle_rpc_error(err, whistle_id) from None
    log.info("whistle_step", whistle=whistle_id, step=stage, user=user.username)
    return state


async def _visible(
    cases: CaseService, user: User, handle: WorkflowHandle[Any, Any]
) -> WhistleState:
    """The whistle if `user` may see its case, else the 404 of one that does not exist.

    The workflow names the case, not the read model: a department acting the moment it is
    summoned may be ahead of the whistle's projection."""
    try:
        state: WhistleState = await handle.query("get_whistle", result_type=WhistleState)
    except RPCError as err:
        raise _whistle_rpc_error(err, handle.id) from None
    try:
        await cases.check_visible(user, state.ticket)
    except CaseError:
        raise CaseError(404, f"no whistle {handle.id!r}", code="no_whistle") from None
    return state


async def _exists(handle: WorkflowHandle[Any, Any]) -> bool:
    """An update to a finished workflow finds no running execution; a described one exists."""
    try:
        await handle.describe()
    except RPCError:
        return False
    return True


async def detail(cases: CaseService, user: User, whistle_id: str) -> WhistleDetail:
    """The live whistle (its workflow) and its timeline (the audit trail), for who may see
    its case (the summoned department does); 404 for anyone else."""
    state = await _visible(cases, user, cases.client.get_workflow_handle(_checked(whistle_id)))
    query = (
        select(CaseEventRecord)
        .where(CaseEventRecord.case_id == whistle_id)
        .order_by(col(CaseEventRecord.seq))
    )
    with session_scope(cases.sessions) as session:
        return WhistleDetail(whistle=state, timeline=list(session.exec(query)))


def _checked(whistle_id: str) -> str:
    if not WHISTLE_ID.fullmatch(whistle_id):
        raise CaseError(404, f"no whistle {whistle_id!r}", code="no_whistle")
    return whistle_id


def _whistle_rpc_error(err: RPCError, whistle_id: str) -> CaseError:
    if err.status == RPCStatusCode.NOT_FOUND:
        return CaseError(404, f"no whistle {whistle_id!r}", code="no_whistle")
    if err.status == RPCStatusCode.FAILED_PRECONDITION:
        return CaseError(
            409, f"whistle {whistle_id} is finished and takes no more actions", code="whistle_over"
        )
    return CaseError(503, f"case service unavailable: {err.message}", code="unavailable")


# ---- reads from the read model ---------------------------------------------------------
def list_whistles(
    sessions: SessionFactory, settings: Settings, user: User, *, unit: str = "", open_only: bool
) -> list[WhistleOut]:
    """A department's queue (whistles summoning it) and a street's board (whistles it blew),
    soonest deadline first: of a unit the user may see the boards of, the whistles they may see."""
    unit_id = unit or user.unit_id
    # A street's board includes the whistles of its communities.
    blown_below = select(Unit.id).where(col(Unit.path).contains(f"/{unit_id}/", autoescape=True))
    query = select(WhistleRecord).where(
        (col(WhistleRecord.dept_id) == unit_id) | col(WhistleRecord.blower_unit_id).in_(blown_below)
    )
    if open_only:
        query = query.where(col(WhistleRecord.step).in_([s.value for s in OPEN_STEPS]))
    order = (col(WhistleRecord.due_at).is_(None), col(WhistleRecord.due_at), WhistleRecord.id)
    with session_scope(sessions) as session:
        access.require_unit(session, user, unit_id)
        query = query.where(access.whistle_clause(session, user))
        rows = list(session.exec(query.order_by(*order).limit(500)))
    return [_out(row, settings) for row in rows]


def _out(row: WhistleRecord, settings: Settings) -> WhistleOut:
    setting = settings.whistle_kinds.get(row.kind)
    _, next_action = NEXT_STAGE.get(row.step, ("", ""))  # type: ignore[call-overload]
    return WhistleOut.model_validate(
        {
            **row.model_dump(),
            "kind_label": setting.label if setting else row.kind,
            "step_label": STEP_LABELS.get(row.step, row.step),  # type: ignore[call-overload]
            "next_action": next_action,
        }
    )


STATS_ROLES = frozenset({Role.SUPERVISOR, Role.DISPATCHER, Role.ADMIN})


def stats(
    sessions: SessionFactory, user: User, *, district: str = "", now: datetime | None = None
) -> WhistleStats:
    """吹哨率 per street; 及时签收率, 报到及时率 and the average rating per department.

    For supervisors, dispatchers and admins; a district's own staff see their district only.
    """
    if user.role not in STATS_ROLES:
        raise CaseError(
            403, f"role {user.role} may not see whistle statistics", code="whistle_stats_role"
        )
    now = now or datetime.now(UTC)
    with session_scope(sessions) as session:
        me = session.get(Unit, user.unit_id)
        if not district and me is not None and me.level != "city":
            district = user.unit_id  # below the city: one's own district
        if district:
            access.require_unit(session, user, district)
        query = select(WhistleRecord).where(col(WhistleRecord.dept_id) != "")
        if district:
            query = query.where(WhistleRecord.district_id == district)
        rows = list(session.exec(query))
        streets = _street_stats(session, rows, district)
    return WhistleStats(streets=streets, departments=_dept_stats(rows, now))


def _street_stats(session: Session, rows: list[WhistleRecord], district: str) -> list[StreetStats]:
    """Cases a street (or one of its communities) held, and how many of them it whistled on."""
    held_query = (
        select(CaseRecord.id, CaseRecord.street_id)
        .join(Unit, col(Unit.id) == col(CaseRecord.assigned_unit_id))
        .where(col(Unit.level).in_(["street", "community", "grid"]), CaseRecord.street_id != "")
    )
    if district:
        held_query = held_query.where(CaseRecord.district_id == district)
    held: dict[str, set[str]] = {}
    for case_id, street_id in session.exec(held_query):
        held.setdefault(street_id, set()).add(case_id)
    whistled: dict[str, set[str]] = {}
    for row in rows:
        if row.street_id:
            whistled.setdefault(row.street_id, set()).add(row.case_id)
    ids = sorted(held.keys() | whistled.keys())
    names = {u.id: u.name for u in session.exec(select(Unit).where(col(Unit.id).in_(ids)))}
    out = []
    for sid in ids:
        blew = whistled.get(sid, set())
        total = held.get(sid, set()) | blew  # a case whistled on was held, whoever holds it now
        out.append(
            StreetStats(
                street_id=sid,
                street_name=names.get(sid, sid),
                cases_held=len(total),
                cases_whistled=len(blew),
                whistle_rate=_ratio(len(blew), len(total)),
            )
        )
    return out


def _dept_stats(rows: list[WhistleRecord], now: datetime) -> list[DeptStats]:
    by_dept: dict[str, list[WhistleRecord]] = {}
    for row in rows:
        by_dept.setdefault(row.dept_id, []).append(row)
    return [_one_dept(dept_id, items, now) for dept_id, items in sorted(by_dept.items())]


def _one_dept(dept_id: str, items: list[WhistleRecord], now: datetime) -> DeptStats:
    sign_due = [r for r in items if _was_due(r, r.signed_at, r.sign_due, now)]
    report_due = [r for r in items if _was_due(r, r.reported_at, r.report_due, now)]
    signed = sum(1 for r in sign_due if r.signed_in_time)
    reported = sum(1 for r in report_due if r.reported_in_time)
    ratings = [r.rating for r in items if r.rating]
    return DeptStats(
        dept_id=dept_id,
        dept_name=items[0].dept_name,
        summoned=len(items),
        signed_in_time=signed,
        sign_due=len(sign_due),
        sign_rate=_ratio(signed, len(sign_due)),
        reported_in_time=reported,
        report_due=len(report_due),
        report_rate=_ratio(reported, len(report_due)),
        rated=len(ratings),
        average_rating=round(sum(ratings) / len(ratings), 2) if ratings else None,
    )


def _was_due(
    row: WhistleRecord, done_at: datetime | None, due: datetime | None, now: datetime
) -> bool:
    """Counts for a rate: done, or still owed past its deadline. A whistle closed or
    cancelled before the department got to it is not held against the department."""
    if done_at is not None:
        return True
    if row.step in ENDED_EARLY:
        return False
    return due is not None and due <= now


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
