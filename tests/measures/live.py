"""Cases of the last days, open and closed, for the overview tests (rows and facts)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from core.measures.store import _write, rows_for
from core.models import CaseRecord
from tests.cases import case_record
from tests.measures.story import Story

STREETS = {  # street: (district, a point inside its demo boundary)
    "gl-nhl": ("gl", 119.1, 32.56),
    "gl-hq": ("gl", 119.1, 32.45),
    "xw-xwm": ("xw", 118.45, 32.5),
}
CATEGORIES = [("exposed_garbage", "暴露垃圾"), ("manhole_missing", "井盖缺失")]


def _case(n: int, street: str, received: datetime, status: str, **more: Any) -> CaseRecord:
    district, lon, lat = STREETS[street]
    key, name = CATEGORIES[n % 2]
    values: dict[str, Any] = dict(
        title="t",
        category=key,
        category_name=name,
        status=status,
        location_unit_id=street,
        location_path=f"/nj/{district}/{street}/",
        district_id=district,
        street_id=street,
        assigned_unit_id=street,
        created_at=received,
        updated_at=received,
        lat=lat + n * 0.001,
        lon=lon + n * 0.001,
    )
    return case_record(f"L{n}", **{**values, **more})


def seed_live(session: Session, now: datetime) -> dict[str, int]:
    """Ten cases over the last days; returns the counts today's tiles show for 鼓楼区."""
    batch, rows = [], []
    for n in range(10):
        street = list(STREETS)[n % 3]
        received = now - timedelta(days=n % 4, hours=1)
        story = Story(received).opened(street).at(5, "accept")
        closed = n % 4 == 1  # n = 1, 5, 9
        if closed:
            story.at(30, "submit_feedback").verified(60)
        late = n in (0, 3)
        if late:
            story.at(40, "overdue").at(40, "escalate")
        row = _case(
            n,
            street,
            received,
            "CLOSED" if closed else "HANDLING",
            overdue=late,
            escalation_level=1 if late else 0,
        )
        rows.append(row)
        batch.append((row.id, *rows_for(row.id, row, story.events)))
    session.add_all(rows)
    _write(session, batch)
    # 鼓楼 holds n = 0 1 3 4 6 7 9; received today: n = 0 4; open: 0 3 4 6 7; closed today: none
    return {"open": 5, "overdue": 2, "escalated": 2}
