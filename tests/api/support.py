"""Helpers of the JSON API tests."""

from __future__ import annotations


def plain_refusal(detail: str) -> dict[str, object]:
    """The whole body of a refusal that names no field, code or parameters."""
    return {"detail": detail, "field": "", "code": "", "params": {}}
