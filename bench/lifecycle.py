"""Lifecycle throughput: cityloop over its HTTP API against a bare Temporal workflow.

Run as ``.venv/bin/python -m bench.lifecycle [--cases 500] [--concurrency 50] [--rounds 1]``.
It prints figures and asserts nothing.

What runs where
---------------
* Temporal: an embedded ``temporal server start-dev`` (core.devstack.DevServer) built from
  temporal-dev.yml with fresh ports and a database in a temp dir; the WAL/synchronous=full
  pragmas, search attributes and dynamic config are kept. ``--address/--namespace`` uses an
  existing server instead.
* Read model: a fresh SQLite file in the temp dir (migrate + seed_demo), or ``--database-url``.
* Worker: this process. One ``build_worker`` worker (the real case worker) and one bare worker
  on its own task queue, sharing this process's Temporal client and event loop.
* Web app: by default uvicorn serves ``create_app`` in a *separate process* (this module with
  ``--serve-api``), so HTTP parsing, pydantic and the app's synchronous SQLite calls do not
  compete with the worker's event loop; it has its own Temporal client, like ``cityloop web``.
  ``--api inline`` serves it as an asyncio task in this process instead.
* Load: this process. httpx.AsyncClient for cityloop, the Temporal client for the baseline,
  each bounded by an asyncio.Semaphore(concurrency).

The baseline (BareLifecycle) mirrors CaseWorkflow's shape by default (``--bare-shape queue``):
synchronous update handlers append to a queue and return at once; a loop in the workflow drains
the queue through one no-op activity, like CaseWorkflow._projection_loop; the run ends when the
queue is empty. ``--bare-shape await`` uses async handlers that await the activity instead.
The no-op activity is synchronous on a 32-thread pool, like the case activities.

Order: every round runs the baseline first, then cityloop, so rounds > 1 alternate
(bare, cityloop, bare, cityloop…). An unmeasured warm-up of each kind precedes round 1.

Besides client-side latency the bench reports, per run: when every workflow had closed (for
cityloop that means the projection caught up), a history sample (workflow-task and activity
queue/run times from server timestamps), the event-loop lag of this process and of the API
process, timers the API process puts around CaseService steps (bench-only wrappers;
cityloop's code is not changed), and the CPU each process of the stack used (from /proc),
with what other processes on the host took meanwhile. On a CPU-bound host the ratio of CPU
per lifecycle predicts the throughput ratio and is not skewed by other load; the summary
prints both.

Bytecode: the workflow sandbox re-imports the workflow modules for every new workflow. With
PYTHONDONTWRITEBYTECODE set there are no .pyc files, so each of those imports compiles the
source again; the bench caches bytecode in its temp dir unless ``--no-bytecode-cache``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    import httpx
    import temporalio
    from sqlmodel import col, func, select
    from temporalio.api.enums.v1 import EventType
    from temporalio.client import Client, WorkflowHandle
    from temporalio.converter import DataConverter
    from temporalio.worker import Worker

    from bench.stack import ROOT, embedded_config, free_ports
    from core.config import Settings
    from core.db import make_engine, session_factory, session_scope
    from core.demo.seed import prepare_demo_database
    from core.devstack import DevServer, DevStackConfig
    from core.models import CaseRecord, User
    from core.security.tokens import mint_token
    from core.temporal.worker import build_worker, data_converter
    from workflows import registry

STEPS = ("accept", "add_progress", "submit_feedback", "verify", "record_callback")
STATS_PATH = "/__bench/stats"
LOOP_TICK = 0.005  # seconds between event-loop lag probes


# ============================================================================================
# The baseline workflow
# ============================================================================================
@activity.defn(name="bench_noop")
def bench_noop(value: str) -> str:
    """The trivial activity: returns its input."""
    return value


@workflow.defn(name="BenchBareLifecycle")
class BareLifecycle:
    """Start, then five updates; each update leads to one run of the no-op activity.

    shape "queue" (CaseWorkflow's shape): `step` is synchronous, appends to a queue and returns
    in the same workflow task; `_drain` runs the activity for what has queued up.
    shape "await": `step_await` awaits the activity before returning.
    """

    def __init__(self) -> None:
        self._admitted = 0
        self._done = 0
        self._queue: list[str] = []

    @workflow.run
    async def run(self, shape: str) -> int:
        if shape == "queue":
            writer = asyncio.create_task(self._drain())
            await workflow.wait_condition(lambda: self._done >= len(STEPS) and not self._queue)
            writer.cancel()
        await workflow.wait_condition(lambda: self._done >= len(STEPS))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self._done

    @workflow.update
    def step(self, index: int) -> int:
        self._admitted += 1
        self._done += 1
        self._queue.append(STEPS[index])
        return self._done

    @step.validator
    def validate_step(self, index: int) -> None:
        self._check(index)

    @workflow.update
    async def step_await(self, index: int) -> int:
        self._admitted += 1
        await workflow.execute_activity(
            bench_noop, STEPS[index], start_to_close_timeout=timedelta(seconds=30)
        )
        self._done += 1
        return self._done

    @step_await.validator
    def validate_step_await(self, index: int) -> None:
        self._check(index)

    def _check(self, index: int) -> None:
        # Like CaseWorkflow's validators: an out-of-order action is refused before history.
        if index != self._admitted:
            raise ApplicationError(
                f"step {index} out of order", type="conflict", non_retryable=True
            )

    async def _drain(self) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self._queue))
            batch = list(self._queue)
            await workflow.execute_activity(
                bench_noop,
                ",".join(batch),
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1)),
            )
            del self._queue[: len(batch)]


# ============================================================================================
# Small measuring tools
# ============================================================================================
def pct(values: list[float], q: float) -> float:
    """Percentile ``q`` (0..100) by linear interpolation; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def dist(values: list[float]) -> dict[str, float]:
    """n, mean, p50, p95, p99, max in milliseconds of ``values`` given in seconds."""
    ms = [v * 1000 for v in values]
    return {
        "n": len(ms),
        "mean": statistics.fmean(ms) if ms else float("nan"),
        "p50": pct(ms, 50),
        "p95": pct(ms, 95),
        "p99": pct(ms, 99),
        "max": max(ms) if ms else float("nan"),
        "sum_s": sum(values),
    }


class LoopLag:
    """Samples how late the event loop wakes a sleeping task (blocking calls show up here)."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="bench-loop-lag")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            t = time.perf_counter()
            await asyncio.sleep(LOOP_TICK)
            self.samples.append(max(0.0, time.perf_counter() - t - LOOP_TICK))

    def snapshot(self, *, reset: bool) -> dict[str, float]:
        samples, n = self.samples, len(self.samples)
        if reset:
            self.samples = []
        d = dist(samples)
        return {
            "p50": d["p50"],
            "p99": d["p99"],
            "max": d["max"],
            "stalls_over_50ms": sum(1 for s in samples if s > 0.05),
            "stalled_s": sum(s for s in samples if s > 0.02),
            "n": n,
        }


def _proc_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) a process has used, from /proc (None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _host_cpu() -> tuple[float, float] | None:
    """(busy, total) jiffies of the whole host, from /proc/stat."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


class CpuMeter:
    """CPU used by each process of the stack, and how busy the host was, over one run."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.start = {name: _proc_cpu(pid) for name, pid in pids.items()}
        self.host = _host_cpu()

    def read(self) -> dict[str, float]:
        used = {}
        for name, pid in self.pids.items():
            now, then = _proc_cpu(pid), self.start.get(name)
            if now is not None and then is not None:
                used[name] = now - then
        host = _host_cpu()
        if host is not None and self.host is not None and host[1] > self.host[1]:
            busy = (host[0] - self.host[0]) / os.sysconf("SC_CLK_TCK")
            used["other processes"] = max(0.0, busy - sum(used.values()))
            used["host busy fraction"] = (host[0] - self.host[0]) / (host[1] - self.host[1])
        return used


class Timers:
    """Thread-safe named duration lists (the API's probes append from the thread pool too)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.values: dict[str, list[float]] = defaultdict(list)

    def add(self, name: str, seconds: float) -> None:
        with self._lock:
            self.values[name].append(seconds)

    def snapshot(self, *, reset: bool) -> dict[str, dict[str, float]]:
        with self._lock:
            values = self.values
            if reset:
                self.values = defaultdict(list)
        return {name: dist(v) for name, v in sorted(values.items())}


# ============================================================================================
# The API process side: probes around CaseService and a stats endpoint
# ============================================================================================
class ApiProbe:
    """Timers and loop lag of the process that serves the web app."""

    def __init__(self, *, own_loop: bool) -> None:
        self.timers = Timers()
        # Inline, the app shares the bench's loop, whose lag the bench reports itself.
        self.lag = LoopLag() if own_loop else None

    def stats(self, *, reset: bool) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "loop_lag": self.lag.snapshot(reset=reset) if self.lag else {},
            "timers": self.timers.snapshot(reset=reset),
        }


def _timed_sync(fn: Callable[..., Any], timers: Timers, name: str) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            timers.add(name, time.perf_counter() - t)

    return wrapper


def _timed_async(
    fn: Callable[..., Awaitable[Any]], timers: Timers, name: str
) -> Callable[..., Any]:
    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return await fn(*args, **kwargs)
        finally:
            timers.add(name, time.perf_counter() - t)

    return wrapper


def _timed_scope(fn: Callable[..., Any], timers: Timers, name: str) -> Callable[..., Any]:
    @contextlib.contextmanager
    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        t = time.perf_counter()
        try:
            with fn(*args, **kwargs) as value:
                yield value
        finally:
            timers.add(name, time.perf_counter() - t)

    return wrapper


def install_probes(timers: Timers) -> None:
    """Wrap the steps of a request with timers; cityloop's source stays as it is.

    `actor`, `case_input` and `_mint_ticket` are synchronous SQL run on the event loop (their
    time also shows as loop lag); the auth session runs in FastAPI's thread pool.
    """
    import api.deps
    from core.cases.service import CaseService

    api.deps.session_scope = _timed_scope(  # type: ignore[assignment]
        api.deps.session_scope, timers, "auth: get_api_user session+token lookup [threadpool]"
    )
    CaseService.actor = _timed_sync(  # type: ignore[method-assign]
        CaseService.actor, timers, "CaseService.actor (Unit lookup) [sync on loop]"
    )
    for name in ("case_input", "_case_input"):  # renamed upstream at some point
        if hasattr(CaseService, name):
            label = f"CaseService.{name} (category, units, ticket) [sync on loop]"
            setattr(CaseService, name, _timed_sync(getattr(CaseService, name), timers, label))
    CaseService._mint_ticket = _timed_sync(  # type: ignore[method-assign]
        CaseService._mint_ticket, timers, "CaseService._mint_ticket (UPDATE counter) [sync on loop]"
    )
    CaseService._confirm = _timed_async(  # type: ignore[method-assign]
        CaseService._confirm, timers, "intake: update-with-start confirm_intake [temporal]"
    )
    WorkflowHandle.execute_update = _timed_async(  # type: ignore[method-assign]
        WorkflowHandle.execute_update, timers, "action: handle.execute_update [temporal]"
    )


class TimedApp:
    """ASGI wrapper: server-side request time per route, and the loop-lag probe's lifetime."""

    def __init__(self, app: Any, probe: ApiProbe) -> None:
        self.app, self.probe = app, probe

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan" and self.probe.lag is not None:
            self.probe.lag.start()
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        label = _route_label(scope.get("path", ""))
        t = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            if label:
                self.probe.timers.add(f"server request: {label}", time.perf_counter() - t)


def _route_label(path: str) -> str:
    parts = path.strip("/").split("/")
    if parts == ["api", "v1", "cases"]:
        return "intake"
    if len(parts) == 6 and parts[:3] == ["api", "v1", "cases"] and parts[4] == "actions":
        return parts[5]
    return ""


def build_api(settings: Settings, probe: ApiProbe, *, client: Client | None) -> Any:
    """The real app from create_app, plus the bench's stats route, wrapped in the timer."""
    from fastapi import Query

    from api.app import create_app

    app = create_app(settings, client=client)

    def stats(reset: bool = Query(False)) -> dict[str, Any]:
        return probe.stats(reset=reset)

    app.add_api_route(STATS_PATH, stats, methods=["GET"], include_in_schema=False)
    return TimedApp(app, probe)


def serve_api_process() -> None:
    """Entry of the separate web process: `python -m bench.lifecycle --serve-api`."""
    import uvicorn

    from core.logs import configure_logging

    settings = Settings(**json.loads(os.environ["BENCH_API_SETTINGS"]))
    if os.environ.get("BENCH_CODEC") == "off":
        _connect_without_codec()
    configure_logging(json=True, level=settings.log_level)
    probe = ApiProbe(own_loop=True)
    install_probes(probe.timers)
    app = build_api(settings, probe, client=None)
    config = uvicorn.Config(
        app,
        host=settings.web_host,
        port=settings.web_port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    parent = os.getppid()

    def orphan_watch() -> None:  # never outlive the bench, even after a SIGKILL of it
        while not server.should_exit:
            if os.getppid() != parent:
                server.should_exit = True
            time.sleep(1)

    threading.Thread(target=orphan_watch, daemon=True).start()
    server.run()  # SIGTERM from the bench: graceful shutdown


def _connect_without_codec() -> None:
    """--codec off: the API process's Temporal client skips the codec (a bench-only patch)."""
    import api.app

    async def connect(settings: Settings, **options: Any) -> Client:
        return await Client.connect(
            settings.temporal_address, namespace=settings.temporal_namespace, **options
        )

    api.app.connect = connect  # type: ignore[assignment]


class _InlineServer:
    """uvicorn.Server as a task of this loop, leaving Ctrl-C handling to asyncio.run."""

    def __init__(self, app: Any, host: str, port: int) -> None:
        import uvicorn

        class Quiet(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield

        config = uvicorn.Config(
            app, host=host, port=port, log_config=None, access_log=False, lifespan="on"
        )
        self.server = Quiet(config)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve(), name="bench-uvicorn")
        while not self.server.started:
            if self.task.done():
                await self.task  # raises the start-up error
                raise RuntimeError("uvicorn stopped during start-up")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        if self.task is None:
            return
        self.server.should_exit = True
        try:
            await asyncio.wait_for(asyncio.shield(self.task), 10)
        except TimeoutError:
            self.server.force_exit = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.task, 5)


# ============================================================================================
# Stack set-up
# ============================================================================================
@dataclasses.dataclass
class Stack:
    address: str
    namespace: str
    db_url: str
    db_note: str
    case_queue: str
    bare_queue: str
    api_url: str = ""
    api_note: str = ""
    temporal_note: str = ""
    tmp: Path | None = None
    pids: dict[str, int] = dataclasses.field(default_factory=dict)  # CPU accounting


def bearer_tokens(url: str) -> dict[str, dict[str, str]]:
    """One fresh token each for the three demo users the loop needs."""
    engine = make_engine(url)
    headers = {}
    with session_scope(session_factory(engine)) as session:
        for username in ("operator1", "handler_nhl", "verifier_gl"):
            user = session.exec(select(User).where(User.username == username)).one()
            headers[username] = {"Authorization": f"Bearer {mint_token(session, user)}"}
    engine.dispose()
    return headers


@contextlib.asynccontextmanager
async def api_server(
    args: argparse.Namespace, stack: Stack, settings: Settings, client: Client
) -> AsyncIterator[None]:
    """Serve the app (separate process or inline task) and wait until it answers."""
    port = settings.web_port
    stack.api_url = f"http://127.0.0.1:{port}"
    if args.api == "inline":
        probe = ApiProbe(own_loop=False)
        install_probes(probe.timers)
        server = _InlineServer(build_api(settings, probe, client=client), "127.0.0.1", port)
        await server.start()
        stack.api_note = f"uvicorn inline: an asyncio task in this process (pid {os.getpid()})"
        try:
            yield
        finally:
            await server.stop()
        return
    assert stack.tmp is not None
    log_path = stack.tmp / "api.log"
    env = {
        **os.environ,
        "BENCH_API_SETTINGS": settings.model_dump_json(),
        "BENCH_CODEC": args.codec,
    }
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.lifecycle", "--serve-api"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # Ctrl-C reaches the bench only; it stops the child
        )
    stack.pids["API process"] = proc.pid
    stack.api_note = (
        f"uvicorn in a separate process (pid {proc.pid}), its own Temporal client; log {log_path}"
    )
    try:
        await _wait_http(stack.api_url + STATS_PATH, proc, log_path)
        yield
    finally:
        await asyncio.to_thread(_stop_process, proc)


async def _wait_http(url: str, proc: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"API process exited with {proc.returncode}:\n{tail}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"API process not answering on {url} after 60 s")


def _stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ============================================================================================
# The two drivers
# ============================================================================================
@dataclasses.dataclass
class RunResult:
    kind: str
    round: int
    cases: int
    completed: int = 0
    wall: float = 0.0
    latency: dict[str, list[float]] = dataclasses.field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = dataclasses.field(default_factory=Counter)
    workflow_ids: list[str] = dataclasses.field(default_factory=list)
    drain_s: float | None = None
    drain_note: str = ""
    history: dict[str, Any] = dataclasses.field(default_factory=dict)
    main_lag: dict[str, float] = dataclasses.field(default_factory=dict)
    api_stats: dict[str, Any] = dataclasses.field(default_factory=dict)
    read_model: str = ""
    cpu: dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def lifecycles_per_s(self) -> float:
        return self.completed / self.wall if self.wall else float("nan")

    @property
    def transitions_per_s(self) -> float:
        return self.completed * (1 + len(STEPS)) / self.wall if self.wall else float("nan")


class CityloopDriver:
    """One case through the loop, over HTTP, with the right user's token for each action."""

    kind = "cityloop"
    WHO: ClassVar[dict[str, str]] = {
        "accept": "handler_nhl",
        "add_progress": "handler_nhl",
        "submit_feedback": "handler_nhl",
        "verify": "verifier_gl",
        "record_callback": "operator1",
    }
    BODY: ClassVar[dict[str, dict[str, Any]]] = {
        "accept": {},
        "add_progress": {"note": "已到场处理"},
        "submit_feedback": {"note": "已清理完毕", "evidence": ["after.jpg"]},
        "verify": {"passed": True},
        "record_callback": {"rating": "satisfied"},
    }

    def __init__(self, http: httpx.AsyncClient, tokens: dict[str, dict[str, str]]) -> None:
        self.http, self.tokens = http, tokens

    async def lifecycle(self, i: int, res: RunResult) -> bool:
        body = {
            "title": f"bench 暴露垃圾 #{i}",
            "category": "exposed_garbage",
            "location_unit_id": "gl-nhl-c1-g1",
        }
        r = await self._call(res, "intake", "/api/v1/cases", body, "operator1")
        if r is None:
            return False
        ticket = r.json()["ticket"]
        res.workflow_ids.append(registry.CITY_EVENT.workflow_id(ticket))
        if r.json().get("status") != "DISPATCHED":
            res.errors[f"intake answered status {r.json().get('status')}"] += 1
        for step in STEPS:
            path = f"/api/v1/cases/{ticket}/actions/{step}"
            if await self._call(res, step, path, self.BODY[step], self.WHO[step]) is None:
                return False
        return True

    async def _call(
        self, res: RunResult, step: str, path: str, body: dict[str, Any], user: str
    ) -> httpx.Response | None:
        t = time.perf_counter()
        try:
            r = await self.http.post(path, json=body, headers=self.tokens[user])
        except httpx.HTTPError as exc:
            res.errors[f"{step}: {type(exc).__name__}"] += 1
            return None
        res.latency[step].append(time.perf_counter() - t)
        if r.status_code >= 300:
            detail = r.text[:120].replace("\n", " ")
            res.errors[f"{step}: HTTP {r.status_code} {detail}"] += 1
            return None
        return r


class BareDriver:
    """Start the bare workflow, then five updates, straight through the Temporal client."""

    kind = "bare"

    def __init__(self, client: Client, task_queue: str, shape: str, run_id: str) -> None:
        self.client, self.task_queue, self.shape, self.run_id = client, task_queue, shape, run_id

    async def lifecycle(self, i: int, res: RunResult) -> bool:
        wid = f"bench-bare-{self.run_id}-{res.round}-{i}"
        update = BareLifecycle.step if self.shape == "queue" else BareLifecycle.step_await
        step = "start"
        try:
            t = time.perf_counter()
            handle = await self.client.start_workflow(
                BareLifecycle.run, self.shape, id=wid, task_queue=self.task_queue
            )
            res.latency[step].append(time.perf_counter() - t)
            res.workflow_ids.append(wid)
            for index, step in enumerate(STEPS):
                t = time.perf_counter()
                await handle.execute_update(update, index)
                res.latency[step].append(time.perf_counter() - t)
        except Exception as exc:
            res.errors[f"{step}: {type(exc).__name__} {str(exc)[:100]}"] += 1
            return False
        return True


async def drive(driver: Any, n: int, concurrency: int, res: RunResult) -> None:
    """N lifecycles, at most ``concurrency`` at once; wall time from first start to last end."""
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            if await driver.lifecycle(i, res):
                res.completed += 1

    t = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    res.wall = time.perf_counter() - t


async def drain(client: Client, res: RunResult, started: float, timeout: float) -> None:
    """Wait until every workflow of the run has closed (cityloop: the projection caught up)."""
    gate = asyncio.Semaphore(100)

    async def one(wid: str) -> None:
        async with gate:
            await client.get_workflow_handle(wid).result()

    try:
        await asyncio.wait_for(asyncio.gather(*(one(w) for w in res.workflow_ids)), timeout)
        res.drain_s = time.perf_counter() - started
    except TimeoutError:
        res.drain_note = f"not all {len(res.workflow_ids)} workflows closed within {timeout:.0f} s"
    except Exception as exc:
        res.drain_note = f"drain failed: {type(exc).__name__}: {exc}"


def _t(event: Any) -> float:
    return float(event.event_time.ToNanoseconds()) / 1e9


async def history_profile(client: Client, ids: list[str]) -> dict[str, Any]:
    """Server timestamps from a sample of histories: where a workflow's time goes."""
    lists: dict[str, list[float]] = defaultdict(list)
    counts: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for wid in ids:
        history = await client.get_workflow_handle(wid).fetch_history()
        by_id = {e.event_id: e for e in history.events}
        counts["workflows"] += 1
        counts["events"] += len(history.events)
        counts["history KB"] += sum(e.ByteSize() for e in history.events) / 1024
        for e in history.events:
            et = e.event_type
            kinds[EventType.Name(et).removeprefix("EVENT_TYPE_").lower()] += 1
            if et == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                sched = by_id.get(e.workflow_task_started_event_attributes.scheduled_event_id)
                if sched is not None:
                    lists["workflow task: scheduled→started (queue)"].append(_t(e) - _t(sched))
            elif et == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                counts["workflow tasks"] += 1
                started = by_id.get(e.workflow_task_completed_event_attributes.started_event_id)
                if started is not None:
                    lists["workflow task: started→completed (worker)"].append(_t(e) - _t(started))
            elif et == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                a = e.activity_task_completed_event_attributes
                sched, started = by_id.get(a.scheduled_event_id), by_id.get(a.started_event_id)
                if sched is None or started is None:
                    continue
                name = sched.activity_task_scheduled_event_attributes.activity_type.name
                counts[f"activity {name}"] += 1
                attempt = started.activity_task_started_event_attributes.attempt
                counts["activity retries"] += max(0, attempt - 1)
                lists[f"activity {name}: scheduled→started (queue)"].append(_t(started) - _t(sched))
                lists[f"activity {name}: started→completed (run)"].append(_t(e) - _t(started))
            elif et == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
                counts["activity failures"] += 1
            elif et == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                counts["updates"] += 1
        started_at = _t(history.events[0])
        lists["workflow: start→close"].append(_t(history.events[-1]) - started_at)
    return {
        "dists": {k: dist(v) for k, v in lists.items()},
        "counts": dict(counts),
        "event_types": dict(kinds.most_common()),
    }


def read_model_check(url: str, tickets: list[str]) -> str:
    """How many of the run's cases the read model shows ARCHIVED."""
    if not tickets:
        return "no cases"
    engine = make_engine(url)
    try:
        with session_scope(session_factory(engine)) as session:
            archived = 0
            for i in range(0, len(tickets), 500):
                chunk = tickets[i : i + 500]
                query = (
                    select(func.count())
                    .select_from(CaseRecord)
                    .where(col(CaseRecord.ticket).in_(chunk), CaseRecord.status == "ARCHIVED")
                )
                archived += session.exec(query).one()
    finally:
        engine.dispose()
    return f"{archived}/{len(tickets)} cases ARCHIVED in the read model"


# ============================================================================================
# Reporting
# ============================================================================================
def fmt_ms(v: float) -> str:
    return "     -" if v != v else f"{v:6.1f}"  # NaN check


def print_dist_table(title: str, rows: list[tuple[str, dict[str, float]]], width: int = 44) -> None:
    print(f"    {title:<{width}} {'n':>6} {'p50':>6} {'p95':>6} {'p99':>6} {'max':>6}   (ms)")
    for name, d in rows:
        print(
            f"    {name:<{width}} {d['n']:>6} {fmt_ms(d['p50'])} {fmt_ms(d['p95'])} "
            f"{fmt_ms(d['p99'])} {fmt_ms(d['max'])}"
        )


def print_lag(label: str, lag: dict[str, float]) -> None:
    if not lag:
        return
    print(
        f"    {label}: p50 {lag['p50']:.1f} ms, p99 {lag['p99']:.1f} ms, max {lag['max']:.0f} ms, "
        f"{lag['stalls_over_50ms']} stalls > 50 ms, "
        f"{lag['stalled_s']:.2f} s lost in stalls > 20 ms"
    )


def print_run(res: RunResult) -> None:
    first = "start" if res.kind == "bare" else "intake"
    ok = f"{res.completed}/{res.cases}"
    print(
        f"\n  round {res.round}  {res.kind:<8}  {ok} lifecycles in {res.wall:.2f} s  →  "
        f"{res.lifecycles_per_s:.1f} lifecycles/s, {res.transitions_per_s:.1f} transitions/s"
    )
    closed = (
        f"all workflows closed {res.drain_s:.2f} s after the first start"
        if res.drain_s is not None
        else res.drain_note
    )
    print(f"    {closed}" + (f"; {res.read_model}" if res.read_model else ""))
    for err, n in res.errors.most_common(6):
        print(f"    ERROR ×{n}: {err}")
    actions = [v for k, vs in res.latency.items() if k != first for v in vs]
    every = [v for vs in res.latency.values() for v in vs]
    rows = [(k, dist(res.latency[k])) for k in (first, *STEPS)]
    rows += [("actions (5 updates, excl. " + first + ")", dist(actions))]
    rows += [("all 6 calls", dist(every))]
    print_dist_table("client-side latency", rows)
    counts = res.history.get("counts", {})
    if counts:
        n = counts.get("workflows", 1) or 1
        per = ", ".join(
            f"{counts.get(k, 0) / n:.1f} {k}" for k in sorted(counts) if k != "workflows"
        )
        print(f"    history sample of {n} workflows, per workflow: {per}")
        kinds = res.history["event_types"]
        print("    events per workflow: " + ", ".join(f"{v / n:.1f} {k}" for k, v in kinds.items()))
        print_dist_table("server timestamps (history sample)", list(res.history["dists"].items()))
    if res.cpu:
        per = max(1, res.completed)
        used = ", ".join(
            f"{name} {sec:.1f} s ({sec / per * 1000:.0f} ms/lifecycle)"
            for name, sec in res.cpu.items()
            if name != "host busy fraction"
        )
        busy = res.cpu.get("host busy fraction")
        host = f"; host {busy:.0%} busy across {os.cpu_count()} CPUs" if busy is not None else ""
        print(f"    CPU during the run: {used}{host}")
    print_lag("bench process event-loop lag (worker + load)", res.main_lag)
    if res.api_stats:
        print_lag(
            f"API process event-loop lag (pid {res.api_stats['pid']})", res.api_stats["loop_lag"]
        )
        rows = list(res.api_stats["timers"].items())
        print_dist_table("API process timers", rows, width=62)
        totals = ", ".join(
            f"{name.split(' (')[0].split(' [')[0]} {d['sum_s']:.1f} s"
            for name, d in rows
            if "sync on loop" in name
        )
        if totals:
            print(f"    sync SQL on the API event loop, summed: {totals} (run {res.wall:.1f} s)")


def stack_cpu_ms(res: RunResult) -> float:
    """CPU the stack's own processes spent per completed lifecycle (other processes excluded)."""
    own = [v for k, v in res.cpu.items() if k not in ("other processes", "host busy fraction")]
    return sum(own) / res.completed * 1000 if own and res.completed else float("nan")


def print_summary(results: list[RunResult], total_wall: float) -> None:
    print("\nsummary")
    print(
        f"  {'round':>5}  {'bare lc/s':>9}  {'cityloop lc/s':>13}  {'ratio c/b':>9}"
        f"  {'bare tr/s':>9}  {'cityloop tr/s':>13}  {'CPU ms/lc bare':>14}"
        f"  {'cityloop':>8}  {'CPU ratio b/c':>13}  {'others CPU s b/c':>16}"
    )
    by_round: dict[int, dict[str, RunResult]] = defaultdict(dict)
    for r in results:
        by_round[r.round][r.kind] = r
    ratios, cpu_ratios = [], []
    for rnd, runs in sorted(by_round.items()):
        b, c = runs.get("bare"), runs.get("cityloop")
        if b is None or c is None:
            continue
        ratio = c.lifecycles_per_s / b.lifecycles_per_s if b.lifecycles_per_s else float("nan")
        cpu_b, cpu_c = stack_cpu_ms(b), stack_cpu_ms(c)
        ratios.append(ratio)
        cpu_ratios.append(cpu_b / cpu_c)
        others = f"{b.cpu.get('other processes', 0):.1f}/{c.cpu.get('other processes', 0):.1f}"
        print(
            f"  {rnd:>5}  {b.lifecycles_per_s:>9.1f}  {c.lifecycles_per_s:>13.1f}  {ratio:>9.3f}"
            f"  {b.transitions_per_s:>9.1f}  {c.transitions_per_s:>13.1f}  {cpu_b:>14.0f}"
            f"  {cpu_c:>8.0f}  {cpu_b / cpu_c:>13.3f}  {others:>16}"
        )
    if len(ratios) > 1:
        print(
            f"  median ratio cityloop/bare: {statistics.median(ratios):.3f} lifecycles/s, "
            f"{statistics.median(cpu_ratios):.3f} by stack CPU per lifecycle"
        )
    print(
        "  (CPU ms/lc: bench process + temporal server + API process per lifecycle; the CPU "
        "ratio is\n   the throughput ratio a CPU-bound host would give, unaffected by other "
        "processes' load)"
    )
    print(f"  total wall time: {total_wall:.1f} s")


# ============================================================================================
# Main
# ============================================================================================
LOOP_LAG_MAIN = LoopLag()


async def api_stats(http: httpx.AsyncClient, *, reset: bool) -> dict[str, Any]:
    r = await http.get(STATS_PATH, params={"reset": str(reset).lower()})
    r.raise_for_status()
    return r.json()  # type: ignore[no-any-return]


@dataclasses.dataclass
class Bench:
    args: argparse.Namespace
    stack: Stack
    client: Client
    bare_client: Client
    http: httpx.AsyncClient
    tokens: dict[str, dict[str, str]]
    run_id: str


async def run_once(b: Bench, kind: str, rnd: int, n: int) -> RunResult:
    args, stack, client, http = b.args, b.stack, b.client, b.http
    res = RunResult(kind=kind, round=rnd, cases=n)
    driver: Any
    if kind == "bare":
        driver = BareDriver(b.bare_client, stack.bare_queue, args.bare_shape, b.run_id)
    else:
        driver = CityloopDriver(http, b.tokens)
        await api_stats(http, reset=True)
    LOOP_LAG_MAIN.snapshot(reset=True)
    cpu = CpuMeter(stack.pids)
    started = time.perf_counter()
    await drive(driver, n, args.concurrency, res)
    res.cpu = cpu.read()
    res.main_lag = LOOP_LAG_MAIN.snapshot(reset=True)
    if kind == "cityloop":
        res.api_stats = await api_stats(http, reset=True)
    await drain(client, res, started, args.drain_timeout)
    if kind == "cityloop" and res.drain_s is not None:
        tickets = [w.removeprefix("case-") for w in res.workflow_ids]
        res.read_model = await asyncio.to_thread(read_model_check, stack.db_url, tickets)
    sample = res.workflow_ids[:: max(1, len(res.workflow_ids) // max(1, args.history_sample))]
    if rnd > 0 and args.history_sample > 0:
        res.history = await history_profile(client, sample[: args.history_sample])
    return res


async def bench(args: argparse.Namespace, stack: Stack) -> list[RunResult]:
    run_id = uuid.uuid4().hex[:8]
    settings = Settings(
        database_url=stack.db_url,
        temporal_address=stack.address,
        temporal_namespace=stack.namespace,
        task_queue=stack.case_queue,
        # Fresh per bench: an existing server may hold cases of earlier benches.
        ticket_prefix=f"B{run_id[:5].upper()}",
        secret_key="bench-" + run_id,
        web_host="127.0.0.1",
        web_port=free_ports("127.0.0.1", 1)[0],
        log_level=args.log_level,
    )
    # The case worker and the API encrypt payloads as production does, unless --codec off;
    # the bare baseline never does (same connection, plain converter), so it stays a fixed
    # yardstick and the cityloop/bare ratio of an on run against an off run is the codec's cost.
    converter = data_converter(settings) if args.codec == "on" else DataConverter.default
    client = await Client.connect(
        stack.address, namespace=stack.namespace, data_converter=converter
    )
    bare_client = Client(**{**client.config(), "data_converter": DataConverter.default})
    engine = make_engine(stack.db_url)
    sessions = session_factory(engine)
    case_worker = build_worker(client, task_queue=stack.case_queue, sessions=sessions)
    bare_worker = Worker(
        bare_client,
        task_queue=stack.bare_queue,
        workflows=[BareLifecycle],
        activities=[bench_noop],
        activity_executor=ThreadPoolExecutor(max_workers=32),
        max_concurrent_activities=32,
    )
    tokens = await asyncio.to_thread(bearer_tokens, stack.db_url)
    results: list[RunResult] = []
    LOOP_LAG_MAIN.start()
    limits = httpx.Limits(max_connections=args.concurrency + 10)
    try:
        async with (
            case_worker,
            bare_worker,
            api_server(args, stack, settings, client),
            httpx.AsyncClient(base_url=stack.api_url, timeout=60, limits=limits) as http,
        ):
            print_header(args, stack)
            b = Bench(args, stack, client, bare_client, http, tokens, run_id)
            for kind in ("bare", "cityloop") if args.warmup else ():
                w = await run_once(b, kind, 0, args.warmup)
                errors = "".join(f"; ERROR ×{n}: {e}" for e, n in w.errors.items())
                print(
                    f"  warm-up {kind}: {w.completed}/{w.cases} lifecycles "
                    f"in {w.wall:.2f} s (not counted){errors}"
                )
            for rnd in range(1, args.rounds + 1):
                for kind in ("bare", "cityloop"):
                    res = await run_once(b, kind, rnd, args.cases)
                    results.append(res)
                    print_run(res)
                    sys.stdout.flush()
    finally:
        await LOOP_LAG_MAIN.stop()
        engine.dispose()
    return results


def print_header(args: argparse.Namespace, stack: Stack) -> None:
    shape = {
        "queue": "sync update handlers append to a queue; a workflow loop runs the no-op activity "
        "(CaseWorkflow's projection shape)",
        "await": "async update handlers each await the no-op activity before returning",
    }[args.bare_shape]
    print(f"cityloop lifecycle bench — {datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC")
    print(
        f"  cases {args.cases} per run, concurrency {args.concurrency}, rounds {args.rounds}, "
        f"warm-up {args.warmup} lifecycles of each kind"
    )
    print(f"  temporal : {stack.temporal_note}")
    print(f"  read model: {stack.db_note}")
    print(
        f"  worker   : in this process (pid {os.getpid()}): build_worker on {stack.case_queue!r} "
        f"+ bare worker on {stack.bare_queue!r}"
    )
    print(f"  web app  : {stack.api_note}")
    print(
        "  load     : this process; httpx.AsyncClient (cityloop) / Temporal client (bare), "
        f"asyncio.Semaphore({args.concurrency})"
    )
    print(f"  baseline : BareLifecycle, shape {args.bare_shape!r}: {shape}")
    codec = "AES-GCM payload codec (core/temporal/codec.py)" if args.codec == "on" else "none"
    print(f"  codec    : cityloop worker and API: {codec}; bare baseline: none")
    print("  order    : each round runs bare first, then cityloop (rounds alternate the two)")
    print(
        f"  host     : {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"temporalio {temporalio.__version__}, app log level {args.log_level}"
    )
    print(f"  bytecode : {args.bytecode_note}")
    sys.stdout.flush()


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.lifecycle",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--cases", type=int, default=500, help="lifecycles per run (default 500)")
    p.add_argument("--concurrency", type=int, default=50, help="lifecycles in flight (default 50)")
    p.add_argument("--rounds", type=int, default=1, help="bare+cityloop pairs to run (default 1)")
    p.add_argument("--warmup", type=int, default=10, help="unmeasured lifecycles of each kind")
    p.add_argument("--database-url", default="", help="read model (default: fresh SQLite in tmp)")
    p.add_argument("--address", default="", help="existing Temporal server host:port")
    p.add_argument("--namespace", default="", help="namespace on --address (default: yml's)")
    p.add_argument(
        "--api",
        choices=("process", "inline"),
        default="process",
        help="serve the web app in a separate process (default) or inline",
    )
    p.add_argument("--bare-shape", choices=("queue", "await"), default="queue")
    p.add_argument(
        "--codec",
        choices=("on", "off"),
        default="on",
        help="encrypt cityloop's Temporal payloads (core/temporal/codec.py) as production does "
        "(default on); the bare baseline never encrypts",
    )
    p.add_argument("--history-sample", type=int, default=20, help="histories to analyse per run")
    p.add_argument("--drain-timeout", type=float, default=180.0)
    p.add_argument("--log-level", default="WARNING", help="cityloop app/worker log level")
    p.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="with PYTHONDONTWRITEBYTECODE set, let the workflow sandbox compile workflow "
        "modules from source for every new workflow (default: cache .pyc in the temp dir)",
    )
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs, databases)")
    p.add_argument("--serve-api", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_api:
        serve_api_process()
        return 0
    from core.logs import configure_logging

    # As `cityloop worker` does; at the default WARNING the per-action info lines stay quiet.
    configure_logging(json=False, level=args.log_level)
    wall = time.perf_counter()
    tmp_dir = tempfile.mkdtemp(prefix="cityloop-bench-")
    tmp = Path(tmp_dir)
    if sys.dont_write_bytecode and not args.no_bytecode_cache:
        # The sandbox re-imports the workflow modules for every new workflow; without .pyc
        # files that means compiling them from source each time (bench/lifecycle.py ~13 ms,
        # workflows/case/workflow.py ~5 ms). Cache bytecode outside the repo, in the temp dir.
        sys.pycache_prefix = str(tmp / "pycache")
        sys.dont_write_bytecode = False
        args.bytecode_note = f"PYTHONDONTWRITEBYTECODE overridden: .pyc cached in {tmp}/pycache"
    elif sys.dont_write_bytecode:
        args.bytecode_note = "no .pyc (PYTHONDONTWRITEBYTECODE): sandbox compiles per workflow"
    else:
        args.bytecode_note = "normal .pyc caching"
    db_url = args.database_url or f"sqlite:///{tmp / 'cityloop.db'}"
    db_note = args.database_url or f"fresh SQLite {tmp / 'cityloop.db'} (core.db: WAL, sync=NORMAL)"
    results: list[RunResult] = []
    server: DevServer | None = None
    try:
        server_pid = None
        if args.address:
            cfg = DevStackConfig.load(ROOT / "temporal-dev.yml")
            address, namespace = args.address, args.namespace or cfg.namespace
            note = f"existing server {address}, namespace {namespace}"
        else:
            cfg = embedded_config(tmp)
            server = DevServer(cfg)
            server.start()
            address, namespace = cfg.address, cfg.namespace
            server_pid = server._process.pid if server._process else None  # CPU accounting
            pragmas = " ".join(f"{k}={v}" for k, v in cfg.sqlite_pragmas.items())
            note = (
                f"embedded dev server {address} ns {namespace} (UI port {cfg.ui_port}), "
                f"db {cfg.db_file} [{pragmas}], {len(cfg.search_attributes)} search attributes"
            )
        prepare_demo_database(db_url)
        stack = Stack(
            address=address,
            namespace=namespace,
            db_url=db_url,
            db_note=db_note,
            case_queue=f"bench-cases-{uuid.uuid4().hex[:8]}",
            bare_queue=f"bench-bare-{uuid.uuid4().hex[:8]}",
            temporal_note=note,
            tmp=tmp,
        )
        stack.pids["bench process"] = os.getpid()
        if server_pid is not None:
            stack.pids["temporal server"] = server_pid
        results = asyncio.run(bench(args, stack))
    except KeyboardInterrupt:
        print("\ninterrupted: stack stopped", file=sys.stderr)
        return 130
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            print(f"  kept {tmp}")
        else:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        if results:
            print_summary(results, time.perf_counter() - wall)
    return 0


if __name__ == "__main__":
    sys.exit(main())
