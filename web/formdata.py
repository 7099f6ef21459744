"""Reading posted forms: a field's trimmed text, and the form's Idempotency-Key."""

from __future__ import annotations

import re

from starlette.datastructures import FormData


def text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def idempotency_key(form: FormData) -> str:
    """The form's Idempotency-Key, if it is one (a malformed one is ignored, not trusted)."""
    key = text(form, "idempotency_key")
    return key if re.fullmatch(r"[A-Za-z0-9_.:-]{1,100}", key) else ""
