"""Stage facts and case facts, derived from a case's audit trail (its `case_events`).

`derive` is pure: the same events give the same rows, so the projection can rewrite them at
every batch and the migration can backfill them from the stored trail (issue 13). The stage
boundaries follow the workflow's own clock rule (workflows/case/effects.py `move_clock`): a new
stage starts when the status enters another stage, or re-enters 处置 through 返工; 挂账 pauses
the stage it is in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from workflows.case.effects import STAGE_OF
from workflows.contracts import Status

CLOSING = frozenset({Status.CLOSED.value, Status.ARCHIVED.value})
# An event shows the citizen was contacted if its action is one of these, or its payload says
# `contacted`, or it is a callback that reached the citizen (docs/measures.md, 响应率).
CONTACT_ACTIONS = frozenset({"contact", "contact_citizen"})
# 回访 by staff, and the citizen's own 评价 on the tracking page, which counts as the 回访.
CALLBACK_ACTIONS = frozenset({"record_callback", "rate_by_citizen"})
# The callback's outcome (workflows.contracts.CallbackOutcome) as the facts keep it.
RESOLVED_OF_OUTCOME = {"solved": True, "unsolved": False}


class EventLike(Protocol):
    seq: int
    at: datetime
    action: str
    from_status: str
    to_status: str
    payload: dict[str, Any]


class CaseLike(Protocol):
    district_id: str
    street_id: str
    assigned_unit_id: str
    category: str
    channel: str
    request_kind: str
    location_path: str
    status: str
    direct_answer: bool
    lat: float | None
    lon: float | None


@dataclass
class StageFact:
    n: int
    stage: str
    started_at: datetime
    unit_id: str = ""
    ended_at: datetime | None = None
    due_at: datetime | None = None
    overdue: bool = False
    met: bool | None = None
    reminders: int = 0
    escalations: int = 0
    returns: int = 0
    reworks: int = 0
    extensions: int = 0


@dataclass
class _Walk:
    """What a walk through the events has seen so far."""

    stages: list[StageFact] = field(default_factory=list)
    unit: str = ""
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def current(self) -> StageFact | None:
        s = self.stages[-1] if self.stages else None
        return s if s is not None and s.ended_at is None else None


def derive(events: Iterable[EventLike]) -> tuple[list[StageFact], dict[str, Any]]:
    """The stages and case facts (columns of `case_facts` but the dimensions) of one case."""
    walk = _Walk()
    ordered = sorted(events, key=lambda e: e.seq)
    for e in ordered:
        _count(walk, e)
        _move(walk, e)
        _note_case(walk, e)
    for s in walk.stages:
        if s.ended_at is None:
            s.met = False if s.overdue else None
    return walk.stages, _case_facts(walk, ordered)


def _count(walk: _Walk, e: EventLike) -> None:
    """The event's mark on the stage it happened in."""
    p, s = e.payload, walk.current
    if e.action in ("dispatch", "reassign") and p.get("unit"):
        walk.unit = str(p["unit"])
    if s is None:
        return
    s.unit_id = walk.unit
    if p.get("due_at") and e.action in ("remind", "overdue", "extend_deadline", "decide_extension"):
        s.due_at = datetime.fromisoformat(str(p["due_at"]))
    if e.action == "remind":
        s.reminders += 1
    elif e.action == "escalate":
        s.escalations += 1
    elif e.action == "overdue":
        s.overdue = True
    elif e.action == "extend_deadline" or (e.action == "decide_extension" and p.get("approved")):
        s.extensions += 1
        s.overdue = False  # the workflow's clock forgets the passed deadline too
    elif e.action == "return_case":
        s.returns += 1
    elif e.to_status == Status.REWORK.value and e.from_status != Status.REWORK.value:
        s.reworks += 1


def _move(walk: _Walk, e: EventLike) -> None:
    """End the current stage and start the next where the event changes stage."""
    if Status.PARKED.value in (e.from_status, e.to_status) or e.from_status == e.to_status:
        return
    stage = STAGE_OF.get(Status(e.to_status)) if e.to_status else None
    current = walk.current
    rework = e.to_status == Status.REWORK.value
    if current is not None and stage is not None and stage.value == current.stage and not rework:
        return
    if current is not None:
        current.ended_at, current.met = e.at, not current.overdue
    if stage is not None:
        n = len(walk.stages) + 1
        walk.stages.append(StageFact(n=n, stage=stage.value, started_at=e.at, unit_id=walk.unit))


def _note_case(walk: _Walk, e: EventLike) -> None:
    f, p = walk.facts, e.payload
    f.setdefault("received_at", e.at)
    first = {"dispatch": "dispatched_at", "accept": "accepted_at", "submit_feedback": "feedback_at"}
    if e.action in first:
        f.setdefault(first[e.action], e.at)
    if e.action == "dispatch":
        f.setdefault("first_unit_id", str(p.get("unit", "")))
    if _contacted(e):
        f.setdefault("first_contact_at", e.at)
    if e.action == "whistle_blow":
        f["whistles"] = f.get("whistles", 0) + 1
    if e.action in CALLBACK_ACTIONS:
        _note_callback(f, p)
    if e.to_status in CLOSING and e.from_status not in CLOSING:
        f["closed_at"] = e.at
    elif e.to_status not in CLOSING:
        f.pop("closed_at", None)  # reopened: not closed until it closes again


def _note_callback(f: dict[str, Any], p: dict[str, Any]) -> None:
    """The last callback counts (重办: the second rating is the one kept)."""
    f["callbacks"] = f.get("callbacks", 0) + 1
    f["satisfaction"] = str(p.get("rating", ""))
    resolved = p.get("resolved", RESOLVED_OF_OUTCOME.get(str(p.get("outcome", ""))))
    f["resolved"] = resolved if isinstance(resolved, bool) else None
    f["unreachable"] = p.get("unreachable") is True or p.get("outcome") == "unreachable"


def _contacted(e: EventLike) -> bool:
    """The citizen was reached: a contact event, or a callback that found them."""
    p = e.payload
    if e.action in CONTACT_ACTIONS or p.get("contacted") is True:
        return True
    return e.action in CALLBACK_ACTIONS and p.get("outcome") in RESOLVED_OF_OUTCOME


def _first_met(stages: Sequence[StageFact], stage: str) -> bool | None:
    return next((s.met for s in stages if s.stage == stage), None)


def _case_facts(walk: _Walk, events: Sequence[EventLike]) -> dict[str, Any]:
    stages, f = walk.stages, dict(walk.facts)
    closed = f.get("closed_at")
    handle = [s for s in stages if s.stage == "handle"]
    f["accept_met"] = _first_met(stages, "accept")
    f["feedback_met"] = _first_met(stages, "handle")
    f["closed_on_time"] = None if closed is None else not any(s.overdue for s in handle)
    received = f.get("received_at")
    if closed is not None and received is not None:
        f["handling_minutes"] = int((closed - received).total_seconds() // 60)
    for name in ("returns", "reworks", "extensions", "reminders", "escalations"):
        f[name] = sum(getattr(s, name) for s in stages)
    f["overdue"] = any(s.overdue for s in stages)
    f["voided"] = bool(events) and events[-1].to_status == Status.VOIDED.value
    return f


def dimensions(case: CaseLike) -> dict[str, Any]:
    """The columns measures group and filter by, from the case's row (or its snapshot)."""
    return {
        "district_id": case.district_id,
        "street_id": case.street_id,
        "unit_id": case.assigned_unit_id,
        "category": case.category,
        "channel": case.channel,
        "request_kind": case.request_kind,
        "location_path": case.location_path,
        "status": case.status,
        "direct_answer": case.direct_answer,
        "lat": case.lat,
        "lon": case.lon,
    }
