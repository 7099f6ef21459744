"""Allocations a case gives back when it leaves handling (the projection's part of the
directory): pure SQL over the allocation and equipment rows, without the directory's service,
so the case activities need nothing that calls workflows."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from core.models import Allocation, Equipment


def release_for_case(session: Session, case_id: str, status: str, at: datetime | None) -> int:
    """Release what is still allocated to a case that has left handling; return how many.

    Called by the projection, so a retried write releases nothing twice.
    """
    open_rows = session.exec(
        select(Allocation).where(
            Allocation.case_id == case_id, col(Allocation.released_at).is_(None)
        )
    ).all()
    for row in open_rows:
        row.released_at, row.released_by = at, "system"
        row.release_reason = f"case left handling ({status})"
        if row.equipment_id is not None:
            equipment = session.get(Equipment, row.equipment_id)
            if equipment is not None and equipment.status == "allocated":
                equipment.status = "available"
                session.add(equipment)
        session.add(row)
    return len(open_rows)
