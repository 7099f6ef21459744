"""From posted forms to the service's request models, and from their errors to zh-CN messages."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import ValidationError
from starlette.datastructures import FormData

from core.cases import ActionRequest, CaseError, CaseFilter, IntakeRequest
from core.overrides import BulkRequest
from core.whistles import ApproveRequest, BlowRequest, CloseRequest, RateRequest, StepRequest
from workflows.workcal import CST

INTAKE_FIELDS = (
    "title",
    "description",
    "category",
    "location_unit_id",
    "address",
    "priority",
    "reporter_name",
    "reporter_phone",
    "external_id",
)
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
)


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def intake_values(form: FormData) -> dict[str, str]:
    """The intake fields as posted, kept to fill the form again after an error."""
    values = {name: text(form, name) for name in INTAKE_FIELDS}
    values["priority"] = values["priority"] or "normal"
    return values


def intake_request(values: dict[str, str]) -> IntakeRequest:
    return IntakeRequest.model_validate(values)


def action_request(form: FormData) -> ActionRequest:
    """Any action's form: it sends the fields it has; the workflow says what is missing."""
    data: dict[str, object] = {
        "reason": text(form, "reason"),
        "note": text(form, "note"),
        # A typed unit id wins over the list: dispatch may go to any unit of the tree.
        "unit_id": text(form, "unit_other") or text(form, "unit_id"),
        "rating": text(form, "rating"),
        "approve": text(form, "approve") == "true",
        "passed": text(form, "passed") == "true",
        "evidence": [e for e in re.split(r"[,，;；\s]+", text(form, "evidence")) if e],
    }
    for name in ("hours", "category", "priority"):
        if text(form, name):
            data[name] = text(form, name)
    if text(form, "review_at"):
        data["review_at"] = china_local(text(form, "review_at"))
    return ActionRequest.model_validate(data)


def china_local(value: str) -> datetime | str:
    """A `datetime-local` value, which has no zone, read as China time.

    What does not parse is passed on as it is, for the model to refuse with its own message.
    """
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=CST)


def blow_request(form: FormData) -> BlowRequest:
    """The 吹哨 form: a kind, the ticked departments and what they must do."""
    departments = [d.strip() for d in form.getlist("departments") if isinstance(d, str)]
    return BlowRequest.model_validate(
        {
            "kind": text(form, "kind"),
            "departments": [d for d in departments if d],
            "need": text(form, "need"),
        }
    )


def approve_request(form: FormData) -> ApproveRequest:
    return ApproveRequest.model_validate({"note": text(form, "note")})


def close_request(form: FormData) -> CloseRequest:
    return CloseRequest.model_validate({"reason": text(form, "reason")})


def rate_request(form: FormData) -> RateRequest:
    data = {"unit_id": text(form, "unit_id"), "note": text(form, "note")}
    # An unpicked score is "missing" (0 is refused by the case as out of range).
    return RateRequest.model_validate(
        {**data, "score": text(form, "score") or "0", "round": text(form, "round") or "0"}
    )


def step_request(form: FormData) -> StepRequest:
    """签收, 联系 or 报到: a note, and for 报到 the 已到场 box or a plan date."""
    return StepRequest.model_validate(
        {
            "note": text(form, "note"),
            "arrived": text(form, "arrived") == "true",
            "plan_date": text(form, "plan_date"),
        }
    )


def case_filter(form: FormData, area: str) -> CaseFilter:
    """The bulk filter as posted, always within `area` (the supervisor's own unit)."""
    return CaseFilter(
        district=text(form, "district"),
        category=text(form, "category"),
        status=text(form, "status"),
        # An unticked box means "either", not "not overdue".
        overdue=True if text(form, "overdue") == "true" else None,
        escalated=True if text(form, "escalated") == "true" else None,
        area=area,
    )


def bulk_request(form: FormData, area: str) -> BulkRequest:
    """The confirmed bulk override (core.overrides checks its fields before any case)."""
    return BulkRequest.model_validate(
        {
            "filters": case_filter(form, area),
            "action": text(form, "action"),
            "body": action_request(form),
            "expected": text(form, "expected"),
        }
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
