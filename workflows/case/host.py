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
    def state(self) -> CaseState:
        """The live state: a collaborator changes it in place, never replaces it."""

    @property
    def policy(self) -> CasePolicy:
        """The policy in force (a category change may replace it)."""

    @property
    def calendar(self) -> WorkCalendar:
        """The working calendar of the policy in force."""

    def record(
        self, action: str, actor: Actor, *, reason: str = "", payload: dict[str, Any] | None = None
    ) -> None:
        """Record an event in the case's current status."""
