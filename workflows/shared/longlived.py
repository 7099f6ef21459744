"""Continue-as-new for long-lived workflows: one mechanism for every type.

A run's history is capped (50k events / 50 MB) and so are its updates; a workflow that can live
for weeks asks `due` once per loop and, when it is, hands its whole state to a new run through
`hand_over`. The ticket and the workflow id stay; timers are re-armed from the deadlines the
state holds; children were started with ParentClosePolicy.ABANDON and keep signalling the
workflow id, so they reach the new run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from temporalio import workflow


def due(limit: int) -> bool:
    """Whether the run should hand over: the server suggests it, or `limit` events are used."""
    info = workflow.info()
    return info.is_continue_as_new_suggested() or info.get_current_history_length() >= limit


async def hand_over(
    run: Callable[..., Any], arg: Callable[[], Any], *, idle: Callable[[], bool]
) -> NoReturn:
    """Continue as new once `idle()` holds (nothing left to write) and no handler is running.

    `arg` builds the new run's input at that moment, so the state it carries is the last one.
    """
    await workflow.wait_condition(lambda: idle() and workflow.all_handlers_finished())
    workflow.continue_as_new(arg(), workflow=run)
