"""Replay running workflows against this working tree's code, before deploying a worker.

A worker with changed workflow code picks up workflows that started under the old code; if
the new code would take a different step where the history recorded one, the workflow is
stuck with a nondeterminism error. `cityloop replay-check` fetches the histories of running
workflows from the server and replays each against the classes a worker built from this tree
would run, with the same data converter (codec included), stopping at the first that fails.
docs/replay.md says what to do then (`workflow.patched`, worker versioning).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from temporalio.client import Client
from temporalio.worker import Replayer

from core.temporal.worker import RUNNER, workflow_classes

RUNNING = "ExecutionStatus = 'Running'"


@dataclass
class ReplayCheck:
    """What a check found: how many histories replayed, and the first that did not."""

    replayed: int = 0
    workflow_id: str = ""
    failure: str = ""

    @property
    def ok(self) -> bool:
        return not self.failure


async def replay_check(
    client: Client,
    *,
    query: str = RUNNING,
    workflows: Sequence[type] | None = None,
) -> ReplayCheck:
    """Replay the histories of the workflows `query` finds; stop at the first failure.

    Args:
        client: a client of the server, with the project's data converter.
        query: a visibility query (default: every running workflow).
        workflows: the classes to replay against (default: the worker's).

    Returns:
        The count replayed and, if one failed, its workflow id and why.
    """
    replayer = Replayer(
        workflows=list(workflows if workflows is not None else workflow_classes()),
        data_converter=client.data_converter,
        workflow_runner=RUNNER,
        namespace=client.namespace,
    )
    histories = client.list_workflows(query).map_histories()
    found = ReplayCheck()
    async with replayer.workflow_replay_iterator(histories) as results:
        async for result in results:
            found.replayed += 1
            if result.replay_failure is not None:
                found.workflow_id = result.history.workflow_id
                found.failure = f"{type(result.replay_failure).__name__}: {result.replay_failure}"
                break
    return found
