"""From the posted hotline and patrol forms to the intake's request model."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.datastructures import FormData

from core.cases.service import IntakeRequest
from web.formdata import idempotency_key, text

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
