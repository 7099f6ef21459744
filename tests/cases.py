"""One city event, as live state or as a read-model row, for tests and benches to start from.

Most tests need "some 暴露垃圾 case from the hotline" and care about a few fields only; they
name those and take the rest from here, so that what a test changes stands out.
"""

from __future__ import annotations

from typing import Any

from core.models import CaseRecord
from workflows.contracts import CaseState, Location

GRID = Location(
    unit_id="gl-nhl-c1-g1",
    path=["nj", "gl", "gl-nhl", "gl-nhl-c1", "gl-nhl-c1-g1"],
    district_id="gl",
    street_id="gl-nhl",
)


# A 暴露垃圾 city event from the hotline, in the fields its live state and its row share ...
BASICS: dict[str, Any] = {
    "case_type": "city_event",
    "channel": "hotline",
    "title": "暴露垃圾",
    "category": "exposed_garbage",
    "category_name": "暴露垃圾",
    "priority": "normal",
}
# ... and in those of the live state alone.
LIVE: dict[str, Any] = {"description": "", "category_kind": "event", "external_id": ""}


def case_state(ticket: str, **fields: Any) -> CaseState:
    """The live state of that case at `GRID`, with `fields` changed."""
    values = {"case_id": f"case-{ticket}", "ticket": ticket, "location": GRID, **BASICS, **LIVE}
    return CaseState(**{**values, **fields})


def case_record(ticket: str, **fields: Any) -> CaseRecord:
    """The read-model row of that case, with `fields` changed."""
    return CaseRecord(**{"id": f"case-{ticket}", "ticket": ticket, **BASICS, **fields})
