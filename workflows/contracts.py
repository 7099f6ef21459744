"""Dataclasses that cross the workflow boundary.

Everything here is plain data, serialised by Temporal's default JSON converter. New fields
always get defaults so that recorded histories keep replaying.

Unlike the rest of the code base this module does not use `from __future__ import
annotations`: Temporal's converter calls `typing.get_type_hints` on every dataclass it decodes,
and with string annotations evaluating them was the largest single CPU cost of the worker and
the API (profiled with yappi). Classes are therefore defined before they are used.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from workflows.shared.fields import derive


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
    CITIZEN_RATE = "rate_by_citizen"  # 评价 on the tracking page: the citizen's own 回访
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
    GRID_WORKER = "grid_worker"  # 网格员: patrol reports
    PUBLIC = "public"  # a citizen through the public form or Open311 (no account)
    DEVICE = "device"  # a sensor posting alarms


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


class CallbackOutcome(StrEnum):
    """What a 回访 found (解决率 counts solved among the reached)."""

    SOLVED = "solved"  # 已解决
    UNSOLVED = "unsolved"  # 未解决
    UNREACHABLE = "unreachable"  # 联系不上: no rating; the case archives unrated


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
    # History events one run of a case may hold before it continues as new (cases started
    # since workflows/shared/longlived.py; the server's hard cap is 50k).
    history_limit: int = 20_000


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
class CaseBasics:
    """What a case is about, the same in its input and its state."""

    ticket: str
    case_type: str
    title: str
    description: str
    category: str
    category_name: str
    category_kind: str  # component | event | hotline
    location: Location


@dataclass
class CaseInput(CaseBasics):
    """Everything a new case starts from (the workflow's single input)."""

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
    direct_answer: str = ""  # a 咨询 answered on the spot: recorded and closed, no dispatch
    attachments: list[str] = field(default_factory=list)  # sha256 of stored files
    tracking_token: str = ""  # the citizen's tracking link and Open311 token
    carried: "CaseCarry | None" = None  # continue-as-new: what the run before handed over


@dataclass
class AlarmSignal:
    """One sensor alarm; alarms of one device and type join one open case."""

    device_id: str
    alarm_type: str
    value: float
    at: datetime  # when the device measured it (the latest, for several)
    count: int = 1  # alarms this stands for: a burst is sent as one


@dataclass
class LinkedReport:
    """A report merged into this case (关联工单): kept whole so it can be split back out."""

    report: CaseInput  # as it would have started on its own; its ticket stays its own
    linked_by: Actor
    linked_at: datetime
    auto: bool = False  # merged by an automatic channel, not by a person
    split_at: datetime | None = None
    split_by: str = ""
    split_reason: str = ""


@dataclass
class LinkReport:
    """The link_report update: merge a new report into this open case."""

    actor: Actor
    report: CaseInput
    auto: bool = False
    reason: str = ""


@dataclass
class SplitReport:
    """The split_report update: a wrongly merged report leaves to become its own case."""

    actor: Actor
    ticket: str = ""
    reason: str = ""


@dataclass
class ResourceNote:
    """A team or equipment allocated to or released from the case (directory, 处置力量)."""

    actor: Actor
    action: str  # allocate | release
    resource: str  # what, as people read it: "抢修一队", "苏A12345 抽水车"
    reason: str = ""


@dataclass
class ResetNote:
    """A supervisor reset the case to an earlier decision point (core/cases/reset.py).

    The steps after it are undone in the workflow but stay on the stored timeline (article 21):
    the note is recorded after `after_seq`, the last event the read model holds.
    """

    actor: Actor
    reason: str
    event_id: int  # the workflow task (its WorkflowTaskCompleted event) the case went back to
    after_seq: int = 0


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
    outcome: str = ""  # callback: a CallbackOutcome value ("" from clients before it)
    evidence: list[str] = field(default_factory=list)
    unit_chain: list[Unit] = field(default_factory=list)  # supervisors of unit_id, nearest first
    category: str = ""  # change_category: the new category and its policy, resolved by the API
    category_name: str = ""
    category_kind: str = ""
    policy: CasePolicy | None = None
    priority: str = ""  # change_priority
    review_at: datetime | None = None  # park: when to look at the case again
    bulk_id: str = ""  # set when the command is one case of a bulk override
    # The case's version (`CaseState.last_seq`) the sender saw; None: act on whatever it is now.
    expected_version: int | None = None


@dataclass
class CaseEscalated:
    """A case linked to a major event climbed a rung: its command hears of it."""

    ticket: str
    level: int
    unit_id: str = ""


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
class WhistleStage:
    limit: str  # compact duration: "1h", "24h", "3d"
    working: bool = True  # working time on the calendar, or natural time


@dataclass
class WhistleSpec:
    """One kind of whistle: its deadlines, resolved from settings and sent with the command."""

    kind: str
    label: str = ""
    stages: dict[str, WhistleStage] = field(default_factory=dict)  # WHISTLE_STAGES -> limit
    needs_approval: bool = False


class WhistleStep(StrEnum):
    """Where one summoned department stands."""

    PENDING = "pending"  # the round waits for approval; not summoned yet
    SUMMONED = "summoned"  # 待签收
    SIGNED = "signed"  # 已签收
    CONTACTED = "contacted"  # 已联系
    REPORTED = "reported"  # 已报到
    CLOSED = "closed"  # the whistle-blower closed the round early
    CANCELLED = "cancelled"  # the case closed or was voided


@dataclass
class WhistleMember:
    """One summoned department's live progress, as the parent case sees it."""

    whistle_id: str
    unit: Unit
    chain: list[Unit] = field(default_factory=list)  # its ladder: the department, then up
    step: str = WhistleStep.PENDING.value
    sign_due: datetime | None = None
    report_due: datetime | None = None
    signed_at: datetime | None = None
    contacted_at: datetime | None = None
    reported_at: datetime | None = None
    signed_in_time: bool | None = None
    reported_in_time: bool | None = None
    escalation_level: int = 0
    note: str = ""  # the latest contact or report note
    rating: int = 0  # 1-5 from the whistle-blower; 0 = not rated
    rating_note: str = ""


@dataclass
class WhistleRound:
    """One whistle: a kind, what is needed, and the departments it summons."""

    round: int
    kind: str
    kind_label: str
    need: str
    blower: Actor
    blower_unit: Unit
    spec: WhistleSpec
    members: list[WhistleMember] = field(default_factory=list)
    status: str = "open"  # pending_approval | open | done | closed | cancelled
    blown_at: datetime | None = None
    summoned_at: datetime | None = None
    approved_by: str = ""
    closed_at: datetime | None = None
    closed_reason: str = ""


@dataclass
class CaseState(CaseBasics):
    """The live state of one case: what queries and updates return, and the projection writes."""

    case_id: str
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
    callback_outcome: str = ""  # CallbackOutcome of the last 回访 or citizen 评价
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
    whistles: list[WhistleRound] = field(default_factory=list)  # 吹哨报到 rounds, oldest first
    co_handlers: list[Unit] = field(default_factory=list)  # 协办: departments that reported
    taken_by: str = ""  # who recorded the case: the one user besides supervisors who sees PII
    tracking_token: str = ""
    attachments: list[str] = field(default_factory=list)  # sha256, in the order they came
    report_count: int = 1  # this report plus the linked ones not split back out
    linked_reports: list[LinkedReport] = field(default_factory=list)
    signal_count: int = 0  # sensor alarms received (the first included)
    last_signal: AlarmSignal | None = None
    direct_answer: str = ""
    command_id: str = ""  # a major event this case is linked to: its escalations go there

    def snapshot(self) -> "CaseSnapshot":
        """The read-model row: the fields of the same name, and these."""
        loc, unit = self.location, self.assigned_unit
        return derive(
            CaseSnapshot,
            self,
            id=self.case_id,
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
            updated_at=self.updated_at or self.created_at,
            lat=loc.lat,
            lon=loc.lon,
            direct_answer=bool(self.direct_answer),
        )


@dataclass
class CaseCarry:
    """What a case's run hands to the next as it continues as new (shared/longlived.py)."""

    state: CaseState
    policy: CasePolicy
    raw_reports: dict[str, CaseInput] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)
    unknown_years: list[int] = field(default_factory=list)
    supervised: bool = True
    after_record: bool = True
    projection_degraded: bool = False
    callback_by_channel: bool = False


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
    lat: float | None = None
    lon: float | None = None
    request_kind: str = ""
    taken_by: str = ""
    report_count: int = 1
    signal_count: int = 0
    direct_answer: bool = False
    tracking_token: str = ""


@dataclass
class RecordEventsInput:
    """The projection write: the case's row plus the events not yet written."""

    case: CaseSnapshot
    events: list[CaseEvent]
    reports: list[LinkedReport] = field(default_factory=list)  # linked or split in this batch


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
    code: str = ""  # the refusal's code and params (workflows.shared.rejection)
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class BulkProgress:
    total: int = 0
    applied: int = 0
    refused: int = 0
    done: bool = False
    refusals: list[Outcome] = field(default_factory=list)


# ---- 吹哨报到: the whistle branch (child workflows) ----------------------------------------
class WhistleKind(StrEnum):
    """Demo kinds; a deployment configures the kinds it uses (core.config.Settings)."""

    WORK_PUSH = "work_push"  # 工作推进哨
    HARD_PROBLEM = "hard_problem"  # 攻坚克难哨: a district leader approves first
    EMERGENCY = "emergency"  # 应急哨


WHISTLE_STAGES = ("sign", "contact", "report")  # each a deadline counted from the summons


@dataclass
class BlowWhistle:
    """The blow_whistle update: departments resolved by the API, with their ladders."""

    actor: Actor
    kind: str = ""
    spec: WhistleSpec | None = None
    departments: list[Unit] = field(default_factory=list)
    chains: dict[str, list[Unit]] = field(default_factory=dict)  # dept id -> supervisors_of
    need: str = ""


@dataclass
class ApproveWhistle:
    actor: Actor
    note: str = ""


@dataclass
class CloseWhistle:
    actor: Actor
    reason: str = ""


@dataclass
class RateWhistle:
    actor: Actor
    unit_id: str = ""
    score: int = 0
    note: str = ""
    round: int = 0  # 0: the latest round that summoned unit_id


@dataclass
class WhistleSummons:
    """What a whistle is about: one department summoned in one round of a case."""

    case_id: str
    ticket: str
    title: str
    round: int
    kind: str
    kind_label: str
    need: str
    department: Unit


@dataclass
class WhistleInput(WhistleSummons):
    """Everything one summoned department's whistle workflow starts from."""

    chain: list[Unit]  # the department's head (the unit itself) first, then its governments
    blower: Actor
    blower_unit: Unit
    spec: WhistleSpec
    policy: CasePolicy  # calendar, reminders and grace; its limits are not used
    summoned_at: datetime
    district_id: str = ""
    street_id: str = ""


@dataclass
class WhistleAction:
    """The sign, contact and report updates of a department (one shape for the three)."""

    actor: Actor
    note: str = ""
    arrived: bool = False  # report: on site
    plan_date: str = ""  # report: ISO date the plan will be done by


@dataclass
class WhistleState(WhistleSummons):
    """The live state of one summoned department's whistle."""

    whistle_id: str
    blower_unit: Unit
    summoned_at: datetime
    step: str = WhistleStep.SUMMONED.value
    dues: dict[str, datetime] = field(default_factory=dict)  # WHISTLE_STAGES -> deadline
    clock: Clock = field(default_factory=Clock)  # the current step's clock
    signed_at: datetime | None = None
    contacted_at: datetime | None = None
    reported_at: datetime | None = None
    contact_note: str = ""
    report_note: str = ""
    arrived: bool = False
    plan_date: str = ""
    escalated_to: Unit | None = None
    closed_reason: str = ""
    district_id: str = ""
    street_id: str = ""
    last_seq: int = 0

    def in_time(self, stage: str, at: datetime | None) -> bool | None:
        due = self.dues.get(stage)
        return None if at is None or due is None else at <= due


@dataclass
class WhistleProgress:
    """The signal a whistle sends its case at each step and rung."""

    whistle_id: str
    round: int
    unit_id: str
    event: str  # sign | contact | report | overdue | escalate
    at: datetime
    step: str
    actor: Actor | None = None
    note: str = ""
    signed_in_time: bool | None = None
    reported_in_time: bool | None = None
    escalation_level: int = 0


@dataclass
class WhistleSnapshot:
    """The `whistles` read-model row, as the whistle workflow writes it (ratings come from
    the case's `whistle_rate` events)."""

    id: str
    case_id: str
    ticket: str
    title: str
    round: int
    kind: str
    dept_id: str
    dept_name: str
    blower_unit_id: str
    blower_unit_name: str
    district_id: str
    street_id: str
    need: str
    step: str
    summoned_at: datetime
    sign_due: datetime | None
    contact_due: datetime | None
    report_due: datetime | None
    due_at: datetime | None
    signed_at: datetime | None
    contacted_at: datetime | None
    reported_at: datetime | None
    signed_in_time: bool | None
    reported_in_time: bool | None
    overdue: bool
    escalation_level: int
    closed_reason: str
    last_seq: int


@dataclass
class RecordWhistleInput:
    whistle: WhistleSnapshot
    events: list[CaseEvent]


# ---- attachments clean-up (issue 10) --------------------------------------------------------
@dataclass
class PruneAttachmentsInput:
    """Remove the files no case holds whose last upload is older than the retention setting.

    `now` is the workflow's time (time is Temporal's); None lets the activity use the clock.
    """

    now: datetime | None = None


@dataclass
class PruneAttachmentsResult:
    removed: int = 0  # files removed (with their thumbnails, clean copies and rows)
    freed_bytes: int = 0
    attached: int = 0  # uploads found held by a case, never candidates again
