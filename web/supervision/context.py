"""What the supervision pages show: the unit's inbox, and the bulk override page."""

from __future__ import annotations

from typing import Any

from core.cases.service import CaseFilter, CaseService
from core.models import User
from core.supervision import inbox
from web import labels, lookups
from web.layout import layout_context
from web.templating import ticket_of
from workflows.contracts import TERMINAL, BulkProgress, Status


def inbox_context(cases: CaseService, user: User, show: str) -> dict[str, Any]:
    """The unit's messages: unread ones first, then (unless `show` is "unread") the rest."""
    unread = inbox.list_inbox(cases.sessions, user, unread_only=True)
    items = list(unread)
    if show != "unread":
        items += [i for i in inbox.list_inbox(cases.sessions, user) if i.read_at]
    return {
        **layout_context(cases, user),
        "items": items,
        "show": show,
        "error": "",
        "oob": False,
    }


def overrides_context(
    cases: CaseService, user: User, filters: CaseFilter, **extra: Any
) -> dict[str, Any]:
    """The bulk override page: the filter's options and values, and a preview or progress."""
    sessions = cases.sessions
    districts = lookups.districts_in(sessions, user.unit_id)
    # Reassigning goes to the streets and departments of one district: the filtered one, else
    # the supervisor's own; a code can always be typed.
    district = filters.district or (districts[0][0] if len(districts) == 1 else "")
    progress: BulkProgress | None = extra.get("progress")
    refusals = (
        [(ticket_of(o.case_id), labels.refusal_text(o)) for o in progress.refusals]
        if progress
        else []
    )
    return {
        **layout_context(cases, user),
        "filters": filters,
        "districts": districts,
        "categories": lookups.category_groups(sessions),
        "statuses": [s.value for s in Status if s not in TERMINAL],
        "dispatch_units": lookups.dispatch_units(sessions, district),
        "preview": None,
        "progress": None,
        "bulk_id": "",
        "refusals": refusals,
        "error": "",
        "values": {},
        **extra,
    }
