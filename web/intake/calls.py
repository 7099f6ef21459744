"""A caller's earlier calls, looked up by the phone number the operator types at intake.

Only cases the operator may see (the access policy), newest first; who called is shown as
the access rules allow (masked unless the viewer took the call or supervises the area, and
every whole view is logged), through the queue's reporter view.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from core import access
from core.cases.service import CaseService
from core.db import session_scope
from core.models import CaseRecord, User
from web.cases.context import queue_reporters

MAX_CALLS = 10
_PHONE = re.compile(r"\+?[0-9][0-9 -]{5,19}")


@dataclass
class EarlierCalls:
    rows: list[CaseRecord]
    reporters: dict[str, dict[str, Any]]
    searched: bool  # a number long enough to search for


def normalise(phone: str) -> str:
    """Digits only (a leading + kept): what intake stores for a typed number."""
    phone = phone.strip()
    if not _PHONE.fullmatch(phone):
        return ""
    return ("+" if phone.startswith("+") else "") + re.sub(r"\D", "", phone)


def earlier_calls(cases: CaseService, user: User, phone: str) -> EarlierCalls:
    number = normalise(phone)
    if len(number) < 7:
        return EarlierCalls([], {}, searched=False)
    with session_scope(cases.sessions) as session:
        query = (
            select(CaseRecord)
            .where(col(CaseRecord.reporter_phone).in_({number, phone.strip()}))
            .where(access.case_clause(session, user))
            .order_by(col(CaseRecord.created_at).desc())
            .limit(MAX_CALLS)
        )
        rows = list(session.exec(query))
    return EarlierCalls(rows, queue_reporters(cases, user, rows), searched=True)
