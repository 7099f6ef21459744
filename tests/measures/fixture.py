"""A month of cases whose measures were worked out by hand (tests/measures/test_measures.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

from sqlalchemy.orm import Session

from core.measures.store import _write, rows_for
from core.models import WhistleRecord
from tests.measures.story import Story
from workflows.shared.workcal import CST

T = datetime(2026, 11, 2, 9, 0, tzinfo=CST)
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=CST)
PLACES = {
    "gl-nhl": ("gl", "/nj/gl/gl-nhl/"),
    "gl-hq": ("gl", "/nj/gl/gl-hq/"),
    "xw-xwm": ("xw", "/nj/xw/xw-xwm/"),
}


def _dims(street: str, category: str, channel: str, **more: object) -> SimpleNamespace:
    district, path = PLACES[street]
    values = dict(
        district_id=district,
        street_id=street,
        assigned_unit_id=street,
        category=category,
        channel=channel,
        request_kind="",
        location_path=path,
        status="",
        direct_answer=False,
        lat=None,
        lon=None,
    )
    return SimpleNamespace(**{**values, **more})


def _stories() -> dict[str, tuple[Story, SimpleNamespace]]:
    garbage_nhl = _dims("gl-nhl", "exposed_garbage", "hotline")
    a = Story(T).opened().at(5, "accept").at(10, "contact").at(30, "submit_feedback")
    a.verified(40).callback(50, "satisfied", resolved=True)
    b = Story(T).opened().at(10, "return_case").at(12, "dispatch", unit="u2").at(20, "accept")
    b.at(25, "extend_deadline", hours=1).at(60, "overdue").at(60, "escalate")
    b.at(90, "submit_feedback").verified(100, passed=False).at(110, "submit_feedback")
    b.verified(120).callback(130, "basically_satisfied", resolved=False)
    c = Story(T).opened().at(30, "overdue").at(30, "escalate").at(40, "accept")
    c.at(50, "whistle_blow").at(60, "submit_feedback").verified(70)
    c.callback(80, "unsatisfied", "REWORK").at(90, "submit_feedback").verified(100)
    c.callback(110, "unsatisfied", resolved=False)
    d = Story(T).opened().at(5, "accept")
    e = Story(T).opened().at(10, "accept").at(20, "submit_feedback").verified(30)
    e.at(40, "record_callback", "ARCHIVED", rating="", unreachable=True)
    f = Story(T).at(0, "receive").at(1, "register").at(3, "void")
    g = Story(T).at(0, "receive").at(0, "direct_answer", "ARCHIVED")
    h = Story(datetime(2026, 10, 31, 23, 0, tzinfo=CST)).opened().at(5, "accept")
    h.at(20, "submit_feedback").verified(30)
    i = Story(datetime(2026, 11, 30, 23, 50, tzinfo=CST)).opened()
    garbage_xw = _dims("xw-xwm", "exposed_garbage", "hotline")
    return {
        "A": (a, garbage_nhl),
        "B": (b, garbage_nhl),
        "C": (c, garbage_nhl),
        "D": (d, _dims("gl-hq", "manhole", "grid")),
        "E": (e, garbage_xw),
        "F": (f, garbage_xw),
        "G": (g, _dims("xw-xwm", "exposed_garbage", "hotline", direct_answer=True)),
        "H": (h, garbage_xw),
        "I": (i, garbage_xw),
    }


def _whistle(dept: str, **values: object) -> WhistleRecord:
    summoned = T + timedelta(minutes=50)
    return WhistleRecord(
        id=f"whistle-C-{dept}",
        case_id="case-C",
        dept_id=dept,
        district_id="gl",
        street_id="gl-nhl",
        summoned_at=summoned,
        sign_due=summoned + timedelta(hours=1),
        report_due=summoned + timedelta(days=3),
        **values,
    )


def seed(session: Session) -> None:
    batch = [
        (f"case-{name}", *rows_for(f"case-{name}", dims, story.events))
        for name, (story, dims) in _stories().items()
    ]
    _write(session, batch)
    signed = T + timedelta(minutes=55)
    session.add(_whistle("gl-police", step="signed", signed_at=signed, signed_in_time=True))
    session.add(
        _whistle(
            "gl-water",
            step="reported",
            signed_at=T + timedelta(hours=3),
            signed_in_time=False,
            reported_at=T + timedelta(days=1),
            reported_in_time=True,
        )
    )
