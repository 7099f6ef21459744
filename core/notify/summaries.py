"""What a supervision event did, in one Chinese line, read from the stored audit trail: the
detail of a staff notification, and the reason an inbox item shows when its event has none
of its own (a reminder or an escalation is the system's, with no typed reason)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlmodel import Session, col, select

from core.models import CaseEventRecord, Unit
from core.notify.messages import describe


def summaries(session: Session, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], str]:
    """(timeline id, seq) -> the line, for those of `keys` whose event says something."""
    wanted = set(keys)
    if not wanted:
        return {}
    query = select(CaseEventRecord).where(
        col(CaseEventRecord.case_id).in_({k[0] for k in wanted}),
        col(CaseEventRecord.seq).in_({k[1] for k in wanted}),
    )
    events = [e for e in session.exec(query) if (e.case_id, e.seq) in wanted]
    names = unit_names(session, [e.payload for e in events])
    found = {(e.case_id, e.seq): describe(e.action, e.payload, names) for e in events}
    return {key: line for key, line in found.items() if line}


def unit_names(session: Session, payloads: Iterable[Mapping[str, object]]) -> dict[str, str]:
    """Names of the units the payloads mention (`unit`, and the `notify` list)."""
    ids: set[str] = set()
    for payload in payloads:
        notify = payload.get("notify")
        ids.update(str(u) for u in (notify if isinstance(notify, list) else []))
        ids.add(str(payload.get("unit", "")))
    ids.discard("")
    if not ids:
        return {}
    return {u.id: u.name for u in session.exec(select(Unit).where(col(Unit.id).in_(ids)))}
