"""Reports at intake: the hotline and patrol forms share the submission and its outcomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request, Response
from pydantic import ValidationError

from core.cases.service import CaseError, CaseService
from core.errors import IntakePending
from core.intake.service import IntakeResult, IntakeService
from core.models import User
from web import labels, lookups
from web.intake import forms
from web.templating import china_time, redirect
from workflows.contracts import CaseState


# ---- reports at intake: hotline and patrol forms share the submission and its outcomes --------
@dataclass
class ReportRefused:
    """A submission that did not go through: field errors, or duplicate candidates to decide on."""

    status: int
    errors: dict[str, str] = field(default_factory=dict)
    candidates: list[dict[str, Any]] = field(default_factory=list)


async def submit_report(
    intake: IntakeService, cases: CaseService, user: User, posted: forms.ReportForm, channel: str
) -> IntakeResult | IntakePending | ReportRefused:
    """Submit the posted report; a refusal comes back as what the form shows next to it."""
    try:
        return await intake.submit(cases.actor(user), posted.request(channel), key=posted.key)
    except IntakePending as pending:
        return pending
    except ValidationError as err:
        return ReportRefused(422, labels.field_errors(err))
    except CaseError as err:
        candidates = err.extra.get("candidates", []) if err.status == 409 else []
        # Nearby open cases of the category: the reporter decides, nothing is wrong with a field.
        errors = {} if candidates else labels.field_errors(err)
        return ReportRefused(err.status, errors, candidates)


def after_report(
    request: Request, cases: CaseService, result: IntakeResult | IntakePending
) -> Response:
    """To the case the report opened or joined, with a notice of what became of it."""
    if isinstance(result, IntakePending):
        text = f"工单 {result.ticket} 已受理，正在派单，请稍后刷新查看派往单位"
        request.session["notice"] = {"ticket": result.ticket, "text": text}
        return redirect(request, f"/cases/{result.ticket}")
    case = result.case
    if result.merged:
        text = f"已作为关联报告并入工单 {case.ticket}（报告编号 {result.ticket}）"
    elif case.direct_answer:
        text = f"工单 {case.ticket} 已直接答复并归档，无需派遣"
    elif case.channel == "patrol":
        unit_id = case.location.unit_id
        grid = lookups.unit_names(cases.sessions, [unit_id]).get(unit_id, unit_id)
        text = f"巡查上报已登记为工单 {case.ticket}，所属网格：{grid}"
    else:
        text = confirmation(case)
    if text:
        # A hotline call ends here: the operator takes the next one from the notice.
        following = "/cases/new" if case.channel in ("hotline", "web") else ""
        request.session["notice"] = {"ticket": case.ticket, "text": text, "next": following}
    return redirect(request, f"/cases/{case.ticket}")


def confirmation(case: CaseState) -> str:
    """What the operator tells the caller: the ticket, where it went, by when it is taken."""
    if case.assigned_unit is None:
        return f"已登记 {case.ticket}，待派遣中心派单"
    text = f"已登记 {case.ticket}，派往 {case.assigned_unit.name}"
    if case.clock.stage == "accept" and case.clock.due_at is not None:
        text += f"，签收时限 {china_time(case.clock.due_at)}"
    return text
