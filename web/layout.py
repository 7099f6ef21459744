"""What every page's layout shows of the user, and a refusal as a page of its own."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from core.cases.service import INTAKE_ROLES, CaseError, CaseService
from core.models import User
from core.supervision import inbox
from web import labels
from web.templating import render
from web.whistles import reads as whistle_reads
from workflows import registry
from workflows.contracts import Role


def layout_context(cases: CaseService, user: User) -> dict[str, Any]:
    """What the layout shows of the user: name, role and unit, and whether they may record cases."""
    actor = cases.actor(user)
    return {
        "user": actor,
        "can_intake": actor.role in INTAKE_ROLES,
        "is_supervisor": actor.role is Role.SUPERVISOR,
        "unread": inbox.unread_count(cases.sessions, user),
        "open_whistles": whistle_reads.open_whistle_count(cases.sessions, user),
        # the other case types with pages: nav links, and intake offers those the user may start
        "case_types": [t for t in registry.all_types() if t.url],
        "startable_types": [t for t in registry.startable_by(actor.role) if t.url],
    }


def error_page(request: Request, cases: CaseService, user: User, err: CaseError) -> Response:
    """A refusal as a page of its own (or its block, for htmx), in Chinese by its code
    (a case the user may not see reads 没有这个工单, like one that does not exist)."""
    message = labels.refusal_text(err)
    context = {**layout_context(cases, user), "status": err.status, "message": message}
    return render(request, "error.html", context, block="error", status=err.status)
