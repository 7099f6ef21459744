"""What the case workflow shows the collaborators it owns (the whistle desk, joining).

A collaborator reads the live state and the policy in force, and records events that move
no status; transitions, the projection and the clocks stay with the workflow.
"""

from __future__ import annotations

from typing import Any, Protocol

from workflows.contracts import Actor, CasePolicy, CaseState
from workflows.shared.workcal import WorkCalendar


class CaseHost(Protocol):
    @property
    def state(self) -> CaseState: ...

    @property
    def policy(self) -> CasePolicy: ...

    @property
    def calendar(self) -> WorkCalendar: ...

    def record(
        self, action: str, actor: Actor, *, reason: str = "", payload: dict[str, Any] | None = None
    ) -> None:
        """Record an event in the case's current status."""
