"""What a reporter may see of their report: the closed loop's steps and the result, found by
ticket and tracking token (never staff names, internal notes or personal information)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlmodel import Session, col, select

from core.cases import codes
from core.cases.service import CaseError, CaseService
from core.db import session_scope
from core.models import CaseEventRecord, CaseRecord, LinkedReportRecord
from core.privacy import scrub
from web.cases.evidence import AFTER, files_of
from workflows.case.transitions import CITIZEN_CHANNELS, STATUS_NAMES
from workflows.contracts import CaseState, Status

MAX_TOKEN = 64
_TICKET = re.compile(r"[A-Za-z0-9_.-]{1,80}")
# The closed loop as the public sees it: a status entered is a step. Returns, parking and
# rework are the units' business; the citizen sees the case dispatched or being handled.
PUBLIC_STEPS = {
    Status.RECEIVED: "受理",
    Status.REGISTERED: "立案",
    Status.DISPATCHED: "派遣",
    Status.ACCEPTED: "签收",
    Status.HANDLING: "处置中",
    Status.REWORK: "处置中",
    Status.VERIFYING: "核查",
    Status.CLOSED: "结案",
    Status.ARCHIVED: "归档",
    Status.VOIDED: "注销",
}
PUBLIC_STATUS = {Status.RETURNED: Status.DISPATCHED, Status.PARKED: Status.HANDLING}
DONE = frozenset({Status.CLOSED, Status.ARCHIVED})
# The loop in plain words, for the progress bar: 受理 → 办理中 → 已办结.
STAGES = ("受理", "办理中", "已办结")
STAGE_OF = {
    Status.RECEIVED: "受理",
    Status.REGISTERED: "受理",
    Status.CLOSED: "已办结",
    Status.ARCHIVED: "已办结",
    Status.VOIDED: "不予受理",
}
RESULT_NOTES = {"submit_feedback": "note", "force_close": "note", "direct_answer": "answer"}


@dataclass
class Step:
    label: str
    at: datetime | None


@dataclass
class Progress:
    """What the public may see of one case."""

    ticket: str
    category_name: str
    status: str
    status_name: str
    steps: list[Step]
    result: str = ""
    stage: str = "办理中"  # STAGES, or 不予受理
    description: str = ""  # personal information taken out
    unit_name: str = ""  # who handles it
    expected_at: datetime | None = None  # the handling deadline, while it is being handled
    after: list[str] = field(default_factory=list)  # sha256 of the handling photos, once done
    rating: str = ""
    channel: str = ""

    @property
    def may_rate(self) -> bool:
        """评价 counts as the 回访 of a citizen's case, once closed and not yet rated."""
        return self.status == Status.CLOSED and self.channel in CITIZEN_CHANNELS


@dataclass
class Tracking:
    """One report as its reporter tracks it; `case` is the case it opened or joined."""

    ticket: str
    received_at: datetime | None
    photos: int
    case: Progress
    merged: bool = False
    report_count: int = 1


class _Event(Protocol):
    """A timeline entry, from the read model or live from the workflow."""

    @property
    def action(self) -> str: ...
    @property
    def at(self) -> datetime: ...
    @property
    def from_status(self) -> str: ...
    @property
    def to_status(self) -> str: ...
    @property
    def payload(self) -> Mapping[str, Any]: ...


async def find(cases: CaseService, ticket: str, token: str) -> Tracking | None:
    """The report `ticket` if `token` is its tracking token, else None.

    The read model answers, except for a case so new that the projection has not written it
    yet: its workflow does then.
    """
    if not token or len(token) > MAX_TOKEN or not _TICKET.fullmatch(ticket):
        return None
    if codes.matches(cases.settings.secret_key, ticket, token):
        token = cases.tracking_token(ticket)  # the short code stands in for the long token
    with session_scope(cases.sessions) as session:
        case = session.exec(select(CaseRecord).where(CaseRecord.ticket == ticket)).first()
        if case is not None:
            return _from_case(session, case) if _same(case.tracking_token, token) else None
        linked = session.get(LinkedReportRecord, ticket)
        if linked is not None and linked.split_at is None:
            return _from_linked(session, linked) if _same(linked.tracking_token, token) else None
    return await _live(cases, ticket, token)


def _same(expected: str, token: str) -> bool:
    # Bytes: compare_digest refuses str with non-ASCII characters, which a URL may carry.
    return bool(expected) and secrets.compare_digest(expected.encode(), token.encode())


def _from_case(session: Session, case: CaseRecord) -> Tracking:
    events = _events(session, case)
    progress = _record_progress(case, events)
    return _report(case.ticket, case.created_at, events, progress, case.report_count)


def _record_progress(case: CaseRecord, events: Sequence[_Event]) -> Progress:
    progress = _progress(case.ticket, case.category_name, case.status, events)
    progress.rating, progress.channel = case.rating, case.channel
    return _described(
        progress, case.description, case.assigned_unit_name, case.stage, case.due_at, events
    )


def _described(
    progress: Progress,
    description: str,
    unit_name: str,
    stage: str,
    due_at: datetime | None,
    events: Sequence[_Event],
) -> Progress:
    progress.description = scrub.published(description)
    progress.unit_name = unit_name if progress.stage != "受理" else ""
    progress.expected_at = due_at if stage == "handle" else None
    if progress.stage == "已办结":
        progress.after = files_of(events, AFTER)
    return progress


def _from_linked(session: Session, linked: LinkedReportRecord) -> Tracking | None:
    case = session.get(CaseRecord, linked.case_id)
    if case is None:
        return None
    events = _events(session, case)
    progress = _record_progress(case, events)
    return _report(
        linked.ticket, linked.linked_at, events, progress, case.report_count, merged=True
    )


async def _live(cases: CaseService, ticket: str, token: str) -> Tracking | None:
    try:
        if not await cases.tracking_token_matches(ticket, token):
            return None
        state = await cases.live_state(ticket)
        events = await cases.live_timeline(state)
    except CaseError as err:
        if err.status == 404:
            return None
        raise
    progress = _live_progress(state, events)
    return _report(state.ticket, state.created_at, events, progress, state.report_count)


def _report(
    ticket: str,
    received_at: datetime | None,
    events: Sequence[_Event],
    case: Progress,
    report_count: int,
    *,
    merged: bool = False,
) -> Tracking:
    """Report `ticket` of `case`: the case's own report, or one merged into it."""
    photos = _photos(events, "link_report" if merged else "receive", ticket)
    return Tracking(ticket, received_at, photos, case, merged=merged, report_count=report_count)


def _live_progress(state: CaseState, events: Sequence[_Event]) -> Progress:
    progress = _progress(state.ticket, state.category_name, state.status.value, events)
    progress.rating, progress.channel = state.rating, state.channel
    unit = state.assigned_unit.name if state.assigned_unit else ""
    clock = state.clock
    return _described(progress, state.description, unit, clock.stage, clock.due_at, events)


def _events(session: Session, case: CaseRecord) -> list[CaseEventRecord]:
    """The case's events up to the row's: the row and its events are read by two statements,
    which neither SQLite (no BEGIN before a SELECT) nor PostgreSQL (read committed) reads
    from one snapshot, so a projection committing between them must not show a step
    ("结案") whose status the row does not have yet."""
    query = select(CaseEventRecord).where(
        CaseEventRecord.case_id == case.id, col(CaseEventRecord.seq) <= case.last_seq
    )
    return list(session.exec(query.order_by(col(CaseEventRecord.seq))))


def _progress(ticket: str, category_name: str, status: str, events: Sequence[_Event]) -> Progress:
    done = status in DONE
    return Progress(
        ticket=ticket,
        category_name=category_name,
        status=public_status(status).value,
        status_name=status_name(status),
        steps=_steps(events),
        result=_result(events) if done else "",
        stage=STAGE_OF.get(Status(status), "办理中"),
    )


def public_status(status: str) -> Status:
    return PUBLIC_STATUS.get(Status(status), Status(status))


def status_name(status: str) -> str:
    return STATUS_NAMES[public_status(status)]


def _steps(events: Sequence[_Event]) -> list[Step]:
    """The statuses the case entered, in order, each run of one step shown once."""
    steps: list[Step] = []
    for e in events:
        if e.from_status == e.to_status or e.to_status not in PUBLIC_STEPS:
            continue
        label = PUBLIC_STEPS[Status(e.to_status)]
        if not steps or steps[-1].label != label:
            steps.append(Step(label, e.at))
    return steps


def _result(events: Sequence[_Event]) -> str:
    """The last result the handling unit reported (or the answer given on the spot), with
    any personal information a handler wrote into it taken out."""
    for e in reversed(events):
        key = RESULT_NOTES.get(e.action)
        if key and e.payload.get(key):
            return scrub.published(str(e.payload[key]))
    return ""


def _photos(events: Sequence[_Event], action: str, ticket: str) -> int:
    """How many files the report brought: on the case's receipt, or on its link event."""
    for e in events:
        if e.action == action and (action == "receive" or e.payload.get("report") == ticket):
            return len(e.payload.get("attachments") or [])
    return 0
