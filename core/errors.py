"""The one error type of the domain services: an HTTP status, a reason and the field to blame,
with a code (and its params) that the UI translates (web/labels.py REFUSALS)."""

from __future__ import annotations

from typing import Any

from workflows.shared.rejection import HTTP_OF_KIND, Rejection

RETRY_AFTER_S = 2  # what a 503 tells the client to wait: dependencies come back in seconds


class CaseError(Exception):
    """A refusal the caller can act on: HTTP status, reason and the field to blame.

    `reason` is English (logs, the API's `detail`); `code` names the refusal for the UI's
    catalogue, `params` fill its text. A refusal without a code shows its reason as it is.

    A 503 (a dependency down or slow) carries `retry_after`: the request may be sent again,
    with the same Idempotency-Key, after that many seconds.
    """

    def __init__(
        self,
        status: int,
        reason: str,
        field: str = "",
        extra: dict[str, Any] | None = None,
        *,
        code: str = "",
        params: dict[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(reason)
        self.status, self.reason, self.field = status, reason, field
        self.code, self.params = code, params or {}
        self.extra = extra or {}  # more for the caller: duplicate candidates, say
        if retry_after is None and status == 503:
            retry_after = RETRY_AFTER_S
        self.retry_after = retry_after

    @classmethod
    def of(cls, rejection: Rejection) -> CaseError:
        """A workflow rule's refusal (a validator's, or asked before the update) over HTTP."""
        return cls(
            HTTP_OF_KIND[rejection.kind],
            rejection.reason,
            rejection.field,
            code=rejection.code,
            params=rejection.params,
        )


class IntakePending(Exception):
    """The case was started, but routing has not answered in time: 202 with its ticket.

    `state` is the case as a query found it, or None when even the query did not answer.
    """

    def __init__(self, ticket: str, state: Any = None, tracking_token: str = "") -> None:
        super().__init__(f"case {ticket} started; routing has not answered yet")
        self.ticket, self.state, self.tracking_token = ticket, state, tracking_token
