"""The audit: every case workflow's own timeline and state against the SQL read model, and the
client's intentions against the workflows, counted.

The workflow is the source of truth. Its `get_timeline` and `get_state` queries say what it
durably recorded; `case_events` and `cases` must hold exactly that: the same seqs, and for
each the same action, actor, statuses, reason, payload and timestamp (equal, not close).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from sqlmodel import col, select
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from core.db import make_engine, session_factory, session_scope
from core.models import CaseEventRecord, CaseRecord
from tests.faults.client import NO_RETRY_AFTER, ApiClient
from tests.faults.workload import Intent
from workflows import registry
from workflows.case.clock import StageClock
from workflows.contracts import TERMINAL, CaseEvent, CasePolicy, CaseState, Status
from workflows.shared.workcal import WorkCalendar

QUERY_CONCURRENCY = 16
STABLE_FOR = 20.0  # seconds a projection gap may stay unchanged, activities idle, before it counts
SETTLE_POLL = 1.0
EXAMPLES_PER_COUNT = 3
# The workflow's own rule for its next alarm; next_alarm reads only the clock.
ALARMS = StageClock(CasePolicy(), WorkCalendar(), supervised=True)


# The counts that differ while the projection catches up; 0 once it has.
PROJECTION_COUNTS = (
    "workflows_silent",
    "rows_missing",
    "rows_phantom",
    "rows_mismatched",
    "events_missing",
    "events_duplicated",
    "events_phantom",
    "events_mismatched",
)


@dataclass
class CaseView:
    """One case workflow, as its queries answer."""

    workflow_id: str
    state: CaseState
    timeline: list[CaseEvent]


@dataclass
class Observed:
    """The workflows of an experiment and the read model's rows for them, read together."""

    workflows: dict[str, CaseView]
    silent: list[str]  # workflows whose queries failed (of any experiment: no title to tell)
    rows: dict[str, CaseRecord]
    events: dict[str, list[CaseEventRecord]]


@dataclass
class Report:
    """The counts an experiment prints; every count under BAD must be 0."""

    experiment: str
    intended_cases: int = 0
    workflows: int = 0
    sql_rows: int = 0
    cases_lost: int = 0
    cases_duplicated: int = 0
    cases_invented: int = 0
    workflows_silent: int = 0
    rows_missing: int = 0
    rows_phantom: int = 0
    rows_mismatched: int = 0
    events_missing: int = 0
    events_duplicated: int = 0
    events_phantom: int = 0
    events_mismatched: int = 0
    actions_doubled: int = 0
    actions_lost: int = 0
    answers_wrong: int = 0
    open_cases: int = 0
    open_timers_intact: int = 0
    timers_missing: int = 0
    http_500: int = 0
    http_503_without_retry_after: int = 0
    calls_abandoned: int = 0
    faults_planned: int = 0
    faults_struck: int = 0
    notes: list[str] = field(default_factory=list)
    examples: dict[str, list[str]] = field(default_factory=dict)  # count name -> a few

    BAD = (
        *PROJECTION_COUNTS,
        "cases_lost",
        "cases_duplicated",
        "cases_invented",
        "actions_doubled",
        "actions_lost",
        "answers_wrong",
        "timers_missing",
        "http_500",
        "http_503_without_retry_after",
        "calls_abandoned",
    )

    def bad(self) -> dict[str, int]:
        found = {name: getattr(self, name) for name in self.BAD if getattr(self, name)}
        if self.faults_struck != self.faults_planned:
            found["faults_not_struck"] = self.faults_planned - self.faults_struck
        return found

    def count(self, name: str, text: str, n: int = 1) -> None:
        """Add `n` to the count `name`, keeping `text` as an example of it (a few per count)."""
        setattr(self, name, getattr(self, name) + n)
        kept = self.examples.setdefault(name, [])
        if len(kept) < EXAMPLES_PER_COUNT:
            kept.append(text)

    def render(self) -> str:
        counts = [
            f"{f.name.replace('_', ' ')}={getattr(self, f.name)}"
            for f in fields(self)
            if isinstance(getattr(self, f.name), int)
        ]
        lines = [f"[{self.experiment}]", "  " + ", ".join(counts)]
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  {name}: {e}" for name, kept in self.examples.items() for e in kept]
        return "\n".join(lines)


# ---- reading both sides --------------------------------------------------------------------
async def observe(client: Client, db_url: str, prefix: str) -> Observed:
    """The case workflows whose title starts with `prefix`, and their read-model rows."""
    ids = [w.id async for w in client.list_workflows("WorkflowType = 'CaseWorkflow'")]
    gate = asyncio.Semaphore(QUERY_CONCURRENCY)
    views = await asyncio.gather(*(_view(client, wid, gate) for wid in ids))
    workflows = {v.workflow_id: v for v in views if v is not None}
    workflows = {k: v for k, v in workflows.items() if v.state.title.startswith(prefix)}
    silent = [wid for wid, v in zip(ids, views, strict=True) if v is None]
    rows, events = await asyncio.to_thread(_read_model, db_url, prefix, set(workflows))
    return Observed(workflows, silent, rows, events)


async def _view(client: Client, workflow_id: str, gate: asyncio.Semaphore) -> CaseView | None:
    handle = client.get_workflow_handle(workflow_id)
    async with gate:
        try:
            state = await handle.query("get_state", result_type=CaseState)
            timeline = await handle.query("get_timeline", result_type=list[CaseEvent])
        except Exception:
            return None  # no worker yet, a workflow task failing: the caller polls again
    return CaseView(workflow_id, state, timeline)


def _read_model(
    db_url: str, prefix: str, workflow_ids: set[str]
) -> tuple[dict[str, CaseRecord], dict[str, list[CaseEventRecord]]]:
    engine = make_engine(db_url)
    try:
        with session_scope(session_factory(engine)) as session:
            query = select(CaseRecord).where(col(CaseRecord.title).startswith(prefix))
            rows = {r.id: r for r in session.exec(query)}
            case_ids = sorted(workflow_ids | set(rows))
            events: dict[str, list[CaseEventRecord]] = defaultdict(list)
            query_events = select(CaseEventRecord).where(col(CaseEventRecord.case_id).in_(case_ids))
            for e in session.exec(query_events.order_by(col(CaseEventRecord.seq))):
                events[e.case_id].append(e)
    finally:
        engine.dispose()
    return rows, dict(events)


# ---- the read model against the workflows --------------------------------------------------
def event_content(e: CaseEvent) -> tuple[Any, ...]:
    a = e.actor
    return (e.at, e.action, a.username, a.name, str(a.role), a.unit_id, e.from_status,
            e.to_status, e.reason, e.payload)  # fmt: skip


def row_content(r: CaseEventRecord) -> tuple[Any, ...]:
    return (r.at, r.action, r.actor_username, r.actor_name, r.actor_role, r.actor_unit_id,
            r.from_status, r.to_status, r.reason, r.payload)  # fmt: skip


def state_summary(s: CaseState) -> tuple[Any, ...]:
    unit = s.assigned_unit.id if s.assigned_unit else ""
    return (s.status.value, s.last_seq, unit, s.clock.due_at, s.clock.stage)


def record_summary(r: CaseRecord) -> tuple[Any, ...]:
    return (r.status, r.last_seq, r.assigned_unit_id, r.due_at, r.stage)


def compare_projection(report: Report, seen: Observed) -> None:
    """Count every difference between the workflows and the read model."""
    report.workflows, report.sql_rows = len(seen.workflows), len(seen.rows)
    for wid in seen.silent:
        report.count("workflows_silent", f"{wid}: queries fail")
    for wid, view in seen.workflows.items():
        _compare_row(report, view, seen.rows.get(wid))
        _compare_events(report, wid, view.timeline, seen.events.get(wid, []))
    for wid in set(seen.rows) - set(seen.workflows) - set(seen.silent):
        report.count("rows_phantom", f"{wid}: a read-model row without a workflow")
        stray = len(seen.events.get(wid, []))
        report.count("events_phantom", f"{wid}: {stray} events of a case with no workflow", stray)


def _compare_row(report: Report, view: CaseView, row: CaseRecord | None) -> None:
    if row is None:
        report.count("rows_missing", f"{view.workflow_id}: no `cases` row")
    elif record_summary(row) != state_summary(view.state):
        report.count(
            "rows_mismatched",
            f"{view.workflow_id}: row (status, last_seq, unit, due_at, stage) "
            f"{record_summary(row)} != workflow {state_summary(view.state)}",
        )


def _compare_events(
    report: Report, wid: str, timeline: list[CaseEvent], rows: list[CaseEventRecord]
) -> None:
    recorded = {e.seq: e for e in timeline}
    stored: dict[int, list[CaseEventRecord]] = defaultdict(list)
    for r in rows:
        stored[r.seq].append(r)
    for seq, event in recorded.items():
        copies = stored.get(seq, [])
        if not copies:
            report.count("events_missing", f"{wid} seq {seq}: {event.action} not in case_events")
            continue
        if len(copies) > 1:
            text = f"{wid} seq {seq}: {len(copies)} rows"
            report.count("events_duplicated", text, len(copies) - 1)
        if row_content(copies[0]) != event_content(event):
            report.count("events_mismatched", _mismatch(wid, seq, copies[0], event))
    for seq in sorted(set(stored) - set(recorded)):
        text = f"{wid} seq {seq}: {stored[seq][0].action} in SQL, not in the workflow"
        report.count("events_phantom", text, len(stored[seq]))


def _mismatch(wid: str, seq: int, row: CaseEventRecord, event: CaseEvent) -> str:
    names = ("at", "action", "actor", "actor name", "role", "unit", "from", "to", "reason",
             "payload")  # fmt: skip
    diffs = [
        f"{name}: sql {a!r} vs workflow {b!r}"
        for name, a, b in zip(names, row_content(row), event_content(event), strict=True)
        if a != b
    ]
    return f"{wid} seq {seq} ({event.action}): " + "; ".join(diffs)


def projection_gaps(report: Report) -> int:
    """Differences between the read model and the workflows (0 once it has caught up)."""
    return sum(getattr(report, n) for n in PROJECTION_COUNTS)


# ---- the client's intentions against the workflows -----------------------------------------
def compare_intents(report: Report, intents: list[Intent], seen: Observed) -> None:
    """Cases lost, doubled or invented, and actions doubled, lost or wrongly refused."""
    report.intended_cases = len(intents)
    by_title: dict[str, list[str]] = defaultdict(list)
    for wid, view in seen.workflows.items():
        by_title[view.state.title].append(wid)
    wanted = Counter(i.title for i in intents)
    for title, wids in by_title.items():
        if title not in wanted:
            report.count("cases_invented", f"{title!r}: {len(wids)} unasked for", len(wids))
        elif len(wids) > wanted[title]:
            text = f"{title!r}: {len(wids)} workflows for {wanted[title]} case(s)"
            report.count("cases_duplicated", text, len(wids) - wanted[title])
    for intent in intents:
        told = registry.CITY_EVENT.workflow_id(intent.ticket) if intent.ticket else ""
        case = seen.workflows.get(told)
        if told and case is None and told not in seen.silent:  # a silent one counts already
            report.count("cases_lost", f"{intent.title!r}: told {intent.ticket}, no workflow")
        if case is not None:
            _compare_actions(report, intent, case)


def _compare_actions(report: Report, intent: Intent, view: CaseView) -> None:
    applied = Counter(e.action for e in view.timeline)
    for step in intent.steps:
        answer, times = intent.actions.get(step.action), applied[step.action]
        sent = answer is not None
        if times > int(sent):
            text = f"{view.workflow_id}: {step.action} applied {times}× for one call"
            report.count("actions_doubled", text, times - int(sent))
        if answer is not None and answer.ok and times == 0:
            text = f"{view.workflow_id}: {step.action} answered ok, never applied"
            report.count("actions_lost", text)
        if answer is not None and answer.refused and times > 0:
            text = (
                f"{view.workflow_id}: {step.action} applied, yet the client was told "
                f"{answer.status} {answer.body!r:.120} (attempts {answer.attempts})"
            )
            report.count("answers_wrong", text)


def count_calls(report: Report, *clients: ApiClient) -> None:
    report.http_500 = sum(c.statuses["500"] for c in clients)
    report.http_503_without_retry_after = sum(c.statuses[NO_RETRY_AFTER] for c in clients)
    report.calls_abandoned = sum(c.abandoned for c in clients)


# ---- durable timers ------------------------------------------------------------------------
async def check_timers(report: Report, client: Client, seen: Observed) -> None:
    """Every open case has a pending timer set for the instant its own rules say is next."""
    for wid, view in seen.workflows.items():
        if view.state.status in TERMINAL:
            continue
        report.open_cases += 1
        alarm = _next_alarm(view.state)
        history = await client.get_workflow_handle(wid).fetch_history()
        pending = _pending_timers(history.events)
        if any(lo <= alarm <= hi for lo, hi in pending) if alarm else not pending:
            report.open_timers_intact += 1
        else:
            report.count("timers_missing", f"{wid}: next alarm {alarm}, timers {pending}")


def _next_alarm(state: CaseState) -> datetime | None:
    if state.status is Status.PARKED:
        return state.review_at
    return ALARMS.next_alarm(state.clock)


def _pending_timers(events: Sequence[HistoryEvent]) -> list[tuple[datetime, datetime]]:
    """The instants each started, not yet fired or cancelled timer was set for.

    A timer is set for `alarm - workflow.now()`, and the workflow's `now` lies between the
    start of the workflow task that set it and the timer's own record (local activities move
    it on within a task), so the alarm lies within that interval shifted by the timeout.
    """
    by_id = {e.event_id: e for e in events}
    started: dict[str, tuple[datetime, datetime]] = {}
    for e in events:
        if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED:
            attrs = e.timer_started_event_attributes
            task = by_id[attrs.workflow_task_completed_event_id]
            begun = by_id[task.workflow_task_completed_event_attributes.started_event_id]
            timeout = attrs.start_to_fire_timeout.ToTimedelta()
            started[attrs.timer_id] = (_at(begun) + timeout, _at(e) + timeout)
        elif e.event_type == EventType.EVENT_TYPE_TIMER_FIRED:
            started.pop(e.timer_fired_event_attributes.timer_id, None)
        elif e.event_type == EventType.EVENT_TYPE_TIMER_CANCELED:
            started.pop(e.timer_canceled_event_attributes.timer_id, None)
    return sorted(started.values())


def _at(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime(tzinfo=UTC)


# ---- settling ------------------------------------------------------------------------------
async def settle(
    client: Client, db_url: str, prefix: str, *, timeout: float
) -> tuple[Observed, Report]:
    """Poll until the read model equals the workflows, or a gap stays put with no activity
    left to close it, or `timeout` passes. Returns the last reading and its projection counts.
    """
    deadline, stable_since, last = time.monotonic() + timeout, time.monotonic(), ""
    while True:
        seen = await observe(client, db_url, prefix)
        report = Report(prefix)
        compare_projection(report, seen)
        gaps = projection_gaps(report)
        signature = repr((sorted(seen.workflows), report.render()))
        if signature != last:
            stable_since, last = time.monotonic(), signature
        if gaps == 0 or time.monotonic() > deadline:
            return seen, report
        if time.monotonic() - stable_since > STABLE_FOR and not await _activities_pending(
            client, seen
        ):
            return seen, report
        await asyncio.sleep(SETTLE_POLL)


async def _activities_pending(client: Client, seen: Observed) -> bool:
    """Whether any workflow still has an activity to run (a projection write retrying; an
    archived case's run waits for its last writes before it ends)."""
    for wid in seen.workflows:
        described = await client.get_workflow_handle(wid).describe()
        if described.raw_description.pending_activities:
            return True
    return False


async def audit(
    label: str,
    prefix: str,
    client: Client,
    db_url: str,
    intents: list[Intent],
    *,
    clients: tuple[ApiClient, ...],
    settle_timeout: float,
) -> Report:
    """Settle, then count everything about the cases titled `prefix…`: projection,
    intentions, calls and timers."""
    seen, report = await settle(client, db_url, prefix, timeout=settle_timeout)
    report.experiment = label
    compare_intents(report, intents, seen)
    count_calls(report, *clients)
    await check_timers(report, client, seen)
    return report
