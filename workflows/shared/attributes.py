"""Search attributes that make cases findable from the Temporal CLI and Web UI.

They are registered by the dev stack (temporal-dev.yml) and kept up to date by the workflow.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeKey, SearchAttributeUpdate

CASE_TYPE = SearchAttributeKey.for_keyword("CaseType")
CASE_STATUS = SearchAttributeKey.for_keyword("CaseStatus")
CATEGORY = SearchAttributeKey.for_keyword("Category")
DISTRICT = SearchAttributeKey.for_keyword("District")
STREET = SearchAttributeKey.for_keyword("Street")
ASSIGNED_UNIT = SearchAttributeKey.for_keyword("AssignedUnit")
PRIORITY = SearchAttributeKey.for_keyword("Priority")
DUE_AT = SearchAttributeKey.for_datetime("DueAt")
OVERDUE = SearchAttributeKey.for_bool("Overdue")
ESCALATED = SearchAttributeKey.for_bool("Escalated")
ESCALATION_LEVEL = SearchAttributeKey.for_int("EscalationLevel")

# Name -> type, in the form `temporal server start-dev --search-attribute` and
# WorkflowEnvironment.start_local(search_attributes=...) take.
ALL = (
    CASE_TYPE,
    CASE_STATUS,
    CATEGORY,
    DISTRICT,
    STREET,
    ASSIGNED_UNIT,
    PRIORITY,
    DUE_AT,
    OVERDUE,
    ESCALATED,
    ESCALATION_LEVEL,
)


def started() -> dict[str, Any]:
    """The running workflow's search attributes as its starter set them, by name."""
    return {p.key.name: p.value for p in workflow.info().typed_search_attributes}


def upsert_changed(last: dict[str, Any], pairs: list[SearchAttributeUpdate[Any]]) -> None:
    """Upsert the pairs whose value differs from `last`, and note them there: each upsert is
    a visibility write on the server, so a workflow sends only what changed."""
    changed = [p for p in pairs if last.get(p.key.name) != p.value]
    if changed:
        last.update((p.key.name, p.value) for p in changed)
        workflow.upsert_search_attributes(changed)
