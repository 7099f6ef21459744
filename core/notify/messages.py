"""Every text a notification carries, in Chinese: subjects, bodies and the short SMS forms,
and the one-line description of a supervision event (also the inbox's reason for events that
have none of their own).

Messages carry the ticket, the category and a link, never the free text of a report: what
leaves the platform by e-mail or SMS is kept to what the recipient needs to act on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.notify.kinds import Kind
from core.notify.notifier import Channel
from workflows.shared.workcal import CST

SENDER_NAME = "南京市城市运行管理平台"
FOOTER = f"\n\n（本消息由{SENDER_NAME}自动发送，请勿直接回复。）"
SMS_SIGNATURE = "【城运】"
STAGE_NAMES = {
    "dispatch": "立案派遣",
    "accept": "签收",
    "handle": "处置",
    "verify": "核查",
    "callback": "回访",
}


@dataclass(frozen=True)
class Notice:
    """What a message is rendered from."""

    kind: Kind
    ticket: str  # the case's
    category_name: str = ""
    link: str = ""  # the reporter's tracking link, or the case's page for staff
    report_ticket: str = ""  # the reporter's own ticket (a merged report keeps its own)
    detail: str = ""  # for staff: what happened (`describe`)
    recipient_name: str = ""


def render(notice: Notice, channel: Channel) -> tuple[str, str]:
    """(subject, body) of `notice` for `channel`; an SMS has no subject and a short body."""
    subject, body, short = _TEXTS[notice.kind](notice)
    if channel is Channel.SMS:
        return "", SMS_SIGNATURE + short
    return subject, body + FOOTER


def _tracking(n: Notice) -> tuple[str, str, str]:
    ticket = n.report_ticket or n.ticket
    return (
        f"您反映的问题已受理（工单号 {ticket}）",
        f"您好！您反映的{n.category_name or '问题'}已受理，工单号 {ticket}。\n"
        f"您可以通过下面的链接随时查看处理进度和结果：\n{n.link}\n"
        "链接中含有您的查询码，请勿转发给他人。",
        f"您反映的问题已受理，工单号{ticket}，查看进度：{n.link}",
    )


def _result(n: Notice) -> tuple[str, str, str]:
    ticket = n.report_ticket or n.ticket
    return (
        f"您反映的问题已办结（工单号 {ticket}）",
        f"您好！您反映的{n.category_name or '问题'}（工单号 {ticket}）已办结。\n"
        f"处理结果请查看：\n{n.link}\n感谢您对城市管理的支持。",
        f"您反映的问题（工单号{ticket}）已办结，处理结果：{n.link}",
    )


def _staff(label: str) -> Any:
    def texts(n: Notice) -> tuple[str, str, str]:
        what = f"工单 {n.ticket}（{n.category_name}）" if n.category_name else f"工单 {n.ticket}"
        return (
            f"{label}：{what}",
            f"{n.recipient_name + '，' if n.recipient_name else ''}您好！\n"
            f"{label}：{what}。{n.detail}\n查看工单：{n.link}",
            f"{label}：工单{n.ticket}。{n.detail}",
        )

    return texts


def _test(n: Notice) -> tuple[str, str, str]:
    return (
        "通知测试",
        f"{n.recipient_name + '，' if n.recipient_name else ''}您好！"
        "这是一条测试消息：您在城运平台登记的通知地址可以收到消息。",
        "这是一条测试消息：您登记的手机号可以收到城运平台的通知。",
    )


_TEXTS = {
    Kind.TRACKING: _tracking,
    Kind.RESULT: _result,
    Kind.REMIND: _staff("催办"),
    Kind.ESCALATE: _staff("升级督办"),
    Kind.DISPATCH: _staff("新派工单"),
    Kind.TEST: _test,
}


def describe(action: str, payload: Mapping[str, Any], unit_names: Mapping[str, str]) -> str:
    """One line saying what a supervision event did, e.g. "签收时限 12月03日 10:00 到期"."""

    def unit(key: str) -> str:
        uid = str(payload.get(key, ""))
        return unit_names.get(uid, uid)

    if action == "remind":
        stage = STAGE_NAMES.get(str(payload.get("stage", "")), "当前环节")
        return f"{stage}时限 {_when(payload.get('due_at'))} 到期，请及时办理"
    if action == "escalate":
        return f"超期未办结，升级至{unit('unit')}督办（第 {payload.get('level', '')} 级）"
    if action == "escalation_report":
        top = [str(u) for u in payload.get("notify", [])]
        to = unit_names.get(top[0], top[0]) if top else "最高层级"
        return f"已升至最高层级仍未办结，每日向{to}通报"
    if action == "dispatch":
        return f"{'系统自动' if payload.get('auto') else ''}派至{unit('unit')}，请及时签收"
    if action == "reassign":
        return f"改派至{unit('unit')}，请及时签收"
    if action == "park_review":
        return "挂账工单的复核日期已到，请复核"
    return ""


def _when(iso: object) -> str:
    if not isinstance(iso, str) or not iso:
        return "（未定）"
    try:
        return datetime.fromisoformat(iso).astimezone(CST).strftime("%m月%d日 %H:%M")
    except ValueError:
        return iso
