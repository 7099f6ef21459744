"""The one error type of the domain services: an HTTP status, a reason and the field to blame."""

from __future__ import annotations

from typing import Any


class CaseError(Exception):
    """A refusal the caller can act on: HTTP status, reason and the field to blame."""

    def __init__(
        self, status: int, reason: str, field: str = "", extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(reason)
        self.status, self.reason, self.field = status, reason, field
        self.extra = extra or {}  # more for the caller: duplicate candidates, say
