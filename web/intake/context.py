"""What the hotline and patrol forms show, and who may use them."""

from __future__ import annotations

from typing import Any

from core.cases.service import INTAKE_ROLES, CaseService
from core.intake.service import CHANNEL_ROLES
from core.models import User
from web import labels, lookups
from web.intake import forms, reads
from web.intake.submission import ReportRefused
from web.layout import layout_context
from workflows.contracts import Role


def may_intake(user: User) -> bool:
    return Role(user.role) in INTAKE_ROLES


def may_patrol(user: User) -> bool:
    return Role(user.role) in CHANNEL_ROLES["patrol"]


def report_form_context(
    cases: CaseService, user: User, posted: forms.ReportForm, refused: ReportRefused | None
) -> dict[str, Any]:
    """What the hotline and patrol forms show: options, the values kept, errors, candidates."""
    errors = refused.errors if refused else {}
    return {
        **layout_context(cases, user),
        "categories": lookups.category_groups(cases.sessions),
        "suggestions": reads.category_suggestions(
            cases.sessions, posted.values.get("description", "")
        ),
        "values": posted.values,
        "attachments": posted.attachments,
        "errors": errors,
        "summary": labels.error_summary(errors),
        "candidates": refused.candidates if refused else [],
    }
