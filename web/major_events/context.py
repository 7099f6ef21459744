"""What the major-event pages show: labels, the read-model list, a form turned into a body."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from starlette.datastructures import FormData

from core.db import SessionFactory, session_scope
from core.major_events.models import MajorEventRecord
from core.models import Unit
from workflows import registry
from workflows.major_event.contracts import EVENT_TYPES, GRADES

PHASE_NAMES = {
    "received": "接报",
    "assessed": "研判定级",
    "responding": "启动响应",
    "handling": "处置",
    "terminated": "响应终止",
    "reviewing": "总结评估",
    "closed": "已结束",
}
REPORT_NAMES = {
    "first_phone": "初报（电话）",
    "first_written": "初报（书面）",
    "progress": "续报",
    "final": "终报",
}
STEP_NAMES = {
    "sign": "签收",
    "arrive": "到岗",
    "accept": "签收",
    "complete": "完成",
    "done": "已完成",
    "cancelled": "已撤销",
}
# what the workflow records besides the actions (the actions are named by the registry)
EVENT_NAMES = {
    "receive": "接报",
    "progress_due": "续报时限",
    "report_remind": "催报",
    "report_overdue": "报告超时",
    "report_escalate": "报告督办",
    "escalation_report": "市级通报",
    "station_remind": "进驻催办",
    "station_overdue": "进驻超时",
    "station_escalate": "进驻督办",
    "station_sign": "部门签收",
    "station_arrive": "部门到岗",
    "task_remind": "任务催办",
    "task_overdue": "任务超时",
    "task_escalate": "任务督办",
    "task_accept": "任务签收",
    "task_complete": "任务完成",
    "linked_case_escalated": "关联工单升级督办",
}
# the next step of an assignment, as its unit takes it
STEP_AFTER = {"sign": "arrive", "accept": "complete"}


def labels() -> dict[str, Any]:
    actions = {**EVENT_NAMES, **{a.name: a.label for a in registry.MAJOR_EVENT.actions}}
    return {
        "PHASE_NAMES": PHASE_NAMES,
        "REPORT_NAMES": REPORT_NAMES,
        "STEP_NAMES": STEP_NAMES,
        "EVENT_TYPES": EVENT_TYPES,
        "GRADES": GRADES,
        "ME_ACTIONS": actions,
    }


def recent(sessions: SessionFactory, limit: int = 100) -> list[MajorEventRecord]:
    with session_scope(sessions) as session:
        query = select(MajorEventRecord).order_by(col(MajorEventRecord.received_at).desc())
        return list(session.exec(query.limit(limit)))


def departments(sessions: SessionFactory, district_id: str) -> list[Unit]:
    """Departments an event may order to station: the district's and the city's bureaus."""
    with session_scope(sessions) as session:
        query = select(Unit).where(Unit.level == "dept").order_by(col(Unit.id))
        return [u for u in session.exec(query) if u.parent_id in (district_id, "nj")]


def body_of(action: str, form: FormData) -> dict[str, Any]:
    """An action's JSON body from its form (the same body the API takes)."""
    text = {k: v for k, v in form.items() if isinstance(v, str) and k not in SKIP}
    if action == "order_station":
        return {"unit_ids": [v for v in form.getlist("unit_ids") if isinstance(v, str)]}
    if action == "appoint":
        deputies = [d.strip() for d in text.get("deputies", "").split(",") if d.strip()]
        return {
            "commander": {"username": text.get("commander", "")},
            "deputies": [{"username": d} for d in deputies],
        }
    if action == "link_cases":
        tickets = [t.strip() for t in text.pop("tickets", "").split(",") if t.strip()]
        return {**{k: v for k, v in text.items() if v}, "tickets": tickets}
    return text


SKIP = frozenset({"csrf_token", "idempotency_key"})
