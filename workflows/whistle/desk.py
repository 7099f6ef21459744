"""吹哨报到 on the case's side: the whistle desk a CaseWorkflow owns.

The desk starts one WhistleWorkflow child per summoned department, watches them until they
end, and records on the case's timeline what the blower, the district and the departments
do. The case workflow's update and signal handlers delegate here; the rules they check
live in `workflows/whistle/rules.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError, FailureError

with workflow.unsafe.imports_passed_through():
    from workflows.case.host import CaseHost
    from workflows.case.transitions import STATUS_NAMES
    from workflows.contracts import (
        SYSTEM,
        ApproveWhistle,
        BlowWhistle,
        CloseWhistle,
        RateWhistle,
        WhistleInput,
        WhistleMember,
        WhistleProgress,
        WhistleRound,
        WhistleStep,
    )
    from workflows.shared.fields import derive
    from workflows.whistle import rules
    from workflows.whistle.rules import FINISHED, WhistleClock
    from workflows.whistle.workflow import WhistleWorkflow, start_search_attributes

Child = workflow.ChildWorkflowHandle[Any, Any]


class WhistleDesk:
    """The open whistles of one case: their child workflows, the lock and the watchers."""

    def __init__(self, case: CaseHost) -> None:
        self._case = case
        self._lock = asyncio.Lock()
        self._children: dict[str, Child] = {}  # open whistles by workflow id
        self._watchers: list[asyncio.Task[None]] = []

    @property
    def busy(self) -> bool:
        """Whether a whistle child is still running."""
        return bool(self._children)

    async def all_ended(self) -> None:
        await workflow.wait_condition(lambda: not self._children)

    async def blow(self, cmd: BlowWhistle) -> None:
        """Summon departments; a kind that needs approval waits for the district first."""
        state = self._case.state
        rnd = rules.new_round(state, cmd, workflow.now())
        state.whistles.append(rnd)
        waiting = rnd.status == "pending_approval"
        payload = {
            "round": rnd.round,
            "kind": rnd.kind,
            "units": [m.unit.id for m in rnd.members],
            "notify": [state.location.district_id] if waiting else [],
        }
        self._case.record("whistle_blow", cmd.actor, reason=rnd.need, payload=payload)
        if not waiting:
            await self._summon(rnd)

    async def approve(self, cmd: ApproveWhistle) -> None:
        rnd = rules.open_round(self._case.state)
        assert rnd is not None  # the validator guarantees it
        rnd.status, rnd.approved_by = "open", cmd.actor.username
        payload = {"round": rnd.round, "notify": [rnd.blower_unit.id]}
        self._case.record("whistle_approve", cmd.actor, reason=cmd.note, payload=payload)
        await self._summon(rnd)

    async def close(self, cmd: CloseWhistle) -> None:
        """The whistle-blower ends the round early; departments that took part co-handle."""
        state = self._case.state
        rnd = rules.open_round(state)
        assert rnd is not None  # the validator guarantees it
        open_members = _finish_round(rnd, "closed", cmd.reason)
        rules.add_co_handlers(state, [m.unit for m in rnd.members if m.signed_at is not None])
        payload = {"round": rnd.round, "units": [m.unit.id for m in open_members]}
        payload["notify"] = payload["units"]
        self._case.record("whistle_close", cmd.actor, reason=cmd.reason, payload=payload)
        async with self._lock:
            for m in open_members:
                await self._tell(m, cmd.reason)

    def rate(self, cmd: RateWhistle) -> None:
        """The whistle-blower rates one department's response (1–5), kept for assessment."""
        found = rules.rated_member(self._case.state, cmd)
        assert found is not None  # the validator guarantees it
        rnd, member = found
        member.rating, member.rating_note = cmd.score, cmd.note
        payload = {
            "round": rnd.round,
            "unit": member.unit.id,
            "whistle_id": member.whistle_id,
            "score": cmd.score,
            "note": cmd.note,
            "notify": [member.unit.id],
        }
        self._case.record("whistle_rate", cmd.actor, reason=cmd.note, payload=payload)

    def progress(self, progress: WhistleProgress) -> None:
        """A department signed, contacted, reported or fell behind (sent by its whistle)."""
        state = self._case.state
        found = rules.apply_progress(state, progress)
        if found is None or progress.event not in ("sign", "contact", "report"):
            return  # a late signal, or a rung: the whistle's own timeline keeps those
        rnd, member = found
        payload = {"round": rnd.round, "unit": member.unit.id, "whistle_id": member.whistle_id}
        actor = progress.actor or SYSTEM
        self._case.record(f"whistle_{progress.event}", actor, reason=progress.note, payload=payload)
        if rnd.status == "closed" and progress.event == "sign":  # heard after the close
            rules.add_co_handlers(state, [member.unit])
        elif rnd.status == "open" and rules.all_reported(rnd):
            _finish_round(rnd, "done", "")
            rules.add_co_handlers(state, [m.unit for m in rnd.members])
            payload = {"round": rnd.round, "notify": [rnd.blower_unit.id]}
            self._case.record("whistle_done", SYSTEM, payload=payload)

    def end(self) -> None:
        """A case that closes or is voided cancels its open whistle, one event on each side."""
        state = self._case.state
        rnd = rules.open_round(state)
        if rnd is None or state.status not in rules.ENDS_WHISTLES:
            return
        reason = f"案件{STATUS_NAMES[state.status]}，吹哨撤销"
        unfinished = _finish_round(rnd, "cancelled", reason)
        units = [m.unit.id for m in unfinished]
        payload = {"round": rnd.round, "units": units, "notify": units}
        self._case.record("whistle_cancel", SYSTEM, reason=reason, payload=payload)
        for m in unfinished:
            handle = self._children.get(m.whistle_id)
            if handle is not None:
                handle.cancel(reason)  # the child records it; the case waits for that

    async def _summon(self, rnd: WhistleRound) -> None:
        """Start one child workflow per department, all counting from the same instant."""
        now = workflow.now()
        dues = WhistleClock(rnd.spec, self._case.policy, self._case.calendar).dues(now)
        rnd.summoned_at = now
        for m in rnd.members:
            m.step, m.sign_due, m.report_due = (
                WhistleStep.SUMMONED.value,
                dues["sign"],
                dues["report"],
            )
        async with self._lock:
            handles = await asyncio.gather(*(self._start(rnd, m, now) for m in rnd.members))
        for member, handle in zip(rnd.members, handles, strict=True):
            self._children[member.whistle_id] = handle
            self._watchers.append(asyncio.create_task(self._watch(member.whistle_id, handle)))
            if rnd.status == "cancelled":  # the case ended while the whistles were starting
                handle.cancel(rnd.closed_reason)

    async def _start(self, rnd: WhistleRound, m: WhistleMember, now: datetime) -> Child:
        s, loc = self._case.state, self._case.state.location
        inp = derive(
            WhistleInput,
            rnd,  # the round's kind, need, blower and spec
            case_id=s.case_id,
            ticket=s.ticket,
            title=s.title,
            department=m.unit,
            chain=m.chain,
            policy=self._case.policy,
            summoned_at=now,
            district_id=loc.district_id,
            street_id=loc.street_id,
        )
        return await workflow.start_child_workflow(
            WhistleWorkflow.run,
            inp,
            id=m.whistle_id,
            parent_close_policy=workflow.ParentClosePolicy.REQUEST_CANCEL,
            search_attributes=start_search_attributes(
                inp, district=loc.district_name, street=loc.street_name
            ),
        )

    async def _watch(self, whistle_id: str, handle: Child) -> None:
        try:
            await handle
        except (ChildWorkflowError, asyncio.CancelledError):
            pass  # cancelled with the case, or failed: its own history tells
        finally:
            self._children.pop(whistle_id, None)

    async def _tell(self, member: WhistleMember, reason: str) -> None:
        handle = self._children.get(member.whistle_id)
        if handle is None:
            return
        with contextlib.suppress(FailureError):  # it has just reported and ended
            await handle.signal(WhistleWorkflow.close, reason)


def _finish_round(rnd: WhistleRound, status: str, reason: str) -> list[WhistleMember]:
    """End `rnd`; return the departments that had not finished (now closed/cancelled)."""
    rnd.status, rnd.closed_at, rnd.closed_reason = status, workflow.now(), reason
    step = WhistleStep.CANCELLED if status == "cancelled" else WhistleStep.CLOSED
    unfinished = [m for m in rnd.members if m.step not in FINISHED]
    for m in unfinished:
        m.step = step.value
    return unfinished
