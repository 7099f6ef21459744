"""From posted forms to the service's request models, and from their errors to zh-CN messages."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import ValidationError
from starlette.datastructures import FormData

from core.cases import ActionRequest, CaseError, CaseFilter, IntakeRequest
from core.overrides import BulkRequest
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
