"""The real stack as separate OS processes: a Temporal dev server on its own SQLite file, the
worker (`cityloop worker`) and the web app (`cityloop web`), each on free ports.

Any of the three may be SIGKILLed and started again (the server on the same database file);
`Stack.close` stops whatever still runs, and an `atexit` hook kills what a skipped teardown
left behind. Read models (a SQLite file, a PostgreSQL database of its own) and their outages
live here too.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlmodel import select
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest, DescribeTaskQueueRequest
from temporalio.client import Client

from bench.stack import embedded_config, free_ports
from core.config import Settings
from core.db import make_engine, session_factory, session_scope
from core.demo.seed import prepare_demo_database
from core.devstack import find_temporal_cli
from core.models import User
from core.security.tokens import mint_token
from core.temporal.worker import connect

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 120.0  # seconds a process gets to answer after a (re)start on a loaded host
POLL = 0.2
_alive: set[int] = set()  # process groups started and not yet reaped


@atexit.register
def _kill_leftovers() -> None:
    for pgid in list(_alive):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


class Proc:
    """One child process in a process group of its own, its output appended to a log file;
    `ready` tells when it serves."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        env: dict[str, str],
        cwd: Path,
        ready: Callable[[], Awaitable[bool]],
    ) -> None:
        self.name, self.argv, self.env, self.cwd, self.ready = name, argv, env, cwd, ready
        self.log_path = cwd / f"{name}.log"
        self.starts = 0
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._popen is not None, f"{self.name} was never started"
        return self._popen.pid

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def spawn(self) -> None:
        assert not self.running, f"{self.name} is already running"
        with self.log_path.open("ab") as log:
            log.write(f"\n==== start {self.starts + 1} of {self.name} ====\n".encode())
            log.flush()
            self._popen = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: a kill takes its children along
            )
        self.starts += 1
        _alive.add(self._popen.pid)

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would: no clean-up of any kind."""
        self._signal(signal.SIGKILL)
        self._reap(timeout=30)

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if it has not gone within `timeout`."""
        if not self.running:
            self._reap(timeout=0)
            return
        self._signal(signal.SIGTERM)
        try:
            self._reap(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def tail(self, lines: int = 25) -> str:
        try:
            log = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError as err:
            return f"<no log: {err}>"
        return "\n".join(log.splitlines()[-lines:])

    def _signal(self, sig: signal.Signals) -> None:
        if self._popen is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._popen.pid, sig)

    def _reap(self, *, timeout: float) -> None:
        if self._popen is None:
            return
        if timeout:
            self._popen.wait(timeout=timeout)
        if self._popen.poll() is not None:
            _alive.discard(self._popen.pid)


class Stack:
    """Temporal dev server, worker and web app for one experiment, sharing one read model."""

    def __init__(self, tmp: Path, db_url: str) -> None:
        self.tmp, self.db_url = tmp, db_url
        self.temporal_config = embedded_config(tmp)
        self.web_port = free_ports("127.0.0.1", 1)[0]
        self.task_queue = f"faults-{uuid.uuid4().hex[:8]}"
        self.client: Client | None = None
        server = self.temporal_config.command(find_temporal_cli())
        cli, env = [sys.executable, "-m", "core.cli.main"], self._app_env()
        self.temporal = Proc(
            "temporal", server, env=dict(os.environ), cwd=tmp, ready=self._temporal_ready
        )
        self.worker = Proc("worker", [*cli, "worker"], env=env, cwd=tmp, ready=self._polling)
        self.web = Proc("web", [*cli, "web"], env=env, cwd=tmp, ready=self._answering)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def namespace(self) -> str:
        return self.temporal_config.namespace

    @property
    def temporal_client(self) -> Client:
        assert self.client is not None, "the stack has not been started"
        return self.client

    def _app_env(self) -> dict[str, str]:
        """Settings of the worker and the web app (core/config.py), all through the env."""
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        return {
            **os.environ,
            "PYTHONPATH": path,  # this checkout, whatever the venv's editable install points at
            "CITYLOOP_TEMPORAL_ADDRESS": self.temporal_config.address,
            "CITYLOOP_TEMPORAL_NAMESPACE": self.temporal_config.namespace,
            "CITYLOOP_DATABASE_URL": self.db_url,
            "CITYLOOP_TASK_QUEUE": self.task_queue,
            "CITYLOOP_WEB_HOST": "127.0.0.1",
            "CITYLOOP_WEB_PORT": str(self.web_port),
            "CITYLOOP_ATTACHMENT_DIR": str(self.tmp / "attachments"),
            "CITYLOOP_TICKET_PREFIX": "FT",
            "CITYLOOP_SECRET_KEY": f"faults-{uuid.uuid4().hex}",
            "CITYLOOP_LOG_LEVEL": "WARNING",
        }

    # ---- life ------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.launch(self.temporal)
        # As the app connects (its data converter and payload codec, if any): queries answer
        # in the payloads the worker writes.
        self.client = await connect(
            Settings(
                temporal_address=self.temporal_config.address,
                temporal_namespace=self.temporal_config.namespace,
                database_url=self.db_url,
                task_queue=self.task_queue,
            )
        )
        await self.launch(self.worker)
        await self.launch(self.web)

    async def launch(self, proc: Proc) -> None:
        """Start `proc` (the server on its database file, also after a kill) and wait until
        it serves; fail with its log's tail if it dies or stalls."""
        proc.spawn()
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if not proc.running:
                raise RuntimeError(f"{proc.name} exited during start-up:\n{proc.tail()}")
            with contextlib.suppress(Exception):  # not up yet: refused, unknown namespace, …
                if await asyncio.wait_for(proc.ready(), timeout=10):
                    return
            await asyncio.sleep(POLL)
        raise RuntimeError(f"{proc.name} not ready after {READY_TIMEOUT:.0f} s:\n{proc.tail()}")

    async def crash(self, proc: Proc, *, downtime: float) -> str:
        """SIGKILL `proc`, leave it dead `downtime` seconds, then launch it again. Returns
        what was done, for the report."""
        await asyncio.to_thread(proc.kill)
        await asyncio.sleep(downtime)
        await self.launch(proc)
        return f"{proc.name} SIGKILL, {downtime:.1f} s down, restarted"

    async def close(self) -> None:
        for proc in (self.web, self.worker, self.temporal):
            await asyncio.to_thread(proc.stop)

    def log_tails(self) -> str:
        return "\n".join(
            f"--- {p.name} ({p.log_path}) ---\n{p.tail()}"
            for p in (self.temporal, self.worker, self.web)
        )

    # ---- readiness -------------------------------------------------------------------------
    async def _temporal_ready(self) -> bool:
        client = self.client or await Client.connect(
            self.temporal_config.address, namespace=self.namespace
        )
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=self.namespace)
        )
        return True

    async def _polling(self) -> bool:
        """The new process polls the task queue (its identity is `<pid>@<host>`)."""
        described = await self.temporal_client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=self.namespace,
                task_queue=TaskQueue(name=self.task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
        return any(p.identity.startswith(f"{self.worker.pid}@") for p in described.pollers)

    async def _answering(self) -> bool:
        async with httpx.AsyncClient(timeout=5) as http:
            return (await http.get(f"{self.base_url}/openapi.json")).status_code == 200


@contextlib.asynccontextmanager
async def running(tmp: Path, db_url: str, failed: Callable[[], bool]) -> AsyncIterator[Stack]:
    """A started stack, stopped whatever happens; its logs are printed if `failed()`."""
    stack = Stack(tmp, db_url)
    try:
        await stack.start()
        yield stack
    finally:
        await stack.close()
        if failed():
            print(f"stack logs in {tmp}:\n{stack.log_tails()}")


# ---- read models ---------------------------------------------------------------------------
def sqlite_read_model(tmp: Path) -> str:
    url = f"sqlite:///{tmp / 'cityloop.db'}"
    prepare_demo_database(url)
    return url


@contextlib.contextmanager
def postgres_read_model(admin_url: str) -> Iterator[str]:
    """A database of its own on the PostgreSQL server, demo-seeded, dropped afterwards."""
    name = f"cityloop_faults_{uuid.uuid4().hex[:10]}"
    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = admin_url.rsplit("/", 1)[0] + f"/{name}"
        prepare_demo_database(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def postgres_outage(admin_url: str, database: str, *, down: bool) -> None:
    """Refuse new connections to `database` and end its open ones; or let them in again."""
    admin = make_engine(admin_url).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        allow = "false" if down else "true"
        conn.execute(text(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS {allow}'))
        if down:
            conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": database},
            )
    admin.dispose()


def hold_sqlite_write_lock(path: Path, seconds: float) -> None:
    """Hold the read model's write lock (BEGIN EXCLUSIVE) for `seconds`; blocks its thread."""
    conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    try:
        conn.execute("BEGIN EXCLUSIVE")
        time.sleep(seconds)
        conn.execute("ROLLBACK")
    finally:
        conn.close()


def mint_tokens(db_url: str, usernames: list[str]) -> dict[str, str]:
    """A fresh bearer token for each demo user."""
    engine = make_engine(db_url)
    tokens = {}
    with session_scope(session_factory(engine)) as session:
        for username in usernames:
            user = session.exec(select(User).where(User.username == username)).one()
            tokens[username] = mint_token(session, user)
    engine.dispose()
    return tokens
