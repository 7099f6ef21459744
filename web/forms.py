"""From posted forms to the service's request models, and from their errors to zh-CN messages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from starlette.datastructures import FormData

from core.cases.service import ActionRequest, CaseFilter, IntakeRequest
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
