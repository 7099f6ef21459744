"""What the web UI says, in zh-CN: names of actions, events, stages and roles, field labels,
and the Chinese for refusals (issue 11 keys these by code).

Every user-facing word of the UI that is not in a template lives here, so a reader (and a
translator) finds it in one place.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from core import whistles
from core.cases.queues import DUE_SOON, Tab
from core.errors import CaseError
from workflows.case.transitions import SUPERVISOR_OVERRIDES
from workflows.contracts import Action, Status

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


# What a case's status says to staff: the state it is in (who waits for what), never a verb
# that disagrees with the stage (a case "签收" while its stage is 处置).
STATE_NAMES = {
    Status.RECEIVED: "待立案",
    Status.REGISTERED: "待派遣",
    Status.VOIDED: "已注销",
    Status.DISPATCHED: "待签收",
    Status.RETURNED: "被退回",
    Status.ACCEPTED: "已签收",
    Status.HANDLING: "处置中",
    Status.PARKED: "挂账中",
    Status.VERIFYING: "待核查",
    Status.REWORK: "返工中",
    Status.CLOSED: "已结案",
    Status.ARCHIVED: "已归档",
}


QUEUE_TAB_NAMES = {
    Tab.TO_REGISTER: "待立案",
    Tab.TO_DISPATCH: "待派遣",
    Tab.RETURNED: "被退回",
    Tab.TO_ACCEPT: "待签收",
    Tab.HANDLING: "处置中",
    Tab.REWORK: "返工",
    Tab.TO_VERIFY: "待核查",
    Tab.TO_CALLBACK: "待回访",
    Tab.MINE: "我受理的",
    Tab.OVERDUE: "已超期",
    Tab.DUE_SOON: "即将超期",
    Tab.ESCALATED: "已升级",
    Tab.PARKED: "挂账",
    Tab.REPORTED: "我的上报",
    Tab.OPEN: "全部待办",
}


def duration(span: timedelta) -> str:
    """A span as people say it: "3 天 2 小时", "2 小时 15 分", "15 分", "不到 1 分"."""
    minutes = int(span.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} 天 {hours} 小时" if hours else f"{days} 天"
    if hours:
        return f"{hours} 小时 {mins} 分" if mins else f"{hours} 小时"
    return f"{mins} 分" if mins else "不到 1 分"


def countdown(
    due_at: datetime | None, now: datetime | None = None, *, overdue: bool = False
) -> tuple[str, str]:
    """What is left of a stage's time, and how urgent that is: ("剩 2 小时 15 分", "soon"),
    ("超期 3 小时", "late"), ("", "") without a deadline. Natural time, to the minute."""
    if due_at is None:
        return "", ""
    left = due_at - (now or datetime.now(UTC))
    if left.total_seconds() < 0:
        return f"超期 {duration(-left)}", "late"
    if overdue:
        return "已超期", "late"
    return f"剩 {duration(left)}", "soon" if left < DUE_SOON else "ok"


# Actions with nothing to fill in: the case page's action bar takes them in one tap.
INSTANT_ACTIONS = frozenset({Action.REGISTER, Action.ACCEPT, Action.UNPARK})


# The steps that move a case on, in the order the action bar offers them (at most three): the
# others (退单, 延期, 注销, 挂账) stay in the page's list of actions.
BAR_ACTIONS = (
    Action.REGISTER,
    Action.DISPATCH,
    Action.ACCEPT,
    Action.PROGRESS,
    Action.SUBMIT_FEEDBACK,
    Action.VERIFY,
    Action.CALLBACK,
    Action.DECIDE_EXTENSION,
    Action.UNPARK,
)


# How the action bar names the next step, where that differs from the action's name.
PRIMARY_ACTION_NAMES = {Action.PROGRESS: "提交进展", Action.SUBMIT_FEEDBACK: "提交反馈"}


# What an irreversible action will do, asked before it is sent.
CONFIRMATIONS = {
    Action.VERIFY: "核查通过：工单将结案，需回访的进入回访。确定核查通过吗？",
    Action.FORCE_CLOSE: "强制结案：工单将不经处置和核查直接结案，并记入督办记录。确定强制结案吗？",
    Action.VOID_INVALID: "无效工单：工单将被注销，不再办理，且不能恢复。确定作为无效工单注销吗？",
    Action.SUBMIT_FEEDBACK: "提交反馈：工单将交核查员核查，处置结果提交后不能修改。确定提交吗？",
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


FIELD_LABELS = {
    "title": "标题",
    "description": "描述",
    "category": "类别",
    "location_unit_id": "位置",
    "address": "地址",
    "priority": "紧急程度",
    "reporter_name": "报告人",
    "reporter_phone": "联系电话",
    "external_id": "外部编号",
    "request_kind": "诉求类型",
    "location": "位置",
    "lat": "纬度",
    "lon": "经度",
    "direct_answer": "答复内容",
    "attachments": "照片",
    "merge_into": "并入工单",
    "ticket": "关联报告",
    "case_type": "工单类型",
    "reason": "原因",
    "note": "说明",
    "unit_id": "单位",
    "hours": "延期工时",
    "rating": "满意度",
    "evidence": "附件",
    "review_at": "复核时间",
    "action": "督办操作",
    "expected": "预览件数",
    "kind": "吹哨类型",
    "departments": "召集部门",
    "need": "需求说明",
    "score": "评分",
    "plan_date": "计划完成日期",
    "round": "吹哨轮次",
}


_MESSAGES = {
    "missing": "必填",
    "string_too_short": "至少 {min_length} 个字",
    "string_too_long": "最多 {max_length} 个字",
    "string_pattern_mismatch": "格式不正确",
    "literal_error": "请从列表中选择",
    "int_parsing": "请输入整数",
    "float_parsing": "请输入数字",
    "finite_number": "请输入数字",
    "greater_than_equal": "不能小于 {ge}",
    "less_than_equal": "不能大于 {le}",
    "too_long": "最多 {max_length} 项",
    "enum": "请从列表中选择",
    "datetime_from_date_parsing": "日期时间格式不正确",
    "datetime_parsing": "日期时间格式不正确",
}


# The workflow's refusals are in English; the common ones read better in Chinese.
_REFUSALS = (
    (re.compile(r"\w+ needs a \w+"), "必填"),
    (re.compile(r"hours must be between 1 and (\d+)"), r"须在 1 到 \1 小时之间"),
    (re.compile(r"priority must be one of .*"), "请从列表中选择"),
    (re.compile(r"the case is not escalated"), "工单未被升级督办"),
    (re.compile(r"unit \S+ does not cover this case's area"), "工单不在您的辖区内"),
    (re.compile(r"cannot \w+ a case in status \w+"), "工单当前状态不允许此操作"),
    (re.compile(r"the current stage has no deadline to extend"), "当前环节没有可延长的时限"),
    (re.compile(r"the case has changed since version .*"), "工单已更新，请查看最新状态"),
    # 吹哨报到 (workflows.whistle_rules and core.whistles)
    (re.compile(r"summon at least one department"), "请至少选择一个部门"),
    (re.compile(r"a whistle needs a description of what is needed"), "必填"),
    (re.compile(r"unknown whistle kind .*"), "请从列表中选择"),
    (re.compile(r"unknown department .*"), "没有这个部门"),
    (re.compile(r"department summoned twice: .*"), "同一部门不能重复召集"),
    (re.compile(r"the whistle-blower cannot summon its own unit"), "不能召集本单位"),
    (re.compile(r"not a department: .*"), "只能召集职能部门"),
    (re.compile(r"a whistle needs a case in handling, not \w+"), "工单处置中才能吹哨"),
    (re.compile(r"a whistle of this case is still open"), "本工单已有未结束的吹哨"),
    (
        re.compile(r"a whistle of this case is open: .*"),
        "吹哨尚未结束：请等待部门报到，或提前结束吹哨",
    ),
    (re.compile(r"blowing a whistle requires role .*"), "您的角色不能吹哨"),
    (
        re.compile(r"only the street or community holding .*"),
        "只有承办工单的街道、社区或市中心可以吹哨",
    ),
    (re.compile(r"a whistle is approved by a supervisor .*"), "须由工单所在区的督办员审批"),
    (re.compile(r"no whistle of this case waits for approval"), "没有待审批的吹哨"),
    (re.compile(r"no whistle of this case is open"), "没有进行中的吹哨"),
    (re.compile(r"only .* may close its whistle"), "只有吹哨单位可以提前结束吹哨"),
    (re.compile(r"closing a whistle early needs a reason"), "必填"),
    (re.compile(r"score must be between 1 and 5"), "须在 1 到 5 分之间"),
    (re.compile(r"no whistle summoned .*"), "该部门未被召集"),
    (re.compile(r"only the whistle-blower rates .*"), "只有吹哨单位可以评价"),
    (re.compile(r"rate a department once it has reported .*"), "部门报到或吹哨结束后才能评价"),
    (re.compile(r"the department was never summoned"), "该部门未被召集"),
    (re.compile(r"this department's response is rated already"), "已评价过该部门"),
    (re.compile(r"this whistle summons \S+, not unit \S+"), "该吹哨召集的不是您的单位"),
    (re.compile(r"cannot \w+ a whistle that is \w+"), "当前环节不允许此操作"),
    (
        re.compile(r"report that you arrived, or a plan with a date"),
        "请勾选已到场，或填写计划完成日期",
    ),
    (re.compile(r"plan_date must be an ISO date.*"), "日期格式不正确"),
    (re.compile(r"whistle \S+ is (over|finished) and takes no more .*"), "吹哨已结束，不能再操作"),
    (
        re.compile(r"the filter now matches (\d+) open cases, not (\d+)"),
        r"筛选结果已从 \2 件变为 \1 件，请核对后重新确认",
    ),
    # intake (core.cases, core.intake) and linked reports (workflows.reports)
    (re.compile(r"a map point needs both lat and lon"), "请同时填写纬度和经度"),
    (re.compile(r"a location is needed: .*"), "请填写地图点位，或选择街道/社区/网格"),
    (re.compile(r"the point lies outside the city's boundaries"), "该点位不在本市范围内"),
    (re.compile(r"unknown area unit .*"), "没有这个位置"),
    (re.compile(r"only a 咨询 can be answered directly"), "只有咨询类诉求可以直接答复"),
    (re.compile(r"unknown attachment \S+: upload it first"), "照片未上传成功，请重新上传"),
    (re.compile(r"role \w+ may not report through \w+"), "您的角色不能通过此渠道上报"),
    (re.compile(r"ticket \S+ is taken by another case"), "工单号已被占用，请重新提交"),
    (re.compile(r"no case with ticket .*"), "没有这个工单"),
    # the access policy (core.access)
    (
        re.compile(r"unit \S+ is outside the district of unit \S+: .*"),
        "只能派往本区的街道、社区和本区职能部门（市级可派往全市）",
    ),
    (re.compile(r"case \S+ lies in another district: .*"), "只能并入本区的工单"),
    (re.compile(r"unit \S+ may not see the boards of unit \S+"), "无权查看该单位"),
    (re.compile(r"no whistle .*"), "没有这个吹哨"),
    (re.compile(r"no bulk override .*"), "没有这个批量督办"),
    (re.compile(r"case \S+ is \w+ and takes no reports"), "该工单已结案，不能再并入，请新建工单"),
    (re.compile(r"case \S+ is finished and takes no more actions"), "该工单已办结，不能再操作"),
    (re.compile(r"only a report of the same category can be merged"), "只能并入同一类别的工单"),
    (re.compile(r"a case cannot be merged into itself"), "不能并入本工单"),
    (re.compile(r"role \w+ may not merge reports"), "您的角色不能并入工单"),
    (re.compile(r"split requires role .*"), "只有派遣员或督办员可以拆分"),
    (re.compile(r"no report \S+ is linked to this case"), "该报告未关联到本工单"),
    (re.compile(r"report \S+ was split out already"), "该报告已拆分"),
)


def field_errors(err: ValidationError | CaseError) -> dict[str, str]:
    """Messages by field ("" for the form as a whole), in Chinese where we know the error."""
    if isinstance(err, CaseError):
        return {err.field: chinese_reason(err.reason)}
    errors: dict[str, str] = {}
    for e in err.errors():
        name = str(e["loc"][0]) if e["loc"] else ""
        # An empty field says "required" better than "at least 1 character".
        kind = "missing" if e.get("input") == "" else e["type"]
        template = _MESSAGES.get(kind)
        message = template.format(**e.get("ctx", {})) if template else e["msg"]
        errors.setdefault(name, message)
    return errors


def error_summary(errors: dict[str, str]) -> str:
    return "；".join(
        f"{FIELD_LABELS.get(name, name)}：{message}" if name else message
        for name, message in errors.items()
    )


def chinese_reason(reason: str) -> str:
    """A refusal of the workflow in Chinese where we know its wording, else as it is."""
    for pattern, message in _REFUSALS:
        if pattern.fullmatch(reason):
            return pattern.sub(message, reason)
    return reason
