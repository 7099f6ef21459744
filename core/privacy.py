"""Who sees a reporter's personal information (article 20), and the log filter that keeps
phone numbers out of every log line.

Names and phones are stored whole in the read model; they are shown whole only to the
operator who took the report and to supervisors, masked (138****1234) to everyone else, and
never to Open311 clients or in search attributes.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any

from core.models import User
from workflows.contracts import Role
from workflows.privacy import mask_name, mask_phone

__all__ = ["mask_name", "mask_phone", "may_see", "redact_phones", "reporter"]

# Mainland mobile numbers (and landlines with an area code) wherever they appear in a log line.
PHONE = re.compile(
    r"(?<!\d)(1[3-9]\d)[ -]?\d{4}[ -]?(\d{4})(?!\d)|(?<!\d)(0\d{2,3}-?)\d{3,4}(\d{4})(?!\d)"
)


def may_see(user: User | None, taken_by: str) -> bool:
    return user is not None and (user.role == Role.SUPERVISOR or user.username == taken_by)


def reporter(user: User | None, taken_by: str, name: str, phone: str) -> dict[str, Any]:
    """The reporter as `user` may see them."""
    if may_see(user, taken_by):
        return {"name": name, "phone": phone, "masked": False}
    return {"name": mask_name(name), "phone": mask_phone(phone), "masked": True}


def _mask_match(m: re.Match[str]) -> str:
    if m.group(1):
        return f"{m.group(1)}****{m.group(2)}"
    return f"{m.group(3)}****{m.group(4)}"


def redact_phones(
    _logger: object, _name: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask anything shaped like a phone number in string values."""
    for key, value in event.items():
        if isinstance(value, str) and any(c.isdigit() for c in value):
            event[key] = PHONE.sub(_mask_match, value)
    return event
