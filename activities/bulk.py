"""Activities of the bulk override: select the matching cases, send each its Update."""

from __future__ import annotations

import asyncio

from sqlmodel import col, select
from temporalio import activity
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError

from core.cases.service import CaseFilter, refusal
from core.db import SessionFactory, session_scope
from core.models import CaseRecord
from workflows.contracts import ApplyOverrideInput, CaseState, Outcome, SelectCasesInput

CONCURRENT_UPDATES = 20


class BulkActivities:
    def __init__(self, client: Client, session_factory: SessionFactory) -> None:
        self._client, self._sessions = client, session_factory

    @activity.defn
    def select_cases(self, inp: SelectCasesInput) -> list[str]:
        """Workflow ids of the open cases matching the filter, from the read model."""
        filters = CaseFilter.model_validate({**inp.filters, "open_only": True})
        query = filters.apply(select(CaseRecord)).with_only_columns(col(CaseRecord.id))
        with session_scope(self._sessions) as session:
            return list(session.exec(query.order_by(col(CaseRecord.id))))  # type: ignore[call-overload]

    @activity.defn
    async def apply_override(self, inp: ApplyOverrideInput) -> list[Outcome]:
        """Send the override to each case; an update already applied is not applied twice."""
        gate = asyncio.Semaphore(CONCURRENT_UPDATES)
        bulk_id = activity.info().workflow_id or "bulk"

        async def one(case_id: str) -> Outcome:
            async with gate:
                outcome = await self._update(case_id, inp, bulk_id)
            activity.heartbeat(case_id)
            return outcome

        return list(await asyncio.gather(*(one(c) for c in inp.case_ids)))

    async def _update(self, case_id: str, inp: ApplyOverrideInput, bulk_id: str) -> Outcome:
        handle = self._client.get_workflow_handle(case_id)
        try:
            # The update id makes a retried chunk idempotent: Temporal dedupes by it.
            await handle.execute_update(
                inp.action, inp.command, id=f"{bulk_id}:{case_id}", result_type=CaseState
            )
        except WorkflowUpdateFailedError as err:
            refused = refusal(err)
            return Outcome(case_id, False, refused.reason, refused.code, refused.params)
        except RPCError as err:
            return Outcome(case_id, applied=False, reason=err.message)
        return Outcome(case_id, applied=True)
