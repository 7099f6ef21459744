"""Which addresses a channel can reach: an e-mail address, a mainland mobile number."""

from __future__ import annotations

import re

# Deliberately plain: a mail server decides the rest, and its refusal is recorded.
EMAIL = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
EMAIL_PATTERN = r"^$|^[^@\s]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$"
# A landline cannot take an SMS: only mobiles (+86 optional, spaces or dashes allowed).
_MOBILE = re.compile(r"(?:\+?86)?(1[3-9]\d{9})")


def mobile(phone: str) -> str:
    """The 11-digit mobile number `phone` is, or "" when it is none (a landline, a typo)."""
    m = _MOBILE.fullmatch(re.sub(r"[\s-]", "", phone))
    return m.group(1) if m else ""


def is_email(address: str) -> bool:
    return len(address) <= 254 and EMAIL.fullmatch(address) is not None
