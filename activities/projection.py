"""The projection: SQL timelines converge to what the workflows durably recorded.

Workflows project through ordinary activities, which Temporal schedules only once the workflow
task that made the events is recorded: an event that never happened cannot reach SQL. Every
write then makes the stored timeline equal the workflow's own — rows overwritten by (workflow,
seq) with the workflow's content, nothing kept past its last event — so a retried, repeated or
late attempt converges instead of piling up, and each row is chained to the one before it
(core/cases/audit.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import Any, TypeVar

from sqlalchemy import delete
from sqlmodel import Session, col, select

from core.cases import audit
from core.db import SessionFactory
from core.models import CaseEventRecord, InboxItem, Notification
from workflows.contracts import CaseEvent

Batch = TypeVar("Batch")


class Projector:
    """What the activities of each type's projection share: the read model's sessions and
    the threads their writes wait on."""

    def __init__(self, session_factory: SessionFactory, writers: Executor | None = None) -> None:
        self._sessions = session_factory
        # Projection writes wait on threads of their own: a locked or absent database delays
        # the read model only, never routing or the other activities.
        self._writers = writers or projection_writers()

    async def _on_writers(self, write: Callable[[Batch], int], batch: Batch) -> int:
        """`write(batch)` on the projection's threads; how many events were new."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writers, write, batch)


def project_row(
    session: Session, model: type[Any], snap: Any, events: list[CaseEvent], *, title: str
) -> int | None:
    """Write a workflow's timeline and its row (`model`, keyed by the snapshot's id) as the
    workflow recorded them; how many events were new, or None for a stale batch.

    The row is locked first, so batches of one workflow write one at a time; it then becomes
    the snapshot: the workflow's copy wins. `title` heads the inbox items the events address.
    """
    row = session.get(model, snap.id, with_for_update=True)
    if is_stale(row.last_seq if row else None, snap.last_seq):
        return None
    new = project_timeline(
        session, snap.id, events, last_seq=snap.last_seq, inbox=(snap.ticket, title)
    )
    values = dataclasses.asdict(snap)
    if row is None:
        session.add(model(**values))
    else:
        for key, value in values.items():
            setattr(row, key, value)
    return new


def project_timeline(
    session: Session,
    workflow_id: str,
    events: list[CaseEvent],
    *,
    last_seq: int,
    inbox: tuple[str, str],
) -> int:
    """Make the stored timeline of `workflow_id` hold `events` as recorded, and nothing past
    `last_seq`; return how many events were new.

    `workflow_id` is a case's or a whistle's (its own timeline); `inbox` is the (ticket, title)
    of the inbox items the events' `notify` addresses.
    """
    first = min((e.seq for e in events), default=last_seq + 1)
    query = select(CaseEventRecord).where(
        CaseEventRecord.case_id == workflow_id, col(CaseEventRecord.seq) >= first - 1
    )
    stored = {row.seq: row for row in session.exec(query)}
    prev = stored.pop(first - 1, None)
    rows, new = _overwrite(session, workflow_id, events, stored)
    _drop_past(session, workflow_id, last_seq)
    list(audit.chain(prev.hash if prev else audit.GENESIS, rows))
    session.flush()
    _sync_inbox(session, workflow_id, events, inbox)
    return new


def _overwrite(
    session: Session, workflow_id: str, events: list[CaseEvent], stored: dict[int, Any]
) -> tuple[list[CaseEventRecord], int]:
    rows, new = [], 0
    for e in sorted(events, key=lambda e: e.seq):
        values, row = audit.event_columns(e), stored.get(e.seq)
        if row is None:
            row, new = CaseEventRecord(case_id=workflow_id, seq=e.seq, **values), new + 1
        else:
            for name, value in values.items():
                setattr(row, name, value)
        session.add(row)
        rows.append(row)
    return rows, new


def _drop_past(session: Session, workflow_id: str, last_seq: int) -> None:
    """Nothing is kept past the workflow's last event (a reset went back before it)."""
    for table in (CaseEventRecord, InboxItem, Notification):
        session.execute(
            delete(table).where(col(table.case_id) == workflow_id, col(table.seq) > last_seq)
        )


def _sync_inbox(
    session: Session, workflow_id: str, events: list[CaseEvent], inbox: tuple[str, str]
) -> None:
    """The inbox items the events address, each once; read marks survive a rewrite."""
    ticket, title = inbox
    query = select(InboxItem).where(
        InboxItem.case_id == workflow_id, col(InboxItem.seq).in_([e.seq for e in events])
    )
    have = {(item.seq, item.unit_id): item for item in session.exec(query)}
    wanted = {(e.seq, unit_id): e for e in events for unit_id in e.payload.get("notify", [])}
    for key, item in have.items():
        if key not in wanted:
            session.delete(item)
    session.add_all(
        InboxItem(
            unit_id=unit_id,
            case_id=workflow_id,
            ticket=ticket,
            title=title,
            seq=seq,
            kind=e.action,
            reason=e.reason,
            created_at=e.at,
        )
        for (seq, unit_id), e in sorted(wanted.items(), key=lambda kv: kv[0])
        if (seq, unit_id) not in have
    )


def is_stale(stored_last_seq: int | None, last_seq: int) -> bool:
    """A batch older than what is stored: a late attempt whose successor already landed.

    Within one run batches are written in order, each waiting for the one before, so only an
    attempt that outlived its timeout can arrive after a newer one.
    """
    return stored_last_seq is not None and stored_last_seq > last_seq


def projection_writers(threads: int = 4) -> ThreadPoolExecutor:
    """The threads projection writes run on, apart from the worker's activity pool."""
    return ThreadPoolExecutor(max_workers=threads, thread_name_prefix="projection")
