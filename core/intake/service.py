"""Intake from every channel: hotline, patrol, citizen, Open311 and sensors.

Every report gets its own ticket. It either opens a case or, as a duplicate of an open case
(减少重复派单), becomes a linked report of that case: counted, its reporter kept to be told
the result, nothing dispatched twice. A person decides on duplicates (the operator sees the
candidates); channels that cannot be asked merge only when one candidate is certain.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from temporalio.client import WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from core import access, metrics
from core.attachments import store as attachments
from core.cases.service import (
    INTAKE_ROLES,
    CaseError,
    CaseService,
    IntakeRequest,
    refusal,
    rpc_error,
)
from core.db import session_scope
from core.intake import consent, dedup
from core.logs import get_logger
from core.models import (
    AlarmStream,
    CaseRecord,
    Category,
    Device,
    IntakeKey,
    LinkedReportRecord,
    User,
)
from core.notify import contacts
from workflows import registry
from workflows.case.workflow import start_search_attributes
from workflows.contracts import (
    Actor,
    AlarmSignal,
    CaseInput,
    CaseState,
    LinkReport,
    Role,
    SplitReport,
)
from workflows.intake import reports
from workflows.shared import idempotency

log = get_logger(__name__)
CHANNEL_ROLES: dict[str, frozenset[Role]] = {
    "hotline": INTAKE_ROLES,
    "web": INTAKE_ROLES,
    "patrol": INTAKE_ROLES | {Role.GRID_WORKER},
    "citizen": frozenset({Role.PUBLIC}),
    "open311": frozenset({Role.PUBLIC}),
    "sensor": frozenset({Role.DEVICE}),
    "proactive": frozenset({Role.ADMIN}),  # 未诉先办: the system's scan (activities/proactive.py)
}
PUBLIC = Actor(username="public", name="市民", role=Role.PUBLIC, unit_id="")
# Updates a case takes from one alarm stream: Temporal allows 2,000 a run, people need some.
ALARM_UPDATE_BUDGET = 1000
MAX_TICKET = 80  # the read model's ticket column
UNMINTED = "-"  # the ticket of a report still being checked
MAX_CLOCK_SKEW = timedelta(minutes=5)  # an alarm "from the future" beyond this is refused


@dataclass
class IntakeResult:
    """What a reporter gets back: their own ticket, and the case it opened or joined."""

    ticket: str
    case: CaseState
    merged: bool
    tracking_token: str


class AlarmIn(BaseModel):
    """One sensor alarm as a device posts it."""

    device_id: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    alarm_type: str = Field(pattern=r"^[a-z0-9_]{1,32}$")
    value: float = Field(allow_inf_nan=False)  # JSON in the read model has no NaN
    at: datetime | None = Field(default=None, description="when measured; default: received")


@dataclass
class AlarmResult:
    ticket: str
    signal_count: int
    new_case: bool
    status: str


Queued = tuple[AlarmSignal, "asyncio.Future[AlarmResult]"]  # an alarm waiting for its stream


class IntakeService:
    def __init__(self, cases: CaseService) -> None:
        self.cases = cases
        self.settings, self.sessions, self.client = cases.settings, cases.sessions, cases.client
        self._stream_locks: defaultdict[tuple[str, str], asyncio.Lock] = defaultdict(asyncio.Lock)
        self._queued: defaultdict[tuple[str, str], list[Queued]] = defaultdict(list)

    # ---- reports from people and systems -------------------------------------------------
    @metrics.counted_intake
    async def submit(self, actor: Actor, req: IntakeRequest, *, key: str = "") -> IntakeResult:
        """Open a case for `req`, or link it to the open case it duplicates.

        `key`, the client's Idempotency-Key: a retry with it makes no second report, also
        after a crash between minting the ticket and starting the case.
        """
        if actor.role not in CHANNEL_ROLES.get(req.channel, frozenset()):
            raise CaseError(
                403, f"role {actor.role} may not report through {req.channel}", code="channel_role"
            )
        with session_scope(self.sessions) as session:
            known = _known_report(session, req.external_id)
        if known is not None:  # a retried submission of an external id
            report, case, token = known
            return IntakeResult(report, await self.cases.live_state(case), report != case, token)
        if req.merge_into:
            await self._check_merge_into(actor, req)
        try:
            inp, target = self._prepare(actor, req, key)
        except IntegrityError:  # the same key, sent twice at once: the other request claimed it
            inp, target = self._prepare(actor, req, key)
        log.info("report_received", channel=req.channel, category=req.category, merge=target)
        if target:
            merged = await self._link(actor, target, inp, auto=req.merge_into == "")
            if merged is not None:
                return IntakeResult(inp.ticket, merged, True, inp.tracking_token)
        state = await self.cases.start(inp, reuse=bool(key))
        return IntakeResult(inp.ticket, state, False, inp.tracking_token)

    async def _check_merge_into(self, actor: Actor, req: IntakeRequest) -> None:
        """A report is merged by hand only into a case its reporter may see (else 404, as for
        none) and only within its own district, which answers for both. Asked of the live
        case: the reporter may have just opened it, before the read model has it."""
        try:
            target = await self.cases.visible_state(actor, req.merge_into)
        except CaseError as err:
            raise CaseError(
                err.status, err.reason, "merge_into", code=err.code, params=err.params
            ) from None
        with session_scope(self.sessions) as session:
            here = self.cases.case_input(session, actor, req, ticket=UNMINTED).location
        if target.location.district_id != here.district_id:
            raise CaseError(
                422,
                f"case {req.merge_into} lies in another district: a report merges only into a "
                "case of its own district",
                "merge_into",
                code="merge_other_district",
            )

    def _prepare(self, actor: Actor, req: IntakeRequest, key: str) -> tuple[CaseInput, str]:
        """The report's input under its ticket, and the case it joins ("" for its own).

        Checked before a ticket is minted: a refused report leaves no gap in the serials.
        A claimed key brings back the ticket and decision of its first request.
        """
        with session_scope(self.sessions) as session:
            claim = _claimed_key(session, actor, req, key)
            inp = self.cases.case_input(session, actor, req, ticket=UNMINTED)
            _check_attachments(session, req.attachments)
            if claim is not None:
                inp = dataclasses.replace(inp, received_at=claim.received_at)
                target = "" if claim.case_ticket == claim.ticket else claim.case_ticket
                return self.cases.with_ticket(inp, claim.ticket), target
            target = self._merge_target(session, req, inp)
            inp = self.cases.with_ticket(inp, self.cases.ticket_for(session, req))
            consent.record(
                session, inp.ticket, channel=req.channel, publish=req.publish, by=actor.username
            )
            contacts.record(session, inp.ticket, req.reporter_email)
            if key:
                session.add(_key_row(actor, req, key, inp, target))
        return inp, target

    def duplicates(
        self, viewer: User, category: str, lat: float, lon: float, now: datetime | None = None
    ) -> list[dedup.Candidate]:
        """Open cases of `category` near the point, of those `viewer` may see."""
        with session_scope(self.sessions) as session:
            cat = session.get(Category, category)
            if cat is None:
                raise CaseError(
                    422, f"unknown category {category!r}", "category", code="unknown_category"
                )
            now = now or datetime.now(UTC)
            seen = access.case_clause(session, viewer)
            return dedup.candidates(session, cat, lat, lon, now, seen)

    def _merge_target(self, session: Session, req: IntakeRequest, inp: CaseInput) -> str:
        """The ticket to link the report to, or "" for a case of its own."""
        if req.merge_into:
            return req.merge_into  # checked before (_check_merge_into)
        loc = inp.location
        if req.duplicates == "new" or inp.direct_answer or loc.lat is None or loc.lon is None:
            return ""
        category = session.get(Category, inp.category)
        assert category is not None  # case_input checked it
        found = dedup.candidates(
            session, category, loc.lat, loc.lon, datetime.now(UTC), *_mergeable(session, inp)
        )
        own = f"EX-{req.external_id}"  # a concurrent copy of this very report is no duplicate
        found = [c for c in found if c.ticket != own]
        if req.duplicates == "ask" and found:
            raise CaseError(
                409,
                f"{len(found)} open case(s) of this category nearby may be the same event",
                "merge_into",
                {"candidates": [dataclasses.asdict(c) for c in found]},
                code="possible_duplicates",
                params={"count": len(found)},
            )
        certain = [c for c in found if c.distance_m <= self.settings.certain_duplicate_m]
        return certain[0].ticket if len(certain) == 1 else ""

    async def _link(
        self, actor: Actor, ticket: str, inp: CaseInput, *, auto: bool
    ) -> CaseState | None:
        """Link the report; None when an automatic merge found the case no longer open."""
        cmd = LinkReport(actor=actor, report=inp, auto=auto)
        handle = self.client.get_workflow_handle(registry.CITY_EVENT.workflow_id(ticket))
        try:
            state: CaseState = await handle.execute_update(
                "link_report", cmd, id=f"link-{inp.ticket}", result_type=CaseState
            )
            return state
        except (WorkflowUpdateFailedError, RPCError) as err:
            error = _case_error(err, ticket)
            # An automatic merge gives way only when the case is closed or gone; anything else
            # (a timeout) may have merged it already, and a second case would be a duplicate.
            if not auto or error.status not in (404, 409):
                raise error from None
            log.info("merge_fell_through", target=ticket, reason=error.reason)
            return None

    async def split(
        self, actor: Actor, case_ticket: str, report_ticket: str, reason: str
    ) -> CaseState:
        """Split a wrongly merged report back out: it becomes a case under its own ticket.

        The new case starts first and the merge is undone after: should either step fail, the
        report is still merged somewhere and splitting again finishes the job (the start finds
        the case it started).
        """
        state = await self.cases.visible_state(actor, case_ticket)
        cmd = SplitReport(actor=actor, ticket=report_ticket, reason=reason)
        refused = reports.check_split(state, cmd)  # the validator's own rule, asked first
        linked = reports.find(state, report_ticket)
        done = refused is not None and refused.kind == "conflict"  # split already: a retry
        if refused is not None and not done:
            raise CaseError.of(refused)
        assert linked is not None  # check_split refuses a report that is not linked
        case = await self.cases.start(self._report_input(linked.report), reuse=True)
        if not done:
            handle = self.client.get_workflow_handle(registry.CITY_EVENT.workflow_id(case_ticket))
            try:
                await handle.execute_update("split_report", cmd, result_type=CaseState)
            except (WorkflowUpdateFailedError, RPCError) as err:
                raise _case_error(err, case_ticket) from None
        return case

    def _report_input(self, kept: CaseInput) -> CaseInput:
        """A linked report as it starts on its own: the case keeps it masked and trimmed, the
        read model has it whole; the category's limits are today's."""
        with session_scope(self.sessions) as session:
            row = session.get(LinkedReportRecord, kept.ticket)
            category = session.get(Category, kept.category)
            policy = self.cases.policy(category) if category else kept.policy
        if row is None:  # not projected yet: the masked copy is all there is
            return dataclasses.replace(self.cases.with_ticket(kept, kept.ticket), policy=policy)
        return dataclasses.replace(
            kept,
            reporter_name=row.reporter_name,
            reporter_phone=row.reporter_phone,
            description=row.description,
            tracking_token=row.tracking_token,
            policy=policy,
        )

    # ---- sensors -------------------------------------------------------------------------
    async def receive_alarm(self, device: Device, alarm: AlarmIn) -> AlarmResult:
        """Join the alarm to its stream's open case, or open one (update-with-start)."""
        category = device.alarm_categories.get(alarm.alarm_type)
        if category is None:
            raise CaseError(
                422,
                f"device {device.id} has no alarm type {alarm.alarm_type!r}",
                "alarm_type",
                code="unknown_alarm_type",
            )
        now = datetime.now(UTC)
        at = alarm.at or now
        if at.tzinfo is None:
            raise CaseError(422, "at needs a timezone", "at", code="timezone_needed")
        if at > now + MAX_CLOCK_SKEW:
            raise CaseError(422, "at lies in the future", "at", code="time_in_future")
        return await self._group_commit(
            device, category, AlarmSignal(device.id, alarm.alarm_type, alarm.value, at)
        )

    async def _group_commit(
        self, device: Device, category: str, signal: AlarmSignal
    ) -> AlarmResult:
        """Send a stream's alarms one update at a time, the ones that queued meanwhile as one.

        Temporal bounds the updates in flight per workflow (10) and the updates of a run
        (2,000): a storm of 500 alarms becomes a handful of updates, each counting its alarms.
        """
        key = (device.id, signal.alarm_type)
        mine: asyncio.Future[AlarmResult] = asyncio.get_running_loop().create_future()
        self._queued[key].append((signal, mine))
        async with self._stream_locks[key]:
            if mine.done():
                return mine.result()  # an earlier sender took it along
            batch, self._queued[key] = self._queued[key], []
            try:
                result = await self._settle_alarm(device, category, _merged(batch))
            except Exception as err:
                for _, waiting in batch:
                    if waiting is not mine:
                        waiting.set_exception(err)
                raise
            for _, waiting in batch:
                if waiting is not mine:
                    waiting.set_result(result)
            return result

    async def _settle_alarm(
        self, device: Device, category: str, signal: AlarmSignal
    ) -> AlarmResult:
        stale, at = "", signal.at
        for _ in range(3):
            ticket = self._stream_ticket(device, signal.alarm_type, category, at, stale=stale)
            counted = self._count_only(device.id, signal, ticket)
            if counted is not None:
                return counted
            try:
                state = await self._alarm_update(device, category, ticket, signal)
            except _CaseClosed:
                stale = ticket  # the stream's case has closed: the next alarm opens another
                continue
            self._touch_stream(device.id, signal, ticket, forwarded=True)
            new_case = state.signal_count == signal.count
            return AlarmResult(ticket, state.signal_count, new_case, state.status.value)
        raise CaseError(503, "could not settle the alarm's case; try again", code="unavailable")

    def _count_only(self, device_id: str, signal: AlarmSignal, ticket: str) -> AlarmResult | None:
        """Past its budget of updates a case takes alarms in the stream's count only, so the
        updates people need stay free; None while the budget lasts (or the case has closed)."""
        with session_scope(self.sessions) as session:
            row = session.get(AlarmStream, (device_id, signal.alarm_type))
            case = session.exec(select(CaseRecord).where(CaseRecord.ticket == ticket)).first()
        if row is None or row.forwarded < ALARM_UPDATE_BUDGET or case is None:
            return None
        if case.status not in {s.value for s in reports.JOINABLE}:
            return None  # closed: the update is refused and the stream moves on
        count = self._touch_stream(device_id, signal, ticket, forwarded=False)
        return AlarmResult(ticket, count, False, case.status)

    def _stream_ticket(
        self, device: Device, alarm_type: str, category: str, at: datetime, *, stale: str
    ) -> str:
        """The ticket the alarm joins: the stream's while it is fresh, else a new one.

        Concurrent alarms agree without a lock: a new ticket is set by compare-and-set on the
        stream's generation, and everyone then sends to the same workflow id.
        """
        window = timedelta(minutes=self.settings.alarm_window_minutes)
        with session_scope(self.sessions) as session:
            row = _stream(session, device.id, alarm_type)
            fresh = row.ticket and row.ticket != stale and row.last_at is not None
            if fresh and row.last_at is not None and at - row.last_at <= window:
                return row.ticket
            ticket = self._certain_duplicate(
                session, device, category, stale=stale
            ) or self._sensor_ticket(device.id, alarm_type, row.generation + 1)
            moved = session.execute(
                update(AlarmStream)
                .where(
                    col(AlarmStream.device_id) == device.id,
                    col(AlarmStream.alarm_type) == alarm_type,
                    col(AlarmStream.generation) == row.generation,
                )
                .values(generation=row.generation + 1, ticket=ticket, last_at=at, forwarded=0)
            )
            if moved.rowcount == 1:  # type: ignore[attr-defined]
                return ticket
        with session_scope(self.sessions) as session:  # another alarm moved it first
            return _stream(session, device.id, alarm_type).ticket

    def _sensor_ticket(self, device_id: str, alarm_type: str, generation: int) -> str:
        """CL-SN-wl-gl-nhl-01-water_level-3; a long device id and type are hashed to fit."""
        stream = f"{device_id}-{alarm_type}"
        ticket = f"{self.settings.ticket_prefix}-SN-{stream}-{generation}"
        if len(ticket) <= MAX_TICKET:
            return ticket
        digest = hashlib.sha1(stream.encode()).hexdigest()[:16]
        return f"{self.settings.ticket_prefix}-SN-{digest}-{generation}"

    def _certain_duplicate(
        self, session: Session, device: Device, category: str, *, stale: str
    ) -> str:
        """An open case of the category at the device's very spot (another report of it);
        never `stale`, the case that just refused an alarm as closed (its row may lag)."""
        cat = session.get(Category, category)
        if cat is None:
            return ""
        near = dedup.candidates(session, cat, device.lat, device.lon, datetime.now(UTC))
        certain = [
            c
            for c in near
            if c.distance_m <= self.settings.certain_duplicate_m and c.ticket != stale
        ]
        return certain[0].ticket if len(certain) == 1 else ""

    async def _alarm_update(
        self, device: Device, category: str, ticket: str, signal: AlarmSignal
    ) -> CaseState:
        with session_scope(self.sessions) as session:
            inp = self.cases.case_input(
                session,
                _device_actor(device),
                _alarm_request(device, category, signal),
                ticket=ticket,
                triage_outside=True,
            )
        op = WithStartWorkflowOperation(
            registry.CITY_EVENT.workflow.run,  # type: ignore[attr-defined]
            inp,
            id=registry.CITY_EVENT.workflow_id(ticket),
            task_queue=self.settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=start_search_attributes(inp),
        )
        try:
            return await self._send_alarm(op, signal)
        except WorkflowAlreadyStartedError:
            raise _CaseClosed() from None  # finished and archived
        except WorkflowUpdateFailedError as err:
            if _kind(err) == "conflict":
                raise _CaseClosed() from None
            raise _case_error(err, ticket) from None
        except RPCError as err:
            raise _case_error(err, ticket) from None

    async def _send_alarm(self, op: WithStartWorkflowOperation, signal: AlarmSignal) -> CaseState:
        """Send, backing off while the case has too many updates in flight (other processes)."""
        for attempt in range(6):
            try:
                state: CaseState = await self.client.execute_update_with_start_workflow(
                    "record_alarm",
                    signal,
                    start_workflow_operation=op,
                    result_type=CaseState,
                    rpc_timeout=timedelta(seconds=self.settings.intake_wait_seconds),
                )
                return state
            except RPCError as err:
                if err.status != RPCStatusCode.RESOURCE_EXHAUSTED or attempt == 5:
                    raise
                await asyncio.sleep(0.05 * 2**attempt)
        raise AssertionError("unreachable")

    def _touch_stream(
        self, device_id: str, signal: AlarmSignal, ticket: str, *, forwarded: bool
    ) -> int:
        """Count the alarms on the stream; return its count."""
        with session_scope(self.sessions) as session:
            row = session.get(AlarmStream, (device_id, signal.alarm_type))
            if row is None or row.ticket != ticket:
                return signal.count
            row.count += signal.count
            row.forwarded += int(forwarded)
            if row.last_at is None or signal.at > row.last_at:
                row.last_at = signal.at
            session.add(row)
            return row.count


class _CaseClosed(Exception):
    """The stream's case takes no more alarms."""


def _stream(session: Session, device_id: str, alarm_type: str) -> AlarmStream:
    row = session.get(AlarmStream, (device_id, alarm_type))
    if row is not None:
        return row
    try:
        with session.begin_nested():
            session.add(AlarmStream(device_id=device_id, alarm_type=alarm_type))
    except IntegrityError:
        pass  # another alarm created it first
    row = session.get(AlarmStream, (device_id, alarm_type))
    assert row is not None
    return row


def _merged(batch: list[Queued]) -> AlarmSignal:
    """One signal for a burst: the latest measurement, counting them all."""
    latest = max((signal for signal, _ in batch), key=lambda s: s.at)
    return dataclasses.replace(latest, count=sum(signal.count for signal, _ in batch))


def _device_actor(device: Device) -> Actor:
    return Actor(username=f"device:{device.id}", name=device.name, role=Role.DEVICE, unit_id="")


def _alarm_request(device: Device, category: str, signal: AlarmSignal) -> IntakeRequest:
    return IntakeRequest(
        title=f"{device.name}告警",
        description=f"设备 {device.id} 报警：{signal.alarm_type} = {signal.value:g}",
        category=category,
        lat=device.lat,
        lon=device.lon,
        address=device.address,
        channel="sensor",
    )


def _known_report(session: Session, external_id: str) -> tuple[str, str, str] | None:
    """(report ticket, case ticket, tracking token) of an external id seen before, if any."""
    if not external_id:
        return None
    ticket = f"EX-{external_id}"
    linked = session.get(LinkedReportRecord, ticket)
    if linked is not None and linked.split_at is None:
        return ticket, linked.case_ticket, linked.tracking_token
    case = session.exec(select(CaseRecord).where(CaseRecord.ticket == ticket)).first()
    return (ticket, ticket, case.tracking_token) if case else None


def _key_scope(actor: Actor) -> str:
    return f"{actor.role}:{actor.username}"


def _claimed_key(session: Session, actor: Actor, req: IntakeRequest, key: str) -> IntakeKey | None:
    """The first request's record of this key, or None; another body under it is refused."""
    if not key:
        return None
    row = session.get(IntakeKey, (_key_scope(actor), key))
    if row is not None and row.fingerprint != _fingerprint(req):
        raise CaseError(
            422,
            "this Idempotency-Key was sent before with another report",
            "Idempotency-Key",
            code="key_reused",
        )
    return row


def _key_row(actor: Actor, req: IntakeRequest, key: str, inp: CaseInput, target: str) -> IntakeKey:
    assert inp.received_at is not None  # case_input sets it
    return IntakeKey(
        scope=_key_scope(actor),
        key=key,
        fingerprint=_fingerprint(req),
        ticket=inp.ticket,
        case_ticket=target or inp.ticket,
        received_at=inp.received_at,
        created_at=datetime.now(UTC),
    )


def _fingerprint(req: IntakeRequest) -> str:
    return idempotency.fingerprint("intake", req.model_dump(mode="json"))


def _mergeable(session: Session, inp: CaseInput) -> list[ColumnElement[bool]]:
    """Which cases a report may join: of its own district, and — for staff, who are shown the
    candidates and merge by hand — those its reporter may see. Channels that cannot be asked
    (citizens, sensors) merge automatically into a certain duplicate and are shown nothing."""
    where = [col(CaseRecord.district_id) == inp.location.district_id]
    if access.is_staff(inp.reporter):
        where.append(access.case_clause(session, inp.reporter))
    return where


def _check_attachments(session: Session, shas: list[str]) -> None:
    missing = attachments.missing(session, shas)
    if missing:
        raise CaseError(
            422,
            f"unknown attachment {missing[0]}: upload it first",
            "attachments",
            code="attachment_missing",
        )


def _kind(err: WorkflowUpdateFailedError) -> str:
    cause: Any = err.cause
    return str(getattr(cause, "type", "") or "")


def _case_error(err: WorkflowUpdateFailedError | RPCError, ticket: str) -> CaseError:
    if isinstance(err, WorkflowUpdateFailedError):
        return refusal(err)
    return rpc_error(err, ticket)


def suggest_categories(session: Session, text: str, limit: int = 3) -> list[tuple[Category, int]]:
    """Categories whose keywords occur in `text`, most hits first; the operator confirms."""
    scored = []
    for category in session.exec(select(Category)):
        words = [w.strip() for w in category.keywords.split(",") if w.strip()]
        hits = sum(text.count(w) for w in words)
        if hits:
            scored.append((category, hits))
    scored.sort(key=lambda pair: (-pair[1], pair[0].key))
    return scored[:limit]
