"""From the bulk override forms to the filter and the override's request model."""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import FormData

from core.cases.service import CaseFilter
from core.supervision.overrides import BulkRequest
from web.cases.forms import action_request
from web.formdata import text


def case_filter(form: FormData, area: str) -> CaseFilter:
    """The bulk filter as posted, always within `area` (the supervisor's own unit)."""
    return CaseFilter(
        district=text(form, "district"),
        category=text(form, "category"),
        status=text(form, "status"),
        # An unticked box means "either", not "not overdue".
        overdue=True if text(form, "overdue") == "true" else None,
        escalated=True if text(form, "escalated") == "true" else None,
        area=area,
    )


def bulk_request(
    form: FormData, area: str, unit_named: Callable[[str], str] = lambda name: name
) -> BulkRequest:
    """The confirmed bulk override (core.overrides checks its fields before any case).

    `unit_named`: the unit id of a typed unit name (or id).
    """
    return BulkRequest.model_validate(
        {
            "filters": case_filter(form, area),
            "action": text(form, "action"),
            "body": action_request(form, unit_named),
            "expected": text(form, "expected"),
        }
    )
