"""Before and after: the photos a case was reported with beside the ones its handling brought."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

from core.attachments import store as attachments
from core.db import SessionFactory, session_scope

# Events whose files show the problem as reported, and those whose files show the work done.
BEFORE = frozenset({"receive", "link_report"})
AFTER = frozenset({"add_progress", "submit_feedback"})


class _Event(Protocol):
    @property
    def action(self) -> str: ...
    @property
    def payload(self) -> Mapping[str, Any]: ...


def files_of(events: Iterable[_Event], actions: frozenset[str]) -> list[str]:
    """The uploaded files (sha256) of `actions`' events, in order, each once (typed file
    names of older evidence are no files)."""
    shas = (
        f
        for e in events
        if e.action in actions
        for f in [*e.payload.get("attachments", []), *e.payload.get("evidence", [])]
        if isinstance(f, str) and attachments.is_sha256(f)
    )
    return list(dict.fromkeys(shas))


def before_after(sessions: SessionFactory, events: Sequence[_Event]) -> dict[str, Any]:
    """The case page's comparison: stored rows, so that a video plays in place."""
    before, after = files_of(events, BEFORE), files_of(events, AFTER)
    if not after:
        return {"before": [], "after": []}
    with session_scope(sessions) as session:
        rows = {r.sha256: r for r in attachments.get_many(session, [*before, *after])}
    return {
        "before": [rows.get(s, s) for s in before],
        "after": [rows.get(s, s) for s in after],
    }
