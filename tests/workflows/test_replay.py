"""Every recorded history in tests/histories/ replays against today's workflow code.

A change that breaks replay fails here: gate it behind `workflow.patched` instead. An
encrypted history (the payload codec) is replayed in tests/api/test_codec.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner

from tests.conftest import CONVERTER
from workflows import registry

HERE = Path(__file__).parent.parent / "histories"
HISTORIES = sorted(HERE.glob("*.json"))


def recorded(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text(encoding="utf-8"))


async def fails_to_replay_unpatched(monkeypatch: pytest.MonkeyPatch, patch: str, name: str) -> bool:
    """Whether history `name` fails to replay once the case workflow's patch id `patch` is
    changed (the constant that names it in workflows/case/workflow.py)."""
    from workflows.case import workflow as case

    monkeypatch.setattr(case, patch, "not-the-recorded-patch")
    # Unsandboxed: the sandbox would import its own copy of the module, unpatched.
    replayer = Replayer(
        workflows=registry.workflow_classes(), workflow_runner=UnsandboxedWorkflowRunner()
    )
    result = await replayer.replay_workflow(
        recorded(HERE / f"{name}.json"), raise_on_replay_failure=False
    )
    return result.replay_failure is not None


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays(path: Path) -> None:
    history = recorded(path)
    # The codec-enabled converter of every process: recorded (plain) payloads pass through it.
    replayer = Replayer(workflows=registry.workflow_classes(), data_converter=CONVERTER)
    result = await replayer.replay_workflow(history, raise_on_replay_failure=True)
    assert result.replay_failure is None


def test_histories_are_recorded() -> None:
    assert HISTORIES, "tests/histories/ must hold at least one recorded case history"


async def test_the_projection_patch_is_what_keeps_both_versions_replaying(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without the marker's id the history projected after record (v3) no longer replays:
    the patch really gates the change, and the older histories replay because of it."""
    assert await fails_to_replay_unpatched(
        monkeypatch, "PROJECTION_PATCH", "city_event_v3_projected"
    )


async def test_the_callback_patch_is_what_archives_patrol_cases_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without its marker's id a patrol case archived after verification (issue 12) no longer
    replays: cases started before the patch keep waiting for a 回访."""
    assert await fails_to_replay_unpatched(
        monkeypatch, "CALLBACK_BY_CHANNEL_PATCH", "callback_v1_patrol"
    )
