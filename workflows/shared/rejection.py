"""A refusal of a workflow's validator: a code the UI translates, and an English reason.

The code (with its params) is what callers act on: the web UI shows the Chinese text that
`web.labels.REFUSALS` files under it, the JSON API returns it beside the English `detail`.
A refusal raised in a validator never enters history, so codes and reasons may change freely.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from temporalio.exceptions import ApplicationError

# What each kind of refusal is over HTTP.
HTTP_OF_KIND = {"forbidden": 403, "conflict": 409, "invalid": 422}


@dataclass(frozen=True)
class Rejection:
    """Why an action is refused. `kind` maps to HTTP: forbidden 403, conflict 409, invalid 422.

    `code` names the refusal for translation; `params` fill its text's `{placeholders}`
    (plain JSON values: they travel in the failure's details).
    """

    kind: str
    code: str
    reason: str
    field: str = ""
    params: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False)

    def error(self) -> ApplicationError:
        """The failure a validator raises: type is the kind; details field, code and params."""
        return ApplicationError(
            self.reason, self.field, self.code, self.params, type=self.kind, non_retryable=True
        )


def from_error(err: BaseException) -> Rejection | None:
    """The rejection an `ApplicationError` carries, or None when it is no refusal."""
    if not isinstance(err, ApplicationError) or err.type not in HTTP_OF_KIND:
        return None
    kind = err.type or ""
    details = list(err.details)
    field_ = str(details[0]) if details else ""
    code = str(details[1]) if len(details) > 1 else ""
    params = details[2] if len(details) > 2 and isinstance(details[2], dict) else {}
    return Rejection(kind, code, err.message, field_, params)
