"""Masking of reporters' personal information, and phone numbers kept out of log lines."""

from __future__ import annotations

import logging

import structlog

from core.logs import configure_logging
from core.models import User
from core.privacy import may_see, redact_phones, reporter
from workflows.privacy import mask_name, mask_phone


def person(username: str, role: str) -> User:
    return User(username=username, display_name=username, password_hash="", role=role, unit_id="nj")


def test_masks() -> None:
    assert mask_phone("13812341234") == "138****1234"
    assert mask_phone("025-83451234") == "025****1234"
    assert mask_phone("12345") == "***45" and mask_phone("") == ""
    assert mask_name("张三丰") == "张**" and mask_name("") == ""


def test_only_the_taker_and_supervisors_see_the_reporter_whole() -> None:
    taker, other = person("operator1", "operator"), person("operator2", "operator")
    supervisor, handler = person("s", "supervisor"), person("h", "handler")
    assert may_see(taker, "operator1") and may_see(supervisor, "operator1")
    assert not may_see(other, "operator1") and not may_see(handler, "operator1")
    assert not may_see(None, "operator1")
    assert reporter(handler, "operator1", "张三", "13812341234") == {
        "name": "张*",
        "phone": "138****1234",
        "masked": True,
    }


def test_the_log_filter_masks_phone_numbers_and_nothing_else() -> None:
    line = "caller 13812345678 / 138 1234 5678, office 025-83451234, ticket CL20261129-000123"
    event = redact_phones(None, "info", {"event": line, "n": 13812345678})
    assert event["event"] == (
        "caller 138****5678 / 138****5678, office 025-****1234, ticket CL20261129-000123"
    )


def test_every_log_line_goes_through_the_filter() -> None:
    """structlog's own lines and stdlib's (temporalio, uvicorn) share the filter."""
    configure_logging(json=True)  # idempotent: the process's configuration, whoever made it
    assert redact_phones in structlog.get_config()["processors"]
    formatters = [h.formatter for h in logging.getLogger().handlers]
    assert any(
        isinstance(f, structlog.stdlib.ProcessorFormatter)
        and redact_phones in (f.foreign_pre_chain or [])
        for f in formatters
    )
