"""A case whose in-task projection timed out while the read model was locked must replay.

Recorded by the SQLite-lock experiment at full size (`--faults-full`) on the code before
issue 9: the local activity writing the read model timed out twice (event 66, a marker with a
start-to-close TimeoutFailure) and the write moved to an ordinary activity (event 67). On
replay the same timeout comes back as `temporalio.exceptions.TimeoutError`, which
`CaseWorkflow._project` does not catch (it expects ActivityError or ApplicationError), so
the projection loop dies without scheduling the activity: a nondeterminism error, and the
case answers no query and cannot go on after its worker's cache lets it go.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from core.temporal import RUNNER
from workflows import registry

pytestmark = [pytest.mark.faults, pytest.mark.asyncio(loop_scope="session")]
HISTORY = Path(__file__).parent / "histories" / "city_event_v2_local_projection_timeout.json"


async def test_a_case_whose_local_projection_timed_out_replays() -> None:
    history = WorkflowHistory.from_json("case-FT20261202-000063", HISTORY.read_text())
    replayer = Replayer(workflows=registry.workflow_classes(), workflow_runner=RUNNER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, result.replay_failure
