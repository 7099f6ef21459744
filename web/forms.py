"""From posted forms to the service's request models, and from their errors to zh-CN messages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import ValidationError
from starlette.datastructures import FormData

from core.cases.service import ActionRequest, CaseError, CaseFilter, IntakeRequest
from core.supervision.overrides import BulkRequest
from core.whistles import ApproveRequest, BlowRequest, CloseRequest, RateRequest, StepRequest
from workflows.shared.workcal import CST

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
    "request_kind",
    "lat",
    "lon",
    "direct_answer",
)
# 12345 request kinds (诉求类型); only a 咨询 may be answered on the spot (直接答复).
REQUEST_KINDS = ("咨询", "求助", "投诉", "举报", "建议")
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


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def attachment_shas(form: FormData) -> list[str]:
    """The uploaded files the form carries (each upload adds a hidden `attachments` input)."""
    shas = (a.strip() for a in form.getlist("attachments") if isinstance(a, str))
    return list(dict.fromkeys(a for a in shas if a))


def intake_request(
    values: dict[str, str],
    attachments: list[str] | None = None,
    *,
    channel: str = "hotline",
    merge_into: str = "",
    duplicates: str = "ask",
) -> IntakeRequest:
    """The report as the service takes it; an empty map point is no point at all."""
    data: dict[str, object] = {k: v for k, v in values.items() if v or k not in ("lat", "lon")}
    if values.get("request_kind") != "咨询":
        data.pop("direct_answer", None)  # typed, then the kind changed: the form hid it
    return IntakeRequest.model_validate(
        {
            **data,
            "attachments": attachments or [],
            "channel": channel,
            "merge_into": merge_into,
            "duplicates": duplicates if duplicates in ("ask", "new") else "ask",
        }
    )


@dataclass
class ReportForm:
    """A posted hotline or patrol report.

    `merge_into` and `duplicates` come from the buttons of the duplicate panel, never from a
    field the form keeps: every submission asks about duplicates afresh.
    """

    values: dict[str, str]
    attachments: list[str] = field(default_factory=list)
    merge_into: str = ""
    duplicates: str = "ask"
    key: str = ""  # the rendered form's Idempotency-Key

    def request(self, channel: str) -> IntakeRequest:
        return intake_request(
            self.values,
            self.attachments,
            channel=channel,
            merge_into=self.merge_into,
            duplicates=self.duplicates,
        )


def report_form(form: FormData, fields: tuple[str, ...] = INTAKE_FIELDS) -> ReportForm:
    values = {name: text(form, name) for name in fields}
    if "priority" in values:
        values["priority"] = values["priority"] or "normal"
    return ReportForm(
        values,
        attachment_shas(form),
        merge_into=text(form, "merge_into"),
        duplicates=text(form, "duplicates") or "ask",
        key=idempotency_key(form),
    )


def idempotency_key(form: FormData) -> str:
    """The form's Idempotency-Key, if it is one (a malformed one is ignored, not trusted)."""
    key = text(form, "idempotency_key")
    return key if re.fullmatch(r"[A-Za-z0-9_.:-]{1,100}", key) else ""


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
