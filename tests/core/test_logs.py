"""Log lines survive whatever keys a call passes: a clashing key is kept under a safe name."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import structlog
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from core.logs import configure_logging, formatter, keep_clashing_keys

# What workflows/case/workflow.py logged when a case climbed a rung: `level` is the line's own
# field.
ESCALATED = {"ticket": "CL20261129-000001", "unit": "gl", "level": 2}
WORKFLOW_LOG = workflow.logger.base_logger  # created when temporalio was imported


@workflow.defn(sandboxed=False)
class LogProbe:
    """Logs as a workflow does, with the keys that used to lose the line."""

    @workflow.run
    async def run(self) -> None:
        workflow.logger.info("case_escalated", extra=ESCALATED)
        workflow.logger.info("odd_keys", extra={"name": "n", "module": "m"})


@pytest.fixture
def captured(request: pytest.FixtureRequest) -> Iterator[io.StringIO]:
    """What `temporalio.workflow`'s logger writes, through the app's formatter (console/JSON)."""
    configure_logging(json=True)  # the process's configuration, whoever made it
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter(json=request.param))
    WORKFLOW_LOG.addHandler(handler)
    try:
        yield out
    finally:
        WORKFLOW_LOG.removeHandler(handler)


@pytest.mark.parametrize("captured", [False], indirect=True)
def test_the_console_renders_an_escalation_line(captured: io.StringIO) -> None:
    WORKFLOW_LOG.info("case_escalated", extra=ESCALATED)
    line = captured.getvalue()
    assert "case_escalated" in line and "level_=2" in line and "unit=gl" in line


@pytest.mark.parametrize("captured", [True], indirect=True)
def test_json_keeps_the_line_s_own_fields_and_the_caller_s(captured: io.StringIO) -> None:
    extra = {**ESCALATED, "event": "other", "logger": "me", "timestamp": "then"}
    WORKFLOW_LOG.warning("case_escalated", extra=extra)
    line = json.loads(captured.getvalue())
    assert line["event"] == "case_escalated" and line["event_"] == "other"
    assert line["level"] == "warning" and line["level_"] == 2
    assert line["logger"] == "temporalio.workflow" and line["logger_"] == "me"
    assert line["timestamp"] != "then" and line["timestamp_"] == "then"
    assert line["ticket"] == "CL20261129-000001"


@pytest.mark.parametrize("captured", [True], indirect=True)
def test_a_key_the_record_holds_itself_neither_raises_nor_is_lost(captured: io.StringIO) -> None:
    # The standard library refuses these with a KeyError: in a workflow, a failed task.
    WORKFLOW_LOG.info("odd_keys", extra={"name": "n", "module": "m", "message": "x"})
    line = json.loads(captured.getvalue())
    assert (line["name_"], line["module_"], line["message_"]) == ("n", "m", "x")
    assert line["event"] == "odd_keys"


def test_a_structlog_call_keeps_a_clashing_keyword() -> None:
    chain = [keep_clashing_keys, structlog.stdlib.add_log_level]
    event: structlog.typing.EventDict = {"event": "case_escalated", "level": 3, "level_": 1}
    for processor in chain:
        event = processor(None, "info", event)
    assert event == {"event": "case_escalated", "level": "info", "level_": 1, "level__": 3}


@pytest.mark.parametrize("captured", [True], indirect=True)
async def test_a_workflow_s_lines_arrive(
    dev_env: WorkflowEnvironment, captured: io.StringIO
) -> None:
    queue = f"tq-{uuid.uuid4().hex[:12]}"
    async with Worker(
        dev_env.client,
        task_queue=queue,
        workflows=[LogProbe],
        workflow_runner=UnsandboxedWorkflowRunner(),
    ):
        # Bounded: a log call that raises fails the workflow task, which retries forever.
        await dev_env.client.execute_workflow(
            LogProbe.run, id=queue, task_queue=queue, execution_timeout=timedelta(seconds=60)
        )
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    escalated, odd = lines
    assert escalated["event"].startswith("case_escalated") and escalated["level_"] == 2
    assert escalated["temporal_workflow"]["workflow_id"] == queue
    assert (odd["name_"], odd["module_"]) == ("n", "m")
