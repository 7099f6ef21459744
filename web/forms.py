"""From posted forms to the service's request models, and from their errors to zh-CN messages."""

from __future__ import annotations

import re

from pydantic import ValidationError
from starlette.datastructures import FormData

from core.cases import ActionRequest, CaseError, IntakeRequest

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
}


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
    if text(form, "hours"):
        data["hours"] = text(form, "hours")
    return ActionRequest.model_validate(data)


def field_errors(err: ValidationError | CaseError) -> dict[str, str]:
    """Messages by field ("" for the form as a whole), in Chinese where we know the error."""
    if isinstance(err, CaseError):
        return {err.field: err.reason}
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
