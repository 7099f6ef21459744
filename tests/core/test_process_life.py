"""The stack's real processes: a worker drains on a signal, and `cityloop run` leaves nothing.

Every process runs as it does in production (`python -m core.cli.main …`) against a Temporal dev
server and a SQLite file of the test's own, on free ports.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import Client, WorkflowExecutionStatus

from core.config import Settings
from core.db import make_engine, session_factory, session_scope
from core.demo.seed import prepare_demo_database
from core.devstack import DevServer, DevStackConfig, port_open
from core.lifeline import running
from core.models import CaseRecord
from core.temporal.worker import connect
from tests.conftest import PRODUCTION, api_client, make_settings, token_for
from tests.core.support import (
    PATIENCE,
    children_of,
    cityloop,
    cmdline,
    free_port,
    stop,
    wait_for,
    write_yml,
)

pytestmark = pytest.mark.asyncio(loop_scope="session")

CASE = {
    "title": "湖南路暴露垃圾",
    "category": "exposed_garbage",
    "location_unit_id": "gl-nhl-c1-g2",
}


@pytest.fixture
def stack_env(tmp_path: Path) -> dict[str, str]:
    """What `cityloop run` and its parts read: every port free, every file under tmp_path."""
    yml = write_yml(
        tmp_path,
        namespace="cityloop",
        port=free_port(),
        ui_port=free_port(),
        db_file=str(tmp_path / "temporal.db"),  # absolute: `run` resolves against the repo
    )
    return {
        "CITYLOOP_DEV_STACK_FILE": str(yml),
        "CITYLOOP_DATABASE_URL": f"sqlite:///{tmp_path / 'cityloop.db'}",
        "CITYLOOP_WEB_PORT": str(free_port()),
        "CITYLOOP_WORKER_METRICS_ADDRESS": f"127.0.0.1:{free_port()}",
        "CITYLOOP_ATTACHMENT_DIR": str(tmp_path / "attachments"),
        "CITYLOOP_SHUTDOWN_GRACE_SECONDS": "60",
        # Production: JSON log lines, one per line (and the keys production requires).
        **{f"CITYLOOP_{k.upper()}": v for k, v in PRODUCTION.items()},
    }


def logged(log: Path, event: str) -> list[str]:
    """The JSON log lines of ``event`` in ``log`` so far."""
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    return [line for line in text.splitlines() if f'"event": "{event}"' in line]


def scrape(address: str) -> str:
    with urllib.request.urlopen(f"http://{address}/metrics", timeout=5) as resp:
        return str(resp.read().decode())


def sample_sum(text: str, name: str, **labels: str) -> float:
    return sum(
        s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name and labels.items() <= s.labels.items()
    )


# ---- a worker on its own -------------------------------------------------------------------


class WorkerStack:
    """A dev server, a seeded database, one `cityloop worker` process and the web app in-process."""

    def __init__(self, env: dict[str, str], tmp_path: Path) -> None:
        self.env, self.log = env, tmp_path / "worker.log"
        self.config = DevStackConfig.load(Path(env["CITYLOOP_DEV_STACK_FILE"]))
        self.db_url = env["CITYLOOP_DATABASE_URL"]
        self.db_file = Path(self.db_url.removeprefix("sqlite:///"))
        self.metrics = env["CITYLOOP_WORKER_METRICS_ADDRESS"]
        self.sessions = session_factory(make_engine(self.db_url))
        self.worker: subprocess.Popen[bytes] | None = None

    def start_worker(self) -> subprocess.Popen[bytes]:
        env = {**self.env, "CITYLOOP_TEMPORAL_ADDRESS": self.config.address}
        self.worker = cityloop("worker", env, self.log)
        wait_for(lambda: logged(self.log, "worker_started"), "the worker to start")
        return self.worker

    async def connect(self) -> tuple[Client, Settings]:
        """A client of the stack's server and the web app's settings on it."""
        # The stack runs with production's payload keys: read it with them.
        production = Settings(**PRODUCTION)  # type: ignore[arg-type]
        client = await connect(
            production.model_copy(
                update={
                    "temporal_address": self.config.address,
                    "temporal_namespace": self.config.namespace,
                }
            )
        )
        return client, make_settings(self.db_url, client, "cityloop-cases")

    def exit_code(self) -> int:
        assert self.worker is not None
        return self.worker.wait(timeout=PATIENCE)


@pytest_asyncio.fixture(loop_scope="session")
async def stack(stack_env: dict[str, str], tmp_path: Path) -> AsyncIterator[WorkerStack]:
    s = WorkerStack(stack_env, tmp_path)
    prepare_demo_database(s.db_url)
    with DevServer(s.config):
        try:
            yield s
        finally:
            if s.worker is not None:
                stop(s.worker)


@contextmanager
def write_locked(db_file: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(db_file, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.close()


async def test_worker_serves_sdk_metrics_and_projection_lag(stack: WorkerStack) -> None:
    worker = stack.start_worker()
    client, settings = await stack.connect()
    async with api_client(settings, client) as http:
        created = await http.post(
            "/api/v1/cases", json=CASE, headers=token_for(stack.sessions, "operator1")
        )
    assert created.status_code == 201, created.text

    def projected() -> bool:
        return sample_sum(scrape(stack.metrics), "cityloop_projection_lag_seconds_count") >= 1

    wait_for(projected, "the projection lag to be observed")
    text = scrape(stack.metrics)
    assert sample_sum(text, "temporal_worker_task_slots_available", worker_type="ActivityWorker")
    assert sample_sum(text, "temporal_workflow_task_execution_latency_count") >= 1
    assert sample_sum(text, "cityloop_projection_lag_seconds_bucket", le="+Inf") >= 1
    print(f"\nworker scrape: {len(text.encode())} bytes, {len(text.splitlines())} lines")

    worker.send_signal(signal.SIGINT)  # Ctrl-C on a worker run by hand
    assert stack.exit_code() == 0
    assert logged(stack.log, "worker_stopped")


async def test_sigterm_drains_the_worker(stack: WorkerStack) -> None:
    """A projection in flight when SIGTERM arrives is written before the worker exits 0."""
    worker = stack.start_worker()
    client, settings = await stack.connect()
    op, handler = token_for(stack.sessions, "operator1"), token_for(stack.sessions, "handler_nhl")
    async with api_client(settings, client) as http:
        case = (await http.post("/api/v1/cases", json=CASE, headers=op)).json()
        wait_for(lambda: _row(stack, case["case_id"]) is not None, "the case's first projection")
        with write_locked(stack.db_file):
            accept = asyncio.create_task(
                http.post(
                    f"/api/v1/cases/{case['ticket']}/actions/accept", json={}, headers=handler
                )
            )
            # The projection's write now waits on our lock, holding an activity slot.
            await _until(lambda: _slots_used(stack.metrics) >= 1, "a projection in flight")
            worker.terminate()
            await _until(lambda: logged(stack.log, "worker_draining"), "the worker to drain")
            assert worker.poll() is None  # it cannot leave while the write it runs is pending
        accepted = await accept
    assert accepted.status_code == 200, accepted.text
    assert stack.exit_code() == 0
    handle = client.get_workflow_handle(f"case-{case['ticket']}")
    pending = (await handle.describe()).raw_description.pending_activities
    assert not [
        a for a in pending if a.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
    ]
    row = _row(stack, case["case_id"])
    assert row is not None and row.status == "ACCEPTED"  # written by the draining worker
    (stopped,) = logged(stack.log, "worker_stopped")
    print(f"\nworker drain: {json.loads(stopped)['drain_s']} s")


def _row(s: WorkerStack, case_id: str) -> CaseRecord | None:
    with session_scope(s.sessions) as session:
        return session.get(CaseRecord, case_id)


def _slots_used(address: str) -> float:
    text = scrape(address)
    return sample_sum(
        text, "temporal_worker_task_slots_used", worker_type="ActivityWorker"
    ) + sample_sum(text, "temporal_worker_task_slots_used", worker_type="LocalActivityWorker")


async def _until(condition: object, what: str) -> None:
    """wait_for off the event loop, so the app's requests in flight keep running."""
    assert callable(condition)
    await asyncio.to_thread(wait_for, condition, what)


# ---- cityloop run --------------------------------------------------------------------------


def _ports(env: dict[str, str]) -> list[int]:
    config = DevStackConfig.load(Path(env["CITYLOOP_DEV_STACK_FILE"]))
    metrics_port = int(env["CITYLOOP_WORKER_METRICS_ADDRESS"].rsplit(":", 1)[1])
    return [config.port, config.ui_port, int(env["CITYLOOP_WEB_PORT"]), metrics_port]


def _ready(env: dict[str, str]) -> bool:
    try:
        answer = httpx.get(f"http://127.0.0.1:{env['CITYLOOP_WEB_PORT']}/readyz", timeout=5)
    except httpx.HTTPError:
        return False
    return answer.status_code == 200


def _start_run(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], list[int]]:
    run = cityloop("run", env, log, "--no-demo")
    wait_for(lambda: _ready(env) and port_open("127.0.0.1", _ports(env)[3]), "cityloop run")
    children = children_of(run.pid)
    kinds = sorted(" ".join(cmdline(pid)[1:4]) for pid in children)
    assert len(children) == 3, kinds  # the dev server, the worker and the web app, exec'd
    return run, children


class Stopwatch:
    """Seconds between steps, printed for the report (never asserted)."""

    def __init__(self) -> None:
        self.last, self.laps = time.monotonic(), list[str]()

    def lap(self, what: str) -> None:
        now = time.monotonic()
        self.laps.append(f"{what} {now - self.last:.1f} s")
        self.last = now

    def __str__(self) -> str:
        return ", ".join(self.laps)


def _all_gone(pids: list[int], ports: list[int]) -> bool:
    return not any(running(p) for p in pids) and not any(port_open("127.0.0.1", p) for p in ports)


async def test_a_killed_run_takes_its_children_along_and_a_second_run_starts(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    log, ports = tmp_path / "run.log", _ports(stack_env)
    config = DevStackConfig.load(Path(stack_env["CITYLOOP_DEV_STACK_FILE"]))
    clock = Stopwatch()
    run, children = _start_run(stack_env, log)
    try:
        clock.lap("first start")
        client = await Client.connect(config.address, namespace=config.namespace)
        await client.start_workflow("NoSuchWorkflow", id="persist-probe", task_queue="nobody")
        run.kill()
        run.wait()
        wait_for(lambda: _all_gone(children, ports), "every child gone and every port free")
        clock.lap("SIGKILL to all gone")

        run, children = _start_run(stack_env, log)  # the same database files
        clock.lap("second start")
        client = await Client.connect(config.address, namespace=config.namespace)
        probe = await client.get_workflow_handle("persist-probe").describe()
        assert probe.status == WorkflowExecutionStatus.RUNNING

        run.terminate()  # as a service manager stops it
        assert run.wait(timeout=PATIENCE) == 0
        clock.lap("SIGTERM to exit 0")
        assert _all_gone(children, ports)  # stopped in order, none left to the kernel
        assert logged(log, "stack_stopped") and not logged(log, "child_killed")
        print(f"\ncityloop run: {clock}")
    finally:
        stop(run)
        for pid in children:
            if running(pid):
                os.kill(pid, signal.SIGKILL)
