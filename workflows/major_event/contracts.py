"""Contracts of the major-event type: its input, state, one dataclass per update, its row.

Every field has a default where histories must keep replaying when it is added later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from workflows.contracts import (  # noqa: F401  (CaseEscalated: the event's signal input)
    Actor,
    CaseEscalated,
    CaseEvent,
    CasePolicy,
    Clock,
    Location,
    Unit,
)

EVENT_TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    # article 11 and the national plan's sub-types
    "natural_disaster": (
        "自然灾害",
        ("水旱灾害", "气象灾害", "地震灾害", "地质灾害", "海洋灾害", "生物灾害", "森林草原火灾"),
    ),
    "accident_disaster": (
        "事故灾难",
        ("安全事故", "交通运输事故", "公共设施和设备事故", "环境污染和生态破坏事件"),
    ),
    "public_health": (
        "公共卫生事件",
        ("传染病疫情", "群体性不明原因疾病", "食品安全和职业危害", "动物疫情"),
    ),
    "social_security": ("社会安全事件", ("恐怖袭击事件", "经济安全事件", "涉外突发事件")),
}
# grade -> (name, colour name, colour)
GRADES: dict[str, tuple[str, str, str]] = {
    "I": ("特别重大", "红色", "red"),
    "II": ("重大", "橙色", "orange"),
    "III": ("较大", "黄色", "yellow"),
    "IV": ("一般", "蓝色", "blue"),
}


class Phase(StrEnum):
    RECEIVED = "received"  # 接报
    ASSESSED = "assessed"  # 研判定级
    RESPONDING = "responding"  # 启动响应
    HANDLING = "handling"  # 处置
    TERMINATED = "terminated"  # 响应终止
    REVIEWING = "reviewing"  # 总结评估
    CLOSED = "closed"


class ReportKind(StrEnum):
    FIRST_PHONE = "first_phone"  # 初报 (电话)
    FIRST_WRITTEN = "first_written"  # 初报 (书面)
    PROGRESS = "progress"  # 续报
    FINAL = "final"  # 终报


@dataclass
class MajorEventPolicy:
    """Deadlines of a major event, from settings (compact durations: "15m", "1h", "1d")."""

    lead_level: dict[str, str] = field(
        default_factory=lambda: {"I": "city", "II": "city", "III": "district", "IV": "district"}
    )
    first_phone: dict[str, str] = field(default_factory=lambda: {"I": "15m", "II": "15m"})
    first_written: dict[str, str] = field(
        default_factory=lambda: {"I": "35m", "II": "35m", "III": "1h", "IV": "6h"}
    )
    progress_at: list[str] = field(default_factory=lambda: ["08:00", "17:00"])  # China time
    progress_grades: list[str] = field(default_factory=lambda: ["I", "II", "III"])
    final_report: str = "1d"  # after the response ends
    station_sign: str = "30m"  # 进驻: a department signs the order within…
    station_arrive: str = "1h"  # …and arrives at the centre within
    task_accept: str = "30m"
    task_limit: str = "4h"  # a task's default time limit
    reminders: list[float] = field(default_factory=lambda: [0.75])
    grace: dict[str, str] = field(default_factory=lambda: CasePolicy(working_time=False).grace)
    history_limit: int = 20_000  # events in one run before it continues as new


@dataclass
class Classification:
    event_type: str
    sub_type: str
    grade: str


@dataclass
class MajorEventInput:
    ticket: str
    title: str
    classification: Classification
    location: Location
    reporter: Actor
    received_at: datetime
    city: Unit
    district: Unit | None = None
    description: str = ""
    reporter_name: str = ""
    reporter_phone: str = ""
    policy: MajorEventPolicy = field(default_factory=MajorEventPolicy)
    carried: MajorEventState | None = None  # continue-as-new: the state so far


@dataclass
class Person:
    username: str
    name: str = ""


@dataclass
class ReportDue:
    """One reporting obligation: 初报, each 续报 slot, 终报; its clock climbs like any stage."""

    kind: str
    clock: Clock
    submitted_at: datetime | None = None
    submitted_by: str = ""
    text: str = ""
    late: bool = False


@dataclass
class Board:
    """An assignment (a department stationed, or a task) as the event's board shows it."""

    assignment_id: str
    kind: str  # station / task
    unit: Unit
    title: str
    step: str
    due_at: datetime | None = None
    overdue: bool = False
    escalation_level: int = 0
    done_at: datetime | None = None


@dataclass
class MajorEventState:
    event_id: str
    ticket: str
    title: str
    classification: Classification
    location: Location
    city: Unit
    district: Unit | None
    received_at: datetime
    phase: str = Phase.RECEIVED.value
    lead: Unit | None = None
    commander: Person | None = None
    deputies: list[Person] = field(default_factory=list)
    reports: list[ReportDue] = field(default_factory=list)
    board: list[Board] = field(default_factory=list)
    linked: list[str] = field(default_factory=list)  # tickets of linked city-event cases
    escalated_cases: list[str] = field(default_factory=list)
    responding_since: datetime | None = None
    terminated_at: datetime | None = None
    summary: str = ""
    last_seq: int = 0
    runs: int = 1  # continue-as-new generations


# ---- one dataclass per update ------------------------------------------------------------
@dataclass
class Assess:
    actor: Actor
    grade: str = ""
    sub_type: str = ""
    note: str = ""


@dataclass
class Activate:
    actor: Actor
    note: str = ""


@dataclass
class Regrade:
    actor: Actor
    grade: str
    reason: str


@dataclass
class Appoint:
    actor: Actor
    commander: Person
    deputies: list[Person] = field(default_factory=list)


@dataclass
class OrderStation:
    actor: Actor
    unit_ids: list[str]
    units: list[Unit] = field(default_factory=list)  # resolved by the service
    chains: list[list[Unit]] = field(default_factory=list)


@dataclass
class AssignTask:
    actor: Actor
    unit_id: str
    title: str
    limit: str = ""  # compact duration; "" the policy's
    unit: Unit | None = None  # resolved by the service
    chain: list[Unit] = field(default_factory=list)


@dataclass
class SubmitReport:
    actor: Actor
    kind: str
    text: str


@dataclass
class LinkCases:
    actor: Actor
    tickets: list[str] = field(default_factory=list)
    # a filter the service turns into tickets: category, area unit, opened since
    category: str = ""
    area: str = ""
    since: datetime | None = None


@dataclass
class PhaseStep:
    """begin_handling / terminate / evaluate / close: a reason or a summary."""

    actor: Actor
    note: str = ""


# ---- assignments (child workflows) --------------------------------------------------------
@dataclass
class AssignmentStepSpec:
    name: str  # sign / arrive; accept / complete
    label: str
    limit: str  # from the order


@dataclass
class AssignmentInput:
    event_id: str
    ticket: str
    kind: str  # station / task
    title: str
    unit: Unit
    steps: list[AssignmentStepSpec]
    chain: list[Unit]
    ordered_at: datetime
    ordered_by: Actor
    policy: CasePolicy = field(default_factory=lambda: CasePolicy(working_time=False))


@dataclass
class AssignmentState:
    assignment_id: str
    event_id: str
    kind: str
    title: str
    unit: Unit
    step: str  # the next step to take; "done" or "cancelled" when finished
    dues: dict[str, datetime] = field(default_factory=dict)
    done: dict[str, datetime] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    clock: Clock = field(default_factory=Clock)
    escalated_to: Unit | None = None
    last_seq: int = 0


@dataclass
class StepTaken:
    actor: Actor
    step: str
    note: str = ""
    assignment_id: str = ""  # which assignment (the route addresses it by this)


@dataclass
class AssignmentProgress:
    assignment_id: str
    step: str
    due_at: datetime | None
    overdue: bool
    escalation_level: int
    done_at: datetime | None = None
    alarm: str = ""  # remind / overdue / escalate, when an alarm sent it
    escalated_to: str = ""


@dataclass
class MajorEventSnapshot:
    """The read-model row of a major event."""

    id: str
    ticket: str
    title: str
    event_type: str
    sub_type: str
    grade: str
    phase: str
    district_id: str
    lead_unit_id: str
    commander: str
    stations: int
    stations_late: int
    tasks_open: int
    reports_late: int
    next_report_at: datetime | None
    linked: int
    received_at: datetime
    last_seq: int


@dataclass
class RecordMajorEventInput:
    event: MajorEventSnapshot
    events: list[CaseEvent]
