"""The registry of case types: how the worker, the API, the UI and the docs learn what exists.

A type declares here, in one place, its workflow class, its input and state contracts, its
actions (name, zh-CN label, roles, input dataclass, the workflow's update method), its
activities, search attributes, read model, templates and demo data. What lives outside
`workflows/` (the domain service, activities, demo, templates) is named by a dotted path, so
this module stays importable inside the workflow sandbox. docs/case-types.md walks through it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from workflows.case.workflow import CaseWorkflow
from workflows.contracts import Role
from workflows.major_event import contracts as me
from workflows.major_event.assignment import STEP_ROLES, AssignmentWorkflow
from workflows.major_event.rules import COMMAND_ROLES, REPORT_ROLES
from workflows.major_event.workflow import EVENT_PREFIX, MajorEventWorkflow
from workflows.major_event.workflow import start_search_attributes as major_event_attributes
from workflows.whistle.workflow import WhistleWorkflow


@dataclass(frozen=True)
class ActionSpec:
    """One human action of a type, served by `POST /api/v1/cases/{ticket}/actions/{name}`."""

    name: str
    label: str  # zh-CN
    roles: frozenset[Role]
    input: type  # the update's input dataclass; its `actor` is filled by the server
    update: Callable[..., Any]  # the workflow's update method, called by reference
    # Which workflow takes it, from the ticket's workflow id and the input: None for the
    # case's own (e.g. a step of a child workflow, addressed by a field of the input).
    target: Callable[[str, Any], str] | None = None


@dataclass(frozen=True)
class CaseType:
    name: str  # the API's case_type value and the CaseType search attribute
    label: str  # shown in the UI
    workflow: type  # a @workflow.defn class whose run takes `input`
    id_prefix: str = "case-"  # workflow id = prefix + ticket
    startable: bool = True  # False: started by another workflow only (intake refuses it)
    input: type | None = None  # the run's input dataclass
    state: type | None = None  # what `query` answers
    query: Callable[..., Any] | None = None  # the workflow's query of its live state
    actions: tuple[ActionSpec, ...] = ()
    ticket_prefix: str = ""  # tickets of this type start so (CL… is the city event's)
    children: tuple[type, ...] = ()  # more workflow classes the worker runs for it
    start_roles: frozenset[Role] = frozenset()  # who may start one (intake offers it to them)
    search_attributes: Callable[[Any], Any] | None = None  # input -> TypedSearchAttributes
    # Dotted paths "module:name", resolved outside the sandbox:
    service: str = ""  # the domain service (core): start, prepare an action, read, see
    activities: str = ""  # (sessions, writers) -> activity callables, for the worker
    read_model: str = "cases"  # its table ("cases": the shared one)
    templates: str = ""  # its page templates
    pages: str = ""  # its web router ("" for the city event, whose pages web/ composes)
    url: str = ""  # where its pages live; intake links to url + "/new"
    demo: str = ""  # async (client, settings, sessions) -> staged demo cases

    def workflow_id(self, ticket: str) -> str:
        return f"{self.id_prefix}{ticket}"

    def action(self, name: str) -> ActionSpec | None:
        return next((a for a in self.actions if a.name == name), None)


_TYPES: dict[str, CaseType] = {}


def register(case_type: CaseType) -> CaseType:
    if case_type.name in _TYPES:
        raise ValueError(f"case type {case_type.name!r} is registered already")
    _TYPES[case_type.name] = case_type
    return case_type


def get(name: str) -> CaseType | None:
    return _TYPES.get(name)


def all_types() -> list[CaseType]:
    return list(_TYPES.values())


def workflow_classes() -> list[type]:
    """Distinct workflow classes, for the worker."""
    return list(dict.fromkeys(w for t in _TYPES.values() for w in (t.workflow, *t.children)))


def of_ticket(ticket: str) -> CaseType:
    """The type a ticket belongs to: the one whose ticket prefix it has, else the city event."""
    found = [t for t in _TYPES.values() if t.ticket_prefix and ticket.startswith(t.ticket_prefix)]
    return found[0] if found else CITY_EVENT


def startable_by(role: str) -> list[CaseType]:
    """The types a user of `role` may start (intake offers these)."""
    return [
        t for t in _TYPES.values() if t.startable and (not t.start_roles or role in t.start_roles)
    ]


def load(path: str) -> Any:
    """What an entry's dotted path "module:name" names (outside the sandbox only)."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _step_target(_event_id: str, cmd: Any) -> str:
    return str(cmd.assignment_id)


CITY_EVENT = register(
    CaseType(
        name="city_event",
        label="城市事件",
        workflow=CaseWorkflow,
        # core/cases/service.py and core/intake/service.py serve it (INTAKE_ROLES there)
        start_roles=frozenset({Role.OPERATOR, Role.DISPATCHER, Role.SUPERVISOR}),
        templates="web/cases/templates",
    )
)
# 吹哨报到: one child workflow per summoned department, started by its case (blow_whistle).
WHISTLE = register(
    CaseType(
        name="whistle",
        label="吹哨报到",
        workflow=WhistleWorkflow,
        id_prefix="whistle-",
        startable=False,
    )
)
# 重大事件综合指挥调度 (articles 10, 11): everything about the type is declared here.
MAJOR_EVENT = register(
    CaseType(
        name="major_event",
        label="重大事件综合指挥调度",
        workflow=MajorEventWorkflow,
        id_prefix=EVENT_PREFIX,
        input=me.MajorEventInput,
        state=me.MajorEventState,
        query=MajorEventWorkflow.get_state,
        ticket_prefix="ME",
        children=(AssignmentWorkflow,),
        start_roles=frozenset({Role.SUPERVISOR, Role.DISPATCHER, Role.ADMIN}),
        search_attributes=major_event_attributes,
        service="core.major_events.service:MajorEventService",
        activities="activities.major_event:activities_for",
        read_model="major_events",
        templates="web/major_events/templates",
        pages="web.major_events.routes:router",
        url="/major-events",
        demo="core.major_events.demo:stage_rainstorm",
        actions=(
            ActionSpec("assess", "研判定级", COMMAND_ROLES, me.Assess, MajorEventWorkflow.assess),
            ActionSpec(
                "activate", "启动响应", COMMAND_ROLES, me.Activate, MajorEventWorkflow.activate
            ),
            ActionSpec(
                "begin_handling",
                "转入处置",
                COMMAND_ROLES,
                me.PhaseStep,
                MajorEventWorkflow.begin_handling,
            ),
            ActionSpec(
                "terminate", "响应终止", COMMAND_ROLES, me.PhaseStep, MajorEventWorkflow.terminate
            ),
            ActionSpec(
                "evaluate", "总结评估", COMMAND_ROLES, me.PhaseStep, MajorEventWorkflow.evaluate
            ),
            ActionSpec("close", "结束", COMMAND_ROLES, me.PhaseStep, MajorEventWorkflow.close),
            ActionSpec(
                "regrade", "调整级别", COMMAND_ROLES, me.Regrade, MajorEventWorkflow.regrade
            ),
            ActionSpec(
                "appoint", "任命指挥长", COMMAND_ROLES, me.Appoint, MajorEventWorkflow.appoint
            ),
            ActionSpec(
                "order_station",
                "通知进驻",
                COMMAND_ROLES,
                me.OrderStation,
                MajorEventWorkflow.order_station,
            ),
            ActionSpec(
                "assign_task",
                "下达任务",
                COMMAND_ROLES,
                me.AssignTask,
                MajorEventWorkflow.assign_task,
            ),
            ActionSpec(
                "submit_report",
                "报送信息",
                REPORT_ROLES,
                me.SubmitReport,
                MajorEventWorkflow.submit_report,
            ),
            ActionSpec(
                "link_cases", "关联工单", COMMAND_ROLES, me.LinkCases, MajorEventWorkflow.link_cases
            ),
            ActionSpec(
                "take_step",
                "签收/到岗/完成",
                STEP_ROLES,
                me.StepTaken,
                AssignmentWorkflow.take_step,
                target=_step_target,
            ),
        ),
    )
)
