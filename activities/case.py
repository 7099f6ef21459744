"""Activities of the case workflow: the SQL projection and routing (派单).

Dependencies arrive through the class; nothing happens at import time.
"""

from __future__ import annotations

from sqlmodel import Session, select
from temporalio import activity

from activities.projection import Projector, project_row
from core import metrics
from core.attachments.store import is_sha256
from core.db import session_scope
from core.directory.org import as_unit, supervisors_of
from core.directory.release import release_for_case
from core.measures import store as facts
from core.models import (
    CaseAttachment,
    CaseRecord,
    Category,
    LinkedReportRecord,
    WhistleRecord,
)
from core.models import Unit as UnitRow
from core.notify import outbox
from core.routing import overrides
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


class CaseActivities(Projector):
    @activity.defn
    async def record_events(self, inp: RecordEventsInput) -> int:
        """Project the case: its events and row as the workflow recorded them.

        Returns how many events were new. A retry, or an attempt that outlived its timeout,
        converges to the same rows (activities/projection.py).
        """
        new = await self._on_writers(self.write_case, inp)
        metrics.projection_lag(inp.events)
        activity.logger.info(
            "case_projected", extra={"ticket": inp.case.ticket, "seq": inp.case.last_seq}
        )
        return new

    def write_case(self, inp: RecordEventsInput) -> int:
        case = inp.case
        with session_scope(self._sessions) as session:
            new = project_row(session, CaseRecord, case, inp.events, title=case.title)
            if new is None:
                return 0
            facts.rewrite(session, case.id, case)  # stage facts for the measures (issue 13)
            _record_whistle_ratings(session, inp.events)
            _record_attachments(session, case.id, inp.events)
            _upsert_linked_reports(session, case, inp.reports)
            outbox.plan(session, case, inp.events)  # e-mail and SMS, with the events
            if case.status not in HANDLING:
                release_for_case(session, case.id, case.status, case.updated_at)
        return new

    @activity.defn
    def route_case(self, inp: RouteInput) -> RouteResult:
        """Decide the responsible unit: a supervisor's override first, then 部件 owner first,
        事件 locality first, else the district."""
        with session_scope(self._sessions) as session:
            category = session.get(Category, inp.category)
            owner = _owner_unit(session, category, inp.location.district_id)
            street = (
                session.get(UnitRow, inp.location.street_id) if inp.location.street_id else None
            )
            district = session.get(UnitRow, inp.location.district_id)
            unit, rule = _decide(category, owner, street, district)
            learned = _learned(session, inp)
            if learned is not None:
                unit, rule = as_unit(learned), "learned_override"
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


def _learned(session: Session, inp: RouteInput) -> UnitRow | None:
    """The unit a supervisor's routing override names for the case (core/routing/overrides.py)."""
    unit_id = overrides.for_case(
        session, inp.category, inp.location.street_id, inp.location.district_id
    )
    return session.get(UnitRow, unit_id) if unit_id else None


def _owner_unit(session: Session, category: Category | None, district_id: str) -> UnitRow | None:
    """The owning department's bureau in the case's district, if the category names one."""
    if category is None or not category.owner_dept or not district_id:
        return None
    query = select(UnitRow).where(
        UnitRow.parent_id == district_id, UnitRow.dept_type == category.owner_dept
    )
    return session.exec(query).first()


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
