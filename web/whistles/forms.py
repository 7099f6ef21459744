"""From the 吹哨报到 forms to the whistle service's request models."""

from __future__ import annotations

from starlette.datastructures import FormData

from core.whistles import ApproveRequest, BlowRequest, CloseRequest, RateRequest, StepRequest
from web.formdata import text


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
