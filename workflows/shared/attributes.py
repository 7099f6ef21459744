"""Search attributes that make cases findable from the Temporal CLI and Web UI.

They are registered by the dev stack (temporal-dev.yml) and kept up to date by the workflow.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

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
