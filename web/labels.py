"""What the web UI says, in zh-CN: names of actions, events, stages and roles, field labels,
and the Chinese for refusals, by their code.

Every user-facing word of the UI that is not in a template lives here, so a reader (and a
translator) finds it in one place.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from core import whistles
from core.cases.queues import DUE_SOON, Tab
from core.errors import CaseError
from core.notify import messages as notify_messages
from workflows.case.transitions import STATUS_NAMES, SUPERVISOR_OVERRIDES
from workflows.contracts import Action, Outcome, Status

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
    Action.CITIZEN_RATE: "市民评价",
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
    "link_command": "纳入重大事件指挥",
    "escalation_report": "市级通报",
    "park_review": "挂账复核",
    "link_report": "关联报告",
    "split_report": "拆分报告",
    "signal": "感知告警",
    "direct_answer": "直接答复",
    "allocate": "调派力量装备",
    "release": "释放力量装备",
    "reset": "回退",
    "archive": "归档",
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
    **notify_messages.STAGE_NAMES,  # a case's stages, named as the e-mails and SMS name them
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


OUTCOME_NAMES = {"solved": "已解决", "unsolved": "未解决", "unreachable": "联系不上"}


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


# Refusals by code (workflows.shared.rejection, core.errors.CaseError): the Chinese the UI shows,
# `{name}` filled from the refusal's params (names in _PARAM_NAMES first read in Chinese).
REFUSALS = {
    # shared
    "required": "必填",
    "not_in_list": "请从列表中选择",
    "date_format": "日期格式不正确",
    "timezone_needed": "时间须带时区",
    "key_reused": "该请求编号已用于另一项操作，请刷新页面后重试",
    "supervisors_only": "只有督办员可以操作",
    "not_found": "找不到该记录",
    "unavailable": "服务暂时不可用，请稍后重试",
    "key_format": "请求编号格式不正确（1 到 100 个字母、数字或 _.:-）",
    "time_in_future": "时间不能晚于现在",
    "notify_role": "只有办理工单的工作人员可以订阅通知",
    "mobile_format": "请填写正确的手机号",
    "email_format": "请填写正确的电子邮箱",
    "unknown_alarm_type": "该设备没有这种告警类型",
    "whistle_stats_role": "吹哨统计仅限督办员和派遣员查看",
    "overview_role": "运行总览仅限督办员和派遣员查看",
    "unknown_case_type": "没有这种工单类型",
    "unknown_action": "没有这个操作",
    "action_failed": "操作未能完成，请稍后重试",
    "unknown_user": "没有这个用户",
    "period_format": "统计期须为 年-月（如 2026-11）或 年（如 2026）",
    "unit_not_in_tree": "您的单位不在组织架构中，请联系管理员",
    # the closed loop (workflows.case.transitions)
    "role_not_allowed": "您的角色不能{action}",
    "outside_area": "工单不在您的辖区内",
    "not_assigned": "工单未派给您的单位",
    "wrong_status": "工单当前状态不允许此操作（{status}时不能{action}）",
    "extension_pending": "已有待审批的延期申请",
    "extension_late": "延期须在时限到期前申请",
    "no_extension_pending": "没有待审批的延期申请",
    "not_escalated": "工单未被升级督办",
    "no_deadline": "当前环节没有可延长的时限",
    "hours_range": "须在 1 到 {max} 小时之间",
    "review_in_past": "复核时间须晚于现在",
    "policy_missing": "新类别缺少处置时限，请联系管理员",
    "case_finished": "该工单已办结，不能再操作",
    "stale": "工单已更新，请查看最新状态",
    "not_rated_online": "该工单不在网上评价（由工作人员回访）",
    "reset_role": "只有工单所在辖区的督办员可以回退工单",
    "not_decision_point": "请选择一个回退点",
    # 重大事件综合指挥调度 (workflows.major_event)
    "major_role": "您的角色不能执行此重大事件操作",
    "major_phase": "重大事件当前阶段（{phase}）不允许此操作",
    "major_event_type": "没有这个事件类型",
    "major_sub_type": "没有这个事件子类型",
    "major_grade": "事件等级须为 Ⅰ、Ⅱ、Ⅲ 或 Ⅳ 级",
    "major_same_grade": "事件已是该等级",
    "major_report_kind": "报告类型须为初报、续报或终报",
    "major_report_not_due": "当前没有应报送的该类报告",
    "major_final_report_missing": "终报尚未报送，不能结束",
    "major_no_department": "请至少选择一个进驻部门",
    "major_stationed_already": "所选部门已被要求进驻",
    "major_no_case_matches": "没有符合条件的工单",
    # 吹哨报到 (workflows.whistle.rules, core.whistles)
    "whistle_role": "您的角色不能吹哨",
    "whistle_not_holder": "只有承办工单的街道、社区或市中心可以吹哨",
    "whistle_needs_handling": "工单处置中才能吹哨",
    "whistle_open": "本工单已有未结束的吹哨",
    "whistle_open_wait": "吹哨尚未结束：请等待部门报到，或提前结束吹哨",
    "whistle_kind_incomplete": "该吹哨类型缺少时限配置，请联系管理员",
    "whistle_no_department": "请至少选择一个部门",
    "whistle_summoned_twice": "同一部门不能重复召集",
    "whistle_own_unit": "不能召集本单位",
    "whistle_not_department": "只能召集职能部门",
    "unknown_department": "没有这个部门",
    "whistle_approver": "须由工单所在区的督办员审批",
    "whistle_no_approval_pending": "没有待审批的吹哨",
    "whistle_none_open": "没有进行中的吹哨",
    "whistle_close_by_blower": "只有吹哨单位可以提前结束吹哨",
    "whistle_not_summoned": "该部门未被召集",
    "whistle_rate_by_blower": "只有吹哨单位可以评价",
    "score_range": "须在 1 到 5 分之间",
    "whistle_rate_early": "部门报到或吹哨结束后才能评价",
    "whistle_rated_already": "已评价过该部门",
    "whistle_other_unit": "该吹哨召集的不是您的单位",
    "whistle_wrong_step": "当前环节不允许此操作（{step}时不能{stage}）",
    "whistle_report_plan": "请勾选已到场，或填写计划完成日期",
    "whistle_over": "吹哨已结束，不能再操作",
    "no_whistle": "没有这个吹哨",
    # intake and linked reports (core.cases, core.intake, workflows.intake.reports)
    "intake_role": "您的角色不能登记工单",
    "channel_role": "您的角色不能通过此渠道上报",
    "unknown_category": "没有这个类别",
    "unknown_area": "没有这个位置",
    "point_incomplete": "请同时填写纬度和经度",
    "location_needed": "请填写地图点位，或选择街道/社区/网格",
    "point_outside": "该点位不在本市范围内",
    "direct_answer_kind": "只有咨询类诉求可以直接答复",
    "attachment_missing": "照片未上传成功，请重新上传",
    "ticket_taken": "工单号已被占用，请重新提交",
    "possible_duplicates": "附近有 {count} 件同类未结工单，可能是同一事件",
    "no_case": "没有这个工单",
    "description_needed": "请描述问题",
    "merge_role": "您的角色不能并入工单",
    "merge_self": "不能并入本工单",
    "merge_other_district": "只能并入本区的工单",
    "merge_other_category": "只能并入同一类别的工单",
    "case_takes_no_reports": "该工单已结案，不能再并入，请新建工单",
    "split_role": "只有派遣员或督办员可以拆分",
    "report_not_linked": "该报告未关联到本工单",
    "report_split_already": "该报告已拆分",
    # the access policy (core.access) and bulk overrides (core.supervision)
    "unknown_unit": "没有这个单位",
    "unit_hidden": "无权查看该单位",
    "target_outside_district": "只能派往本区的街道、社区和本区职能部门（市级可派往全市）",
    "filter_changed": "筛选结果已从 {expected} 件变为 {found} 件，请核对后重新确认",
    "no_bulk": "没有这个批量督办",
    # the directory of forces and equipment (core.directory)
    "directory_other_unit": "只能编辑本单位的力量和装备",
    "serial_format": "格式不正确：2 到 64 个字母、数字或 · - . /，不含空格",
    "serial_taken": "号牌/编号 {serial} 已存在",
    "equipment_status_allocated": "“已调派”只能通过调派给工单设置",
    "team_has_people": "队伍{team}仍有人员，请先调整人员",
    "unknown_team": "没有这支队伍",
    "team_other_unit": "所选队伍不属于该单位",
    "allocation_target": "请选择队伍或装备",
    "unknown_equipment": "没有这件装备",
    "equipment_busy": "装备 {serial} 已调派给工单 {ticket}",
    "equipment_allocated": "装备 {serial} 已被调派",
    "equipment_repair": "装备 {serial} 正在维修",
    "team_busy": "队伍{team}已调派给工单 {ticket}",
    "team_inactive": "队伍{team}已停用",
    "case_not_handling": "工单不在处置中（已签收、处置中或返工），不能调派",
    "allocation_role": "您的角色不能调派力量和装备",
    "resource_outside": "只能调派承办单位或本单位下属单位的力量和装备",
    "release_forbidden": "您不能释放这项调派",
    "released_already": "已经释放",
    # uploads (core.attachments); web.uploads words them for citizens in its own way
    "file_empty": "文件为空",
    "file_type": "不是图片或视频（支持 JPEG、PNG、GIF、WebP、MP4、MOV、WebM）",
    "image_too_big": "图片超过 {size}",
    "video_too_big": "视频超过 {size}",
    "upload_too_large": "文件过大：图片最大 {image}，视频最大 {video}",
    "image_unreadable": "图片无法读取（文件损坏或不是图片）",
    "image_pixels": "图片像素过多，请缩小后再上传",
    "image_dimensions": "图片尺寸过大",
    "video_damaged": "视频文件已损坏或格式不正确（支持 MP4、MOV、WebM）",
    "metadata_unremovable": "文件结构损坏，无法去除其中的位置信息",
    "upload_quota": "今日上传已达上限，请明天再试",
}


def field_errors(err: ValidationError | CaseError) -> dict[str, str]:
    """Messages by field ("" for the form as a whole), in Chinese where we know the error."""
    if isinstance(err, CaseError):
        return {err.field: refusal_text(err)}
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


def refusal_text(err: CaseError | Outcome) -> str:
    """A refusal in Chinese, by its code; its English reason when it has no code we know."""
    template = REFUSALS.get(err.code)
    if template is None:
        return err.reason
    params = {name: _param(name, value) for name, value in err.params.items()}
    try:
        return template.format_map(params)
    except (KeyError, IndexError, ValueError):  # a param the refusal did not send
        return err.reason


def _param(name: str, value: Any) -> Any:
    """A param as the Chinese text reads it: actions, statuses and steps by their names."""
    names = _PARAM_NAMES.get(name)
    return names.get(str(value), value) if names else value


_PARAM_NAMES: dict[str, dict[str, str]] = {
    "action": {str(k): v for k, v in EVENT_NAMES.items()},
    "status": {str(k): v for k, v in STATUS_NAMES.items()},
    "stage": STAGE_NAMES,
    "step": WHISTLE_STEP_NAMES,
}
