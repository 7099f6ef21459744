"""Jinja2 (with jinja2-fragments) for the web UI: the environment, zh-CN labels and `render`.

A page template names its swappable parts as blocks; `render` returns the whole page, or just
one block when htmx asks to swap part of a page (STYLE rule 15).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request, Response
from fastapi.responses import RedirectResponse
from jinja2_fragments.fastapi import Jinja2Blocks

from core import whistles
from web.sessions import web_session
from workflows import registry
from workflows.case.transitions import MAX_EXTENSION_HOURS, STATUS_NAMES, SUPERVISOR_OVERRIDES
from workflows.contracts import PRIORITIES, Action
from workflows.shared.workcal import CST

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
TEMPLATES_DIR = WEB_DIR / "templates"

ACTION_NAMES = {
    Action.REGISTER: "立案",
    Action.VOID: "注销",
    Action.DISPATCH: "派遣",
    Action.ACCEPT: "签收",
    Action.RETURN: "退单",
    Action.PROGRESS: "处置进展",
    Action.REQUEST_EXTENSION: "申请延期",
    Action.DECIDE_EXTENSION: "审批延期",
    Action.PARK: "挂账",
    Action.UNPARK: "解除挂账",
    Action.SUBMIT_FEEDBACK: "反馈",
    Action.VERIFY: "核查",
    Action.CALLBACK: "回访",
    Action.REASSIGN: "改派",
    Action.CHANGE_CATEGORY: "变更类别",
    Action.CHANGE_PRIORITY: "调整优先级",
    Action.EXTEND_DEADLINE: "延长时限",
    Action.DE_ESCALATE: "撤销升级",
    Action.FORCE_CLOSE: "强制结案",
    Action.VOID_INVALID: "无效工单",
    Action.REOPEN: "重新打开",
}
# Supervisor overrides (督办): the case page groups them apart from the closed loop's steps.
OVERRIDE_ACTIONS = SUPERVISOR_OVERRIDES
# Events the workflow records on its own, besides the human actions.
EVENT_NAMES = {
    **{a.value: name for a, name in ACTION_NAMES.items()},
    "receive": "受理",
    "overdue": "超期",
    "note": "备注",
    "remind": "催办",
    "escalate": "升级督办",
    "escalation_report": "市级通报",
    "park_review": "挂账复核",
    "link_report": "关联报告",
    "split_report": "拆分报告",
    "signal": "感知告警",
    "direct_answer": "直接答复",
    "allocate": "调派力量装备",
    "release": "释放力量装备",
    **whistles.EVENT_NAMES,
}
# 吹哨报到: a round's status on the case, and one department's step (core.whistles' labels).
ROUND_STATUS_NAMES = {
    "pending_approval": "待审批",
    "open": "进行中",
    "done": "已完成",
    "closed": "已关闭",
    "cancelled": "已撤销",
}
WHISTLE_STEP_NAMES = {s.value: name for s, name in whistles.STEP_LABELS.items()}
ROLE_NAMES = {
    "operator": "话务员",
    "dispatcher": "派遣员",
    "handler": "处置人员",
    "verifier": "核查员",
    "supervisor": "督办员",
    "admin": "管理员",
    "grid_worker": "网格员",
    "public": "市民",
    "device": "感知设备",
}
STAGE_NAMES = {
    "dispatch": "立案派遣",
    "accept": "签收",
    "handle": "处置",
    "verify": "核查",
    "callback": "回访",
    # a whistle's steps (their reminders and overdue events name them)
    "sign": "签收",
    "contact": "联系",
    "report": "报到",
}
# What an event's reason is, where it is not a reason.
REASON_LABELS = {
    "whistle_blow": "需求说明",
    "summon": "需求说明",
    "whistle_approve": "审批意见",
    "whistle_rate": "评价",
    "whistle_contact": "说明",
    "whistle_report": "说明",
    "contact": "说明",
    "report": "说明",
}
RATING_NAMES = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"}
PRIORITY_NAMES = {"normal": "普通", "urgent": "紧急", "critical": "特急"}


def china_time(value: datetime | str | None) -> str:
    """A UTC instant as China time (UTC+8); SQLite hands back naive datetimes, which are UTC.

    Event payloads keep instants as ISO strings, so those are accepted too.
    """
    if isinstance(value, str):
        if not value:
            return "—"
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if value is None:
        return "—"
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(CST).strftime("%Y-%m-%d %H:%M")


def percent(value: float | None) -> str:
    """A ratio as a percentage with one decimal; "—" when there was nothing to count."""
    return "—" if value is None else f"{value * 100:.1f}%"


def ticket_of(case_id: str) -> str:
    """The ticket in a case's workflow id (bulk outcomes name cases by workflow id)."""
    return case_id.removeprefix(registry.CITY_EVENT.id_prefix)


def is_past(value: datetime | None) -> bool:
    if value is None:
        return False
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware < datetime.now(UTC)


def _environment() -> jinja2.Environment:
    # Autoescape for every template whatever its extension: user text is never trusted.
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["china_time"] = china_time
    env.filters["ticket_of"] = ticket_of
    env.filters["percent"] = percent
    env.tests["past"] = is_past
    env.globals.update(
        STATUS_NAMES={s.value: n for s, n in STATUS_NAMES.items()},
        EVENT_NAMES=EVENT_NAMES,
        ROLE_NAMES=ROLE_NAMES,
        STAGE_NAMES=STAGE_NAMES,
        RATING_NAMES=RATING_NAMES,
        PRIORITY_NAMES=PRIORITY_NAMES,
        ACTION_NAMES={a.value: n for a, n in ACTION_NAMES.items()},
        OVERRIDE_ACTIONS=frozenset(a.value for a in OVERRIDE_ACTIONS),
        PRIORITIES=PRIORITIES,
        MAX_EXTENSION_HOURS=MAX_EXTENSION_HOURS,
        ROUND_STATUS_NAMES=ROUND_STATUS_NAMES,
        REASON_LABELS=REASON_LABELS,
        WHISTLE_STEP_NAMES=WHISTLE_STEP_NAMES,
        # Each rendered form gets its own Idempotency-Key: a double submit or a refresh that
        # posts again acts once (issue 9).
        new_key=lambda: uuid.uuid4().hex,
    )
    return env


templates = Jinja2Blocks(env=_environment())


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def wants_fragment(request: Request) -> bool:
    """htmx swapping part of a page; boosted navigation and history restores need the page."""
    headers = request.headers
    return (
        is_htmx(request)
        and headers.get("hx-boosted") != "true"
        and headers.get("hx-history-restore-request") != "true"
    )


def error_status(request: Request, status: int) -> int:
    """The status for a re-rendered form or block that shows an error inline.

    htmx 2 swaps no 4xx response by default. Rather than widen `htmx.config.responseHandling`
    (which would also paint CSRF refusals and crashes into the page), htmx requests get 200 with
    the error in the fragment; browsers without JavaScript and other clients get the real code.
    """
    return 200 if is_htmx(request) else status


def csrf_token(request: Request) -> str:
    """The session's CSRF token (before login too: the login form needs it)."""
    return web_session(request).csrf_token()


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    block: str,
    status: int = 200,
) -> Response:
    """Render page `name`, or only its `block` when htmx swaps part of the page."""
    context = {"csrf_token": csrf_token(request), "user": None, **context}
    if wants_fragment(request):
        response = templates.TemplateResponse(
            request, name, context, status_code=status, block_name=block
        )
    else:
        response = templates.TemplateResponse(request, name, context, status_code=status)
    # Caches must not hand a fragment to a full-page load or the other way round.
    response.headers.add_vary_header("HX-Request")
    response.headers.add_vary_header("HX-Boosted")
    return response


def redirect(request: Request, url: str) -> Response:
    """See other: `HX-Redirect` for htmx (a full load, fresh layout), 303 for plain browsers."""
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)
