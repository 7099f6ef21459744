"""Dataclasses that cross the workflow boundary.

Everything here is plain data, serialised by Temporal's default JSON converter. New fields
always get defaults so that recorded histories keep replaying.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """Where a case stands in the closed loop (DESIGN.md, case lifecycle)."""

    RECEIVED = "RECEIVED"  # 受理
    REGISTERED = "REGISTERED"  # 立案
    VOIDED = "VOIDED"  # 注销
    DISPATCHED = "DISPATCHED"  # 派遣
    RETURNED = "RETURNED"  # 退单
    ACCEPTED = "ACCEPTED"  # 签收
    HANDLING = "HANDLING"  # 处置
    PARKED = "PARKED"  # 挂账 (clock paused)
    VERIFYING = "VERIFYING"  # 核查 (after 反馈 FEEDBACK)
    REWORK = "REWORK"  # 返工
    CLOSED = "CLOSED"  # 结案, waiting for the callback
    ARCHIVED = "ARCHIVED"  # 归档


TERMINAL = frozenset({Status.VOIDED, Status.ARCHIVED})


class Action(StrEnum):
    """Every human action on a case; each is a workflow Update of the same name."""

    REGISTER = "register"
    VOID = "void"
    DISPATCH = "dispatch"
    ACCEPT = "accept"
    RETURN = "return_case"
    PROGRESS = "add_progress"
    REQUEST_EXTENSION = "request_extension"
    DECIDE_EXTENSION = "decide_extension"
    PARK = "park"
    UNPARK = "unpark"
    SUBMIT_FEEDBACK = "submit_feedback"
    VERIFY = "verify"
    CALLBACK = "record_callback"
    # Supervisor overrides (督办).
    REASSIGN = "reassign"
    CHANGE_CATEGORY = "change_category"
    CHANGE_PRIORITY = "change_priority"
    EXTEND_DEADLINE = "extend_deadline"
    DE_ESCALATE = "de_escalate"
    FORCE_CLOSE = "force_close"
    VOID_INVALID = "void_invalid"
    REOPEN = "reopen"


class Role(StrEnum):
    OPERATOR = "operator"  # 12345 话务员
    DISPATCHER = "dispatcher"  # 派遣员
    HANDLER = "handler"  # 处置人员
    VERIFIER = "verifier"  # 核查员
    SUPERVISOR = "supervisor"  # 督办
    ADMIN = "admin"


class Stage(StrEnum):
    """A clocked stage; each has its own time limit in the category's policy."""

    DISPATCH = "dispatch"  # 立案/派遣
    ACCEPT = "accept"  # 签收
    HANDLE = "handle"  # 处置
    VERIFY = "verify"  # 核查
    CALLBACK = "callback"  # 回访


class Rating(StrEnum):
    SATISFIED = "satisfied"  # 满意
    BASICALLY = "basically_satisfied"  # 基本满意
    UNSATISFIED = "unsatisfied"  # 不满意


@dataclass
class Actor:
    """Who acts: resolved and authenticated by the API before it reaches the workflow."""

    username: str
    name: str
    role: Role
    unit_id: str
    unit_name: str = ""


SYSTEM = Actor(username="system", name="系统", role=Role.ADMIN, unit_id="", unit_name="系统")


@dataclass
class Unit:
    id: str
    name: str
    level: str = ""  # city district street community grid dept


PRIORITIES = ("normal", "urgent", "critical")


@dataclass
class CasePolicy:
    """Time limits and calendar of a case's category, resolved at intake.

    Limits are compact durations ("30m", "2h", "1d"); a working-time day is one working day.
    """

    working_time: bool = True
    limits: dict[str, str] = field(default_factory=dict)  # Stage value -> limit
    day_start: str = "08:30"
    day_end: str = "17:30"
    extra_workdays: list[str] = field(default_factory=list)
    extra_holidays: list[str] = field(default_factory=list)
    # Reminders (催办) at these fractions of a stage's limit.
    reminders: list[float] = field(default_factory=lambda: [0.75, 0.9])
    # Grace a supervising level gets before a late case climbs past it (督办), by unit level.
    grace: dict[str, str] = field(
        default_factory=lambda: {
            "grid": "1h",
            "community": "1h",
            "street": "1h",
            "dept": "4h",
            "district": "4h",
            "city": "1d",
        }
    )


@dataclass
class Location:
    """Where the event is: the most precise unit of the area tree plus its ancestors."""

    unit_id: str
    path: list[str] = field(default_factory=list)  # unit ids, city first, the unit last
    district_id: str = ""
    district_name: str = ""
    street_id: str = ""
    street_name: str = ""
    address: str = ""
    lat: float | None = None
    lon: float | None = None


@dataclass
class CaseInput:
    """Everything a new case starts from (the workflow's single input)."""

    ticket: str
    case_type: str
    title: str
    description: str
    category: str
    category_name: str
    category_kind: str  # component | event | hotline
    location: Location
    policy: CasePolicy
    reporter: Actor
    channel: str = "hotline"
    external_id: str = ""
    priority: str = "normal"  # normal | urgent
    reporter_name: str = ""
    reporter_phone: str = ""
    request_kind: str = ""  # 咨询/求助/投诉/举报/建议 for 12345 requests
    auto_dispatch: bool = True
    received_at: datetime | None = None


@dataclass
class Command:
    """One human action. Which fields an action needs is checked by `transitions.check`."""

    actor: Actor
    reason: str = ""
    note: str = ""
    unit_id: str = ""  # dispatch target
    unit_name: str = ""
    hours: int = 0  # extension request, in working hours
    approve: bool = False  # extension decision
    passed: bool = False  # verification result
    rating: str = ""  # callback rating
    evidence: list[str] = field(default_factory=list)
    unit_chain: list[Unit] = field(default_factory=list)  # supervisors of unit_id, nearest first
    category: str = ""  # change_category: the new category and its policy, resolved by the API
    category_name: str = ""
    category_kind: str = ""
    policy: CasePolicy | None = None
    priority: str = ""  # change_priority
    review_at: datetime | None = None  # park: when to look at the case again
    bulk_id: str = ""  # set when the command is one case of a bulk override


@dataclass
class CaseEvent:
    """One entry of the audit trail: who did what, when and why."""

    seq: int
    at: datetime
    action: str
    actor: Actor
    from_status: str
    to_status: str
    reason: str = ""
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class Clock:
    """The running clock of the current stage."""

    stage: str = ""
    started_at: datetime | None = None
    due_at: datetime | None = None
    overdue: bool = False
    paused_remaining_minutes: int | None = None  # set while parked
    limit_minutes: int = 0
    reminders_at: list[datetime] = field(default_factory=list)  # not yet sent
    escalation_level: int = 0  # rungs climbed since the deadline passed
    next_escalation_at: datetime | None = None


@dataclass
class PendingExtension:
    hours: int
    reason: str
    requested_by: str
    requested_at: datetime


@dataclass
class CaseState:
    """The live state of one case: what queries and updates return, and the projection writes."""

    case_id: str
    ticket: str
    case_type: str
    title: str
    description: str
    category: str
    category_name: str
    category_kind: str
    location: Location
    priority: str
    channel: str
    external_id: str
    status: Status = Status.RECEIVED
    assigned_unit: Unit | None = None
    first_unit: Unit | None = None  # 首接负责: the first receiver stays on record
    clock: Clock = field(default_factory=Clock)
    result: str = ""
    evidence: list[str] = field(default_factory=list)
    rating: str = ""
    return_count: int = 0
    rework_count: int = 0
    reopen_count: int = 0
    extension_count: int = 0
    pending_extension: PendingExtension | None = None
    returned_by: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    closed_at: datetime | None = None
    last_seq: int = 0
    reporter_name: str = ""
    reporter_phone: str = ""
    request_kind: str = ""
    escalation_chain: list[Unit] = field(default_factory=list)  # supervisors of the holder
    escalated_to: Unit | None = None
    escalation_count: int = 0  # rungs climbed over the case's life
    review_at: datetime | None = None  # while parked

    def snapshot(self) -> CaseSnapshot:
        loc, unit = self.location, self.assigned_unit
        return CaseSnapshot(
            id=self.case_id,
            ticket=self.ticket,
            external_id=self.external_id,
            case_type=self.case_type,
            channel=self.channel,
            title=self.title,
            description=self.description,
            category=self.category,
            category_name=self.category_name,
            priority=self.priority,
            status=self.status.value,
            location_unit_id=loc.unit_id,
            location_path="/" + "/".join(loc.path) + "/",
            district_id=loc.district_id,
            street_id=loc.street_id,
            address=loc.address,
            assigned_unit_id=unit.id if unit else "",
            assigned_unit_name=unit.name if unit else "",
            stage=self.clock.stage,
            due_at=self.clock.due_at,
            overdue=self.clock.overdue,
            escalation_level=self.clock.escalation_level,
            return_count=self.return_count,
            rework_count=self.rework_count,
            extension_count=self.extension_count,
            rating=self.rating,
            reporter_name=self.reporter_name,
            reporter_phone=self.reporter_phone,
            created_at=self.created_at,
            updated_at=self.updated_at or self.created_at,
            closed_at=self.closed_at,
            last_seq=self.last_seq,
        )


@dataclass
class CaseSnapshot:
    """The read-model row of a case: what the projection writes, and no more."""

    id: str
    ticket: str
    external_id: str
    case_type: str
    channel: str
    title: str
    description: str
    category: str
    category_name: str
    priority: str
    status: str
    location_unit_id: str
    location_path: str
    district_id: str
    street_id: str
    address: str
    assigned_unit_id: str
    assigned_unit_name: str
    stage: str
    due_at: datetime | None
    overdue: bool
    escalation_level: int
    return_count: int
    rework_count: int
    extension_count: int
    rating: str
    reporter_name: str
    reporter_phone: str
    created_at: datetime | None
    updated_at: datetime | None
    closed_at: datetime | None
    last_seq: int


@dataclass
class RecordEventsInput:
    """The projection write: the case's row plus the events not yet written."""

    case: CaseSnapshot
    events: list[CaseEvent]


@dataclass
class RouteInput:
    category: str
    category_kind: str
    location: Location
    exclude_units: list[str] = field(default_factory=list)


@dataclass
class RouteResult:
    unit: Unit | None
    rule: str  # which rule decided, for the audit trail
    chain: list[Unit] = field(default_factory=list)  # supervisors of the unit, nearest first


# ---- bulk overrides ---------------------------------------------------------------------
@dataclass
class BulkOverrideInput:
    action: str
    command: Command
    filters: dict[str, Any] = field(default_factory=dict)  # a core.cases.CaseFilter, dumped


@dataclass
class SelectCasesInput:
    filters: dict[str, Any]


@dataclass
class ApplyOverrideInput:
    case_ids: list[str]
    action: str
    command: Command


@dataclass
class Outcome:
    case_id: str
    applied: bool
    reason: str = ""


@dataclass
class BulkProgress:
    total: int = 0
    applied: int = 0
    refused: int = 0
    done: bool = False
    refusals: list[Outcome] = field(default_factory=list)
