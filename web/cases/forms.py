"""From a case page's action forms to the service's request model."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from starlette.datastructures import FormData

from core.cases.service import ActionRequest
from web.formdata import text
from workflows.shared.workcal import CST


def action_request(
    form: FormData, unit_named: Callable[[str], str] = lambda name: name
) -> ActionRequest:
    """Any action's form: it sends the fields it has; the workflow says what is missing.

    `unit_named`: the unit id of a typed unit name (or id).
    """
    other = text(form, "unit_other")
    data: dict[str, object] = {
        "reason": text(form, "reason"),
        "note": text(form, "note"),
        # A typed unit wins over the list: dispatch may go to any unit of the tree.
        "unit_id": unit_named(other) if other else text(form, "unit_id"),
        "rating": text(form, "rating"),
        "approve": text(form, "approve") == "true",
        "passed": text(form, "passed") == "true",
        "evidence": evidence(form),
    }
    for name in ("hours", "category", "priority", "outcome"):
        if text(form, name):
            data[name] = text(form, name)
    if text(form, "expected_version"):
        data["expected_version"] = text(form, "expected_version")
    if text(form, "review_at"):
        data["review_at"] = china_local(text(form, "review_at"))
    return ActionRequest.model_validate(data)


def evidence(form: FormData) -> list[str]:
    """The step's files: uploaded ones by sha256 (field `attachments`), then any names typed
    into the older free-text field, each once."""
    uploaded = [v for v in form.getlist("attachments") if isinstance(v, str) and v]
    typed = [e for e in re.split(r"[,，;；\s]+", text(form, "evidence")) if e]
    return list(dict.fromkeys([*uploaded, *typed]))


def china_local(value: str) -> datetime | str:
    """A `datetime-local` value, which has no zone, read as China time.

    What does not parse is passed on as it is, for the model to refuse with its own message.
    """
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return value
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=CST)
