"""The audit trail's hash chain (article 21): each event holds its predecessor's hash.

An event's hash covers its own content and the previous event's hash, so editing, removing or
inserting a stored row breaks every link after it. `verify` walks a timeline and names the
first broken link.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby
from typing import Any, Protocol

from sqlmodel import Session, col, select

from core.models import CaseEventRecord, CaseRecord, WhistleRecord
from workflows.contracts import CaseEvent

GENESIS = ""  # the "previous hash" of a timeline's first event


class EventContent(Protocol):
    """What the hash covers: the columns of `case_events` a person is held to account by."""

    case_id: str
    seq: int
    at: datetime
    action: str
    actor_username: str
    actor_name: str
    actor_role: str
    actor_unit_id: str
    from_status: str
    to_status: str
    reason: str
    payload: dict[str, Any]


def event_columns(e: CaseEvent) -> dict[str, Any]:
    """A workflow's event as the columns of its row (and the API's `EventOut`), but its case
    and seq: the one flat form of `CaseEvent`, the actor spread into four columns."""
    return {
        "at": e.at,
        "action": e.action,
        "actor_username": e.actor.username,
        "actor_name": e.actor.name,
        "actor_role": e.actor.role,
        "actor_unit_id": e.actor.unit_id,
        "from_status": e.from_status,
        "to_status": e.to_status,
        "reason": e.reason,
        "payload": dict(e.payload),
    }


def event_hash(prev_hash: str, event: EventContent) -> str:
    """SHA-256 over the previous hash and the event's canonical JSON."""
    content = {
        "case_id": event.case_id,
        "seq": event.seq,
        # Microseconds in UTC: both databases keep them, so a re-read hashes the same.
        "at": event.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "action": event.action,
        "actor": [event.actor_username, event.actor_name, event.actor_role, event.actor_unit_id],
        "from": event.from_status,
        "to": event.to_status,
        "reason": event.reason,
        "payload": event.payload,
    }
    canonical = json.dumps(
        content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )
    return hashlib.sha256((prev_hash + canonical).encode()).hexdigest()


class ChainedEvent(EventContent, Protocol):
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class BrokenLink:
    case_id: str
    seq: int
    # "content": the row was edited; "link": a row before it changed or went; "missing": a
    # seq is absent (removed rows, or a tail cut short of the case's last event).
    problem: str


def verify(events: Iterable[ChainedEvent]) -> BrokenLink | None:
    """The first broken link of one timeline (events in seq order), or None if it holds."""
    prev = GENESIS
    for e in events:
        if e.prev_hash != prev:
            return BrokenLink(e.case_id, e.seq, "link")
        if event_hash(prev, e) != e.hash:
            return BrokenLink(e.case_id, e.seq, "content")
        prev = e.hash
    return None


def chain(prev_hash: str, events: Iterable[ChainedEvent]) -> Iterator[ChainedEvent]:
    """Set `prev_hash` and `hash` on `events` (seq order), continuing from `prev_hash`."""
    for e in events:
        e.prev_hash = prev_hash
        e.hash = prev_hash = event_hash(prev_hash, e)
        yield e


def verify_stored(session: Session, ticket: str = "") -> tuple[int, list[BrokenLink]]:
    """Check every stored timeline (or `ticket`'s case and its whistles): the chain holds and
    nothing is missing from its start or its end (the case row's last seq).

    Returns how many timelines were checked and the first broken link of each broken one.
    """
    last = {r.id: r.last_seq for r in session.exec(select(CaseRecord))}
    last.update({r.id: r.last_seq for r in session.exec(select(WhistleRecord))})
    query = select(CaseEventRecord).order_by(col(CaseEventRecord.case_id), col(CaseEventRecord.seq))
    if ticket:
        query = query.where(col(CaseEventRecord.case_id).in_(_timelines_of(session, ticket)))
    checked, broken = 0, []
    for case_id, rows in groupby(session.exec(query), key=lambda r: r.case_id):
        checked += 1
        found = _check_timeline(case_id, list(rows), last.get(case_id))
        if found is not None:
            broken.append(found)
    return checked, broken


def _timelines_of(session: Session, ticket: str) -> list[str]:
    case = session.exec(select(CaseRecord).where(CaseRecord.ticket == ticket)).first()
    if case is None:
        return []
    whistles = session.exec(select(WhistleRecord.id).where(WhistleRecord.case_id == case.id))
    return [case.id, *whistles]


def _check_timeline(
    case_id: str, rows: list[ChainedEvent], last_seq: int | None
) -> BrokenLink | None:
    for expected, row in enumerate(rows, start=1):
        if row.seq != expected:
            return BrokenLink(case_id, expected, "missing")
    broken = verify(rows)
    if broken is None and last_seq is not None and len(rows) < last_seq:
        return BrokenLink(case_id, len(rows) + 1, "missing")
    return broken
