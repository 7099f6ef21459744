"""Activities of the case workflow: the SQL projection and routing (派单).

Dependencies arrive through the class; nothing happens at import time.
"""

from __future__ import annotations

import dataclasses

from sqlmodel import Session, select
from temporalio import activity

from core import metrics
from core.attachments import is_sha256
from core.db import SessionFactory, session_scope
from core.directory import release_for_case
from core.models import (
    CaseAttachment,
    CaseEventRecord,
    CaseRecord,
    Category,
    InboxItem,
    LinkedReportRecord,
    WhistleRecord,
)
from core.models import Unit as UnitRow
from core.org import as_unit, supervisors_of
from workflows.contracts import (
    CaseEvent,
    CaseSnapshot,
    LinkedReport,
    RecordEventsInput,
    RouteInput,
    RouteResult,
    Unit,
)

# Allocated teams and equipment are released when the case leaves these (handling) states.
HANDLING = frozenset({"ACCEPTED", "HANDLING", "REWORK", "PARKED"})


class CaseActivities:
    def __init__(self, session_factory: SessionFactory) -> None:
        self._sessions = session_factory

    @activity.defn
    def record_events(self, inp: RecordEventsInput) -> int:
        """Write events and the case snapshot, idempotently by (case, sequence).

        Returns how many events were new. A retry after a partial or lost write repairs it.
        """
        # Should a concurrent attempt of this activity win the race, the unique (case, seq) key
        # fails this one and its retry finds the rows written.
        with session_scope(self._sessions) as session:
            case = inp.case
            new = insert_missing_events(session, case.id, case.ticket, case.title, inp.events)
            _upsert_case(session, case)
            _record_whistle_ratings(session, inp.events)
            _record_attachments(session, case.id, inp.events)
            _upsert_linked_reports(session, case, inp.reports)
            if case.status not in HANDLING:
                release_for_case(session, case.id, case.status, case.updated_at)
        metrics.projection_lag(inp.events)
        activity.logger.info(
            "case_projected", extra={"ticket": inp.case.ticket, "seq": inp.case.last_seq}
        )
        return new

    @activity.defn
    def route_case(self, inp: RouteInput) -> RouteResult:
        """Decide the responsible unit: 部件 owner first, 事件 locality first, else district."""
        with session_scope(self._sessions) as session:
            category = session.get(Category, inp.category)
            owner = _owner_unit(session, category, inp.location.district_id)
            street = (
                session.get(UnitRow, inp.location.street_id) if inp.location.street_id else None
            )
            district = session.get(UnitRow, inp.location.district_id)
            unit, rule = _decide(category, owner, street, district)
            chain = supervisors_of(session, unit.id) if unit else []
        return RouteResult(unit=unit, rule=rule, chain=chain)


def _decide(
    category: Category | None,
    owner: UnitRow | None,
    street: UnitRow | None,
    district: UnitRow | None,
) -> tuple[Unit | None, str]:
    if category is not None and category.kind == "component" and owner is not None:
        return as_unit(owner), "owner_first"
    if street is not None:
        return as_unit(street), "locality_first"
    if owner is not None:
        return as_unit(owner), "owner_after_locality"
    if district is not None:
        return as_unit(district), "district_fallback"
    return None, "no_rule_manual_dispatch"


def _owner_unit(session: Session, category: Category | None, district_id: str) -> UnitRow | None:
    """The owning department's bureau in the case's district, if the category names one."""
    if category is None or not category.owner_dept or not district_id:
        return None
    query = select(UnitRow).where(
        UnitRow.parent_id == district_id, UnitRow.dept_type == category.owner_dept
    )
    return session.exec(query).first()


def insert_missing_events(
    session: Session, case_id: str, ticket: str, title: str, events: list[CaseEvent]
) -> int:
    """Insert the events not yet stored, and the inbox items the new ones address.

    `case_id` is the workflow id: a case's, or a whistle's (its own timeline).
    """
    seqs = [e.seq for e in events]
    existing = set(
        session.exec(
            select(CaseEventRecord.seq).where(
                CaseEventRecord.case_id == case_id,
                CaseEventRecord.seq.in_(seqs),  # type: ignore[attr-defined]
            )
        )
    )
    new = [e for e in events if e.seq not in existing]
    session.add_all(_event_row(case_id, e) for e in new)
    session.add_all(
        InboxItem(
            unit_id=unit_id,
            case_id=case_id,
            ticket=ticket,
            title=title,
            seq=e.seq,
            kind=e.action,
            reason=e.reason,
            created_at=e.at,
        )
        for e in new
        for unit_id in e.payload.get("notify", [])
    )
    return len(new)


def _event_row(case_id: str, e: CaseEvent) -> CaseEventRecord:
    return CaseEventRecord(
        case_id=case_id,
        seq=e.seq,
        at=e.at,
        action=e.action,
        actor_username=e.actor.username,
        actor_name=e.actor.name,
        actor_role=e.actor.role,
        actor_unit_id=e.actor.unit_id,
        from_status=e.from_status,
        to_status=e.to_status,
        reason=e.reason,
        payload=dict(e.payload),
    )


def _upsert_case(session: Session, snap: CaseSnapshot) -> None:
    row = session.get(CaseRecord, snap.id)
    if row is not None and row.last_seq >= snap.last_seq:
        return  # an older snapshot arriving late must not overwrite a newer one
    values = dataclasses.asdict(snap)
    if row is None:
        session.add(CaseRecord(**values))
    else:
        for key, value in values.items():
            setattr(row, key, value)


def _record_whistle_ratings(session: Session, events: list[CaseEvent]) -> None:
    """A case's `whistle_rate` events carry the whistle-blower's rating to the whistle's row.

    Setting the same values again is harmless, so a retried batch repairs rather than
    duplicates; a row the whistle has not projected yet is created and filled in by it later.
    """
    for e in events:
        if e.action != "whistle_rate":
            continue
        whistle_id = str(e.payload.get("whistle_id", ""))
        row = session.get(WhistleRecord, whistle_id) or WhistleRecord(id=whistle_id)
        row.rating = int(e.payload.get("score", 0))
        row.rating_note = str(e.payload.get("note", ""))
        row.rated_at = e.at
        session.add(row)


def _record_attachments(session: Session, case_id: str, events: list[CaseEvent]) -> None:
    """Link the files an event brought (intake photos, evidence, progress photos)."""
    known = set(
        session.exec(select(CaseAttachment.sha256).where(CaseAttachment.case_id == case_id))
    )
    for e in events:
        for sha in [*e.payload.get("attachments", []), *e.payload.get("evidence", [])]:
            if sha in known or not is_sha256(sha):
                continue  # evidence may also be a file name typed by hand
            known.add(sha)
            session.add(
                CaseAttachment(
                    case_id=case_id, sha256=sha, seq=e.seq, added_by=e.actor.username, added_at=e.at
                )
            )


def _upsert_linked_reports(
    session: Session, case: CaseSnapshot, reports: list[LinkedReport]
) -> None:
    for linked in reports:
        r = linked.report
        row = session.get(LinkedReportRecord, r.ticket) or LinkedReportRecord(
            ticket=r.ticket,
            case_id=case.id,
            case_ticket=case.ticket,
            channel=r.channel,
            title=r.title,
            linked_at=linked.linked_at,
        )
        row.description, row.address = r.description, r.location.address
        row.request_kind = r.request_kind
        row.reporter_name, row.reporter_phone = r.reporter_name, r.reporter_phone
        row.taken_by, row.tracking_token = r.reporter.username, r.tracking_token
        row.lat, row.lon, row.linked_by = r.location.lat, r.location.lon, linked.linked_by.username
        row.split_at, row.split_by, row.split_reason = (
            linked.split_at,
            linked.split_by,
            linked.split_reason,
        )
        session.add(row)
