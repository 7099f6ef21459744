"""Masking of reporters' personal information (article 20).

The workflow keeps only masked copies in the state it returns from queries and updates; the
raw values go to the read model, which shows them to the operator who took the call and to
supervisors (core/privacy/masking.py).
"""

from __future__ import annotations

import dataclasses

from workflows.contracts import CaseInput


def mask_phone(phone: str) -> str:
    """13812341234 → 138****1234; short numbers keep only their last two digits."""
    digits = phone.strip()
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    return "*" * max(len(digits) - 2, 0) + digits[-2:] if digits else ""


def mask_name(name: str) -> str:
    """张三丰 → 张**: the family name stays, so an operator can still address the caller."""
    name = name.strip()
    return name[:1] + "*" * (len(name) - 1) if name else ""


def masked(inp: CaseInput) -> CaseInput:
    """A report as the state keeps it: reporter masked, the tracking token left out."""
    return dataclasses.replace(
        inp,
        reporter_name=mask_name(inp.reporter_name),
        reporter_phone=mask_phone(inp.reporter_phone),
        tracking_token="",
    )
