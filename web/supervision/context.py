"""What the supervision pages show: the unit's inbox, and the bulk override page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from core.cases.service import CaseFilter, CaseService
from core.models import User
from core.supervision import inbox
from web import labels, lookups
from web.layout import layout_context
from web.templating import ticket_of
from workflows.contracts import TERMINAL, BulkProgress, Status

INBOX_PAGE = 20  # cases per page of the inbox


@dataclass(frozen=True)
class InboxQuery:
    """What the inbox page shows: unread only or all, one kind or every kind, which page."""

    show: str = "all"
    kind: str = ""
    page: int = 1

    @property
    def filters(self) -> inbox.InboxFilter:
        kinds = (self.kind,) if self.kind else ()
        return inbox.InboxFilter(unread_only=self.show == "unread", kinds=kinds)

    def url(self, **changes: object) -> str:
        """The inbox's URL for this query with `changes` (another page, filter)."""
        values = {"show": self.show, "kind": self.kind, "page": self.page, **changes}
        kept = {k: v for k, v in values.items() if v not in ("", None, 1, "all")}
        return "/inbox" + ("?" + urlencode(kept) if kept else "")


def inbox_context(cases: CaseService, user: User, query: InboxQuery) -> dict[str, Any]:
    """The unit's messages grouped by case (cases with unread ones first), one page of them,
    each message with the reason the back end gives it."""
    sessions = cases.sessions
    groups, total = inbox.by_case(sessions, user, query.filters, page=query.page, size=INBOX_PAGE)
    return {
        **layout_context(cases, user),
        "groups": groups,
        "reasons": inbox.reasons(sessions, [i for g in groups for i in g.items]),
        "kinds": inbox.kinds_in(sessions, user),
        "query": query,
        "total": total,
        "pages": max(1, -(-total // INBOX_PAGE)),
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
