"""How each field is shown to a viewer, the log of unmasked views, tokens kept from staff, and
personal information kept out of log lines."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
import structlog
from sqlmodel import select

from core.db import SessionFactory, session_scope
from core.logs import configure_logging
from core.models import PersonalDataView, User
from core.privacy.masking import Shown, Subject, View, reporter, shown
from core.privacy.scrub import redact_log
from workflows.shared.privacy import mask_name, mask_phone

GL_CASE = "/nj/gl/gl-nhl/gl-nhl-c1/gl-nhl-c1-g1/"
REPORT = Subject("report", "CL1", area_path=GL_CASE, taken_by="operator1")
WATER_TEAM = Subject("team", "7", area_path="/nj/gl/gl-dept-water/", unit_id="gl-dept-water")


def person(username: str, role: str, unit_id: str = "nj") -> User:
    return User(
        username=username, display_name=username, password_hash="", role=role, unit_id=unit_id
    )


TAKER = person("operator1", "operator")
OTHER_OPERATOR = person("operator2", "operator")
CITY_SUPERVISOR = person("supervisor1", "supervisor", "nj")
GL_SUPERVISOR = person("supervisor_gl", "supervisor", "gl")
XW_SUPERVISOR = person("supervisor_xw", "supervisor", "xw")
HANDLER = person("handler_nhl", "handler", "gl-nhl")
WATER_HANDLER = person("handler_gl_water", "handler", "gl-dept-water")
ADMIN = person("admin", "admin")


def test_masks() -> None:
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("025-83451234") == "025****1234"
    assert mask_phone("12345") == "***45" and mask_phone("") == ""
    assert mask_name("张三丰") == "张**" and mask_name("") == ""


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        (TAKER, Shown.WHOLE),
        (CITY_SUPERVISOR, Shown.WHOLE),
        (GL_SUPERVISOR, Shown.WHOLE),
        (XW_SUPERVISOR, Shown.MASKED),  # a supervisor, but of another district
        (OTHER_OPERATOR, Shown.MASKED),
        (HANDLER, Shown.MASKED),
        (ADMIN, Shown.MASKED),
        (None, Shown.WITHHELD),
        (person("public", "public", ""), Shown.WITHHELD),
    ],
)
def test_a_reporter_is_whole_to_the_taker_and_the_supervisors_of_the_area(
    viewer: User | None, expected: Shown
) -> None:
    for field in ("cases.reporter_name", "linked_reports.reporter_phone"):
        assert shown(viewer, field, REPORT) is expected


@pytest.mark.parametrize(
    ("viewer", "expected"),
    [
        (WATER_HANDLER, Shown.WHOLE),  # the unit's own
        (GL_SUPERVISOR, Shown.WHOLE),
        (ADMIN, Shown.WHOLE),  # keeps every unit's directory
        (XW_SUPERVISOR, Shown.MASKED),
        (HANDLER, Shown.MASKED),  # another unit of the same district
        (None, Shown.WITHHELD),
    ],
)
def test_a_staff_phone_is_whole_to_its_unit_and_the_supervisors_of_the_area(
    viewer: User | None, expected: Shown
) -> None:
    assert shown(viewer, "teams.phone", WATER_TEAM) is expected
    assert shown(viewer, "people.phone", WATER_TEAM) is expected
    assert shown(viewer, "people.name", WATER_TEAM) is (
        Shown.WITHHELD if viewer is None else Shown.WHOLE
    )


def test_tokens_and_secrets_are_never_shown_to_staff() -> None:
    for viewer in (TAKER, CITY_SUPERVISOR, ADMIN, HANDLER):
        for field in (
            "cases.tracking_token",
            "linked_reports.tracking_token",
            "user.password_hash",
        ):
            assert shown(viewer, field, REPORT) is Shown.WITHHELD


def test_the_public_sees_a_reports_text_only_with_consent_and_scrubbed() -> None:
    agreed = Subject("report", "CL2", published=True)
    assert shown(None, "cases.description", REPORT) is Shown.WITHHELD
    assert shown(None, "cases.lat", REPORT) is Shown.WITHHELD
    assert shown(None, "cases.description", agreed) is Shown.MASKED
    assert shown(None, "cases.lat", agreed) is Shown.WHOLE
    assert shown(None, "cases.reporter_phone", agreed) is Shown.WITHHELD
    assert shown(None, "cases.status", REPORT) is Shown.WHOLE
    assert shown(HANDLER, "cases.description", REPORT) is Shown.WHOLE


def test_the_view_notes_only_restricted_fields_shown_whole() -> None:
    view = View(GL_SUPERVISOR, route="GET /test")
    assert reporter(
        view,
        ticket="CL1",
        case_ticket="CL1",
        area_path=GL_CASE,
        taken_by="operator1",
        name="张三",
        phone="13812345678",
    ) == {"name": "张三", "phone": "13812345678", "masked": False}
    assert view.show("cases.description", "垃圾", REPORT) == "垃圾"  # staff text: not logged
    [seen] = view.disclosed.values()
    assert seen.fields == ["cases.reporter_name", "cases.reporter_phone"]

    masked = View(HANDLER, route="GET /test")
    shown_to_handler = reporter(
        masked,
        ticket="CL3",
        case_ticket="CL1",
        area_path=GL_CASE,
        taken_by="operator1",
        name="李四",
        phone="13912345678",
    )
    assert shown_to_handler == {"name": "李*", "phone": "139****5678", "masked": True}
    assert masked.disclosed == {}


def test_views_are_recorded_with_who_whose_which_and_where(sessions: SessionFactory) -> None:
    view = View(TAKER, route="GET /api/v1/cases/CL1")
    view.show("cases.reporter_phone", "13812345678", REPORT)
    view.show("cases.reporter_name", "", REPORT)  # nothing to see: nothing logged
    assert view.record(sessions) == 1
    assert view.record(sessions) == 0  # recorded once
    with session_scope(sessions) as session:
        [row] = session.exec(select(PersonalDataView)).all()
    assert (row.viewer_username, row.viewer_role, row.viewer_unit_id) == (
        "operator1",
        "operator",
        "nj",
    )
    assert (row.subject_kind, row.subject_key, row.area_path) == ("report", "CL1", GL_CASE)
    assert row.fields == ["cases.reporter_phone"] and row.route == "GET /api/v1/cases/CL1"
    assert row.at <= datetime.now(UTC)


def test_the_log_filter_masks_phones_id_numbers_and_emails_and_nothing_else() -> None:
    line = (
        "caller 13812345678 / 138 1234 5678, office 025-83451234, ticket CL20261129-000123, "
        "id 11010519491231002X, mail wxm@example.cn, at 2026-11-29 10:30, 颐和路12号"
    )
    event = redact_log(None, "info", {"event": line, "n": 13812345678})
    assert event["event"] == (
        "caller 138****5678 / 138****5678, office 025-****1234, ticket CL20261129-000123, "
        "id 110105********002X, mail w***@example.cn, at 2026-11-29 10:30, 颐和路12号"
    )
    assert event["n"] == 13812345678


def test_every_log_line_goes_through_the_filter() -> None:
    """structlog's own lines and stdlib's (temporalio, uvicorn) share the filter."""
    configure_logging(json=True)  # idempotent: the process's configuration, whoever made it
    assert redact_log in structlog.get_config()["processors"]
    formatters = [h.formatter for h in logging.getLogger().handlers]
    assert any(
        isinstance(f, structlog.stdlib.ProcessorFormatter)
        and redact_log in (f.foreign_pre_chain or [])
        for f in formatters
    )
