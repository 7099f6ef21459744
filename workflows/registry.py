"""The registry of case types: how the API, the UI and the worker learn what types exist.

To add a type, write its workflow module under `workflows/` and call `register` below; the
worker then runs it, the API accepts `case_type=<name>` at intake, and the UI offers it.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflows.case.workflow import CaseWorkflow
from workflows.whistle.workflow import WhistleWorkflow


@dataclass(frozen=True)
class CaseType:
    name: str  # the API's case_type value and the CaseType search attribute
    label: str  # shown in the UI
    workflow: type  # a @workflow.defn class whose run takes a CaseInput
    id_prefix: str = "case-"  # workflow id = prefix + ticket
    startable: bool = True  # False: started by another workflow only (intake refuses it)

    def workflow_id(self, ticket: str) -> str:
        return f"{self.id_prefix}{ticket}"


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
    return list(dict.fromkeys(t.workflow for t in _TYPES.values()))


CITY_EVENT = register(CaseType(name="city_event", label="城市事件", workflow=CaseWorkflow))
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
