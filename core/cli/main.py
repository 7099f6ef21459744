"""The `cityloop` command: run the whole stack, or one part of it, and admin chores."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from typing import TYPE_CHECKING, TypeVar

import typer
import uvicorn
from sqlmodel import Session
from temporalio.client import Client
from temporalio.worker import Worker

from core.cli.notify import notify_app
from core.cli.security import open311_app, token_app, user_app
from core.config import ROOT, InsecureSettings, Settings, check_production, get_settings
from core.db import SessionFactory, database, make_engine, migrate, session_factory
from core.demo.seed import prepare_demo_database
from core.devstack import DevServer, DevStackConfig
from core.lifeline import lifeline_argv
from core.logs import configure_logging, get_logger
from core.metrics import worker_runtime

app = typer.Typer(
    help="cityloop: closed-loop city case management on Temporal.", no_args_is_help=True
)
app.add_typer(token_app, name="token")
app.add_typer(user_app, name="user")
app.add_typer(open311_app, name="open311-key")
app.add_typer(notify_app, name="notify")
if TYPE_CHECKING:
    from core.temporal.replay import ReplayCheck

log = get_logger("cityloop")
T = TypeVar("T")


def _setup() -> Settings:
    settings = get_settings()
    configure_logging(json=settings.is_production, level=settings.log_level)
    return settings


def _web_settings() -> Settings:
    """The settings, if the web app may run with them; else say which setting and exit 2."""
    settings = _setup()
    try:
        check_production(settings)
    except InsecureSettings as err:
        typer.echo(f"refusing to start: {err}", err=True)
        raise typer.Exit(2) from None
    return settings


@app.command()
def run(demo: bool = typer.Option(True, help="seed the demo org tree, users and catalog")) -> None:
    """Start the Temporal dev server, the worker and the web app (Ctrl-C stops all three).

    Ctrl-C or SIGTERM stops the worker and the web app with SIGTERM (the worker drains), waits
    for them, and only then stops the server. Killed outright, it takes all three along: each
    child gets SIGTERM from the kernel when this process dies (core.lifeline).
    """
    settings = _web_settings()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop as on Ctrl-C
    config = DevStackConfig.load(settings.dev_stack_file, root=ROOT)
    settings = settings.model_copy(
        update={"temporal_address": config.address, "temporal_namespace": config.namespace}
    )
    _prepare_database(settings, demo=demo)
    with DevServer(config):
        children = [_spawn("worker", settings), _spawn("web", settings)]
        try:
            _print_urls(settings, config)
            _wait_for_interrupt(children)
        finally:
            _stop(children, grace=settings.shutdown_grace_seconds)


def _spawn(part: str, settings: Settings) -> subprocess.Popen[bytes]:
    env = {
        "CITYLOOP_TEMPORAL_ADDRESS": settings.temporal_address,
        "CITYLOOP_TEMPORAL_NAMESPACE": settings.temporal_namespace,
        "CITYLOOP_DATABASE_URL": settings.database_url,
    }
    return subprocess.Popen(
        lifeline_argv([sys.executable, "-m", "core.cli.main", part]),
        env={**os.environ, **env},
        # A group of its own: the terminal's Ctrl-C reaches only us, and we stop it in order.
        process_group=0,
    )


def _wait_for_interrupt(children: list[subprocess.Popen[bytes]]) -> None:
    """Return when Ctrl-C or SIGTERM arrives, or when a child has died."""
    with contextlib.suppress(KeyboardInterrupt):
        while all(c.poll() is None for c in children):
            with contextlib.suppress(subprocess.TimeoutExpired):
                children[0].wait(timeout=1)
    for child in children:
        if child.returncode not in (None, 0):
            log.error("child_died", pid=child.pid, returncode=child.returncode)


def _stop(children: list[subprocess.Popen[bytes]], *, grace: float) -> None:
    """SIGTERM every child, give them the worker's drain time and a little more, then kill."""
    started = time.monotonic()
    for child in children:
        if child.poll() is None:
            child.terminate()
    deadline = started + grace + 10
    for child in children:
        try:
            child.wait(timeout=max(deadline - time.monotonic(), 0))
        except subprocess.TimeoutExpired:
            log.warning("child_killed", pid=child.pid, after_s=round(time.monotonic() - started))
            child.kill()
            child.wait()
    log.info("stack_stopped", seconds=round(time.monotonic() - started, 2))


def _print_urls(settings: Settings, config: DevStackConfig) -> None:
    base = f"http://{settings.web_host}:{settings.web_port}"
    metrics = settings.worker_metrics_address
    typer.echo(
        f"\n  cityloop web UI   {base}/\n  JSON API docs     {base}/docs\n"
        f"  Temporal Web UI   {config.ui_url}/namespaces/{config.namespace}/workflows\n"
        f"  health, metrics   {base}/healthz  {base}/readyz  {base}/metrics\n"
        + (f"  worker metrics    http://{metrics}/metrics\n" if metrics else "")
        + "  demo users        operator1, dispatcher1, handler_nhl, verifier_gl … "
        "(password demo1234, see README)\n  Ctrl-C stops everything.\n"
    )


def _prepare_database(settings: Settings, *, demo: bool) -> None:
    if not demo:
        migrate(settings.database_url)
        return
    counts = prepare_demo_database(settings.database_url)
    log.info("demo_seeded", **counts)


@app.command()
def worker() -> None:
    """Run a worker against CITYLOOP_TEMPORAL_ADDRESS (scale out by running more).

    SIGINT or SIGTERM drains it: it stops polling, lets running activities and workflow tasks
    finish within CITYLOOP_SHUTDOWN_GRACE_SECONDS, then exits 0.
    """
    settings = _setup()
    _check_payload_keys(settings)
    asyncio.run(_run_worker(settings))


async def _run_worker(settings: Settings) -> None:
    from core.temporal.schedules import ensure_schedules
    from core.temporal.worker import build_worker, connect

    client = await connect(settings, runtime=worker_runtime(settings.worker_metrics_address))
    sessions = session_factory(make_engine(settings.database_url))
    grace = timedelta(seconds=settings.shutdown_grace_seconds)
    w = build_worker(
        client,
        task_queue=settings.task_queue,
        sessions=sessions,
        settings=settings,
        shutdown_grace=grace,
    )
    await ensure_schedules(client, settings)
    if not settings.is_production:
        asyncio.get_running_loop().create_task(_stage_demo(client, settings, sessions))
    drain = _Drain(w)
    log.info("worker_started", task_queue=settings.task_queue, address=settings.temporal_address)
    await w.run()
    drained = f"{time.monotonic() - drain.began:.2f}" if drain.began else None
    log.info("worker_stopped", drain_s=drained)


async def _stage_demo(client: Client, settings: Settings, sessions: SessionFactory) -> None:
    """Stage the registered types' demo cases once the worker runs (they need it to move)."""
    from core.demo.seed import stage_demo_cases

    try:
        staged = await stage_demo_cases(client, settings, sessions)
    except Exception as err:  # a demo that cannot be staged must not stop the worker
        log.warning("demo_not_staged", error=str(err))
        return
    log.info("demo_staged", types=staged)


class _Drain:
    """On SIGINT or SIGTERM, shut the worker down gracefully; a second signal changes nothing."""

    def __init__(self, worker: Worker) -> None:
        self.worker = worker
        self.began: float | None = None
        self._shutdown: asyncio.Task[None] | None = None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self.start, sig)

    def start(self, sig: signal.Signals) -> None:
        if self.began is None:
            self.began = time.monotonic()
            log.info("worker_draining", signal=sig.name)
            self._shutdown = asyncio.get_running_loop().create_task(self.worker.shutdown())


@app.command()
def web() -> None:
    """Run the web app and JSON API (SIGINT or SIGTERM: finish open requests, then exit)."""
    settings = _web_settings()
    _check_payload_keys(settings)
    from api.app import create_app

    uvicorn.run(
        create_app(settings),
        host=settings.web_host,
        port=settings.web_port,
        log_config=None,
        timeout_graceful_shutdown=int(settings.shutdown_grace_seconds),
    )


def _check_payload_keys(settings: Settings) -> None:
    """Exit naming the setting when the payload keys are unusable (or weak in production)."""
    from core.temporal.codec import PayloadKeyError, keyring

    try:
        keyring(settings)
    except PayloadKeyError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from None


@app.command("migrate")
def migrate_cmd(demo: bool = typer.Option(False, help="also seed the demo data")) -> None:
    """Apply database migrations (and optionally seed the demo data)."""
    _prepare_database(_setup(), demo=demo)


@app.command("payload-key")
def payload_key(key_id: str = typer.Argument(..., help="the new key's id, e.g. k2027a")) -> None:
    """Print a new 256-bit Temporal payload key as a CITYLOOP_PAYLOAD_KEYS entry (docs/codec.md)."""
    from core.temporal.codec import PayloadKeyError, new_key_entry

    try:
        typer.echo(new_key_entry(key_id))
    except PayloadKeyError as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(2) from None


@app.command("device-token")
def device_token(device_id: str) -> None:
    """Mint a new token for sensor DEVICE_ID (its old one stops working) and print it."""
    from core.intake.devices import mint_device_token
    from core.models import Device

    with _database() as session:
        device = _found(session.get(Device, device_id), f"no device {device_id!r}")
        typer.echo(mint_device_token(session, device))


audit_app = typer.Typer(help="The audit trail (article 21).", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("verify")
def audit_verify(ticket: str = typer.Argument("", help="one case (and its whistles)")) -> None:
    """Check the hash chain of every timeline; name the first broken link of each."""
    from core.cases.audit import verify_stored

    with _database() as session:
        checked, broken = verify_stored(session, ticket)
    for link in broken:
        typer.echo(f"BROKEN {link.case_id} at seq {link.seq}: {link.problem}")
    typer.echo(f"{checked} timelines checked, {len(broken)} broken")
    if broken or (ticket and not checked):
        raise typer.Exit(1)


@app.command("replay-check")
def replay_check(
    query: str = typer.Option(
        "ExecutionStatus = 'Running'", help="a visibility query: the workflows to replay"
    ),
) -> None:
    """Replay the histories of running workflows against this tree's workflow code; exit 1
    naming the first that does not replay (run it before deploying a worker, docs/replay.md)."""
    settings = _setup()
    found = asyncio.run(_replay_check(settings, query))
    if not found.ok:
        typer.echo(f"NONDETERMINISTIC {found.workflow_id}: {found.failure}", err=True)
        typer.echo(f"{found.replayed} histories replayed; {found.workflow_id} failed", err=True)
    else:
        typer.echo(f"{found.replayed} histories replayed, all deterministic")
    sys.stdout.flush()
    sys.stderr.flush()
    # The answer is given: leave without finalizing the interpreter, which the SDK's native
    # threads can abort (PyGILState_Release, exit -6) when they outlive the event loop.
    os._exit(0 if found.ok else 1)


async def _replay_check(settings: Settings, query: str) -> ReplayCheck:
    from core.temporal.replay import replay_check as check
    from core.temporal.worker import connect

    return await check(await connect(settings), query=query)


@app.command("new-type")
def new_type(
    name: str = typer.Argument(..., help="the type's name, a lowercase identifier: road_closure"),
    label: str = typer.Option("", help="its zh-CN label (default: the name)"),
    ticket_prefix: str = typer.Option("", help="how its tickets start (default: initials, RC-)"),
) -> None:
    """Scaffold a case type that runs at once: contracts, a workflow with one action (close),
    its activity, pages, a time-skipping test and its registry entry (docs/case-types.md)."""
    from core.cli import scaffold

    new = scaffold.NewType(name, label or name, ticket_prefix or scaffold.default_prefix(name))
    try:
        written = scaffold.scaffold(ROOT, new, scaffold.taken_now())
    except scaffold.Refused as err:
        typer.echo(f"refusing: {err}", err=True)
        raise typer.Exit(2) from None
    for path in written:
        typer.echo(f"wrote {path}")
    typer.echo(f"next: pytest tests/workflows/test_{name}.py; then `cityloop run`")


attachments_app = typer.Typer(help="Uploaded photos and videos.", no_args_is_help=True)
app.add_typer(attachments_app, name="attachments")


@attachments_app.command("prune")
def attachments_prune() -> None:
    """Remove now the files no case took, last uploaded longer ago than the retention setting."""
    from datetime import UTC, datetime

    from core.attachments.unattached import remove_unattached

    settings = _setup()
    engine = make_engine(settings.database_url)
    try:
        done = remove_unattached(session_factory(engine), settings, datetime.now(UTC))
    finally:
        engine.dispose()
    typer.echo(
        f"removed {done.removed} files ({done.freed_bytes} bytes);"
        f" {done.attached} uploads found held by cases"
    )


def _database() -> contextlib.AbstractContextManager[Session]:
    """A session on the configured database, committed when the command succeeds."""
    return database(_setup().database_url)


def _found(row: T | None, missing: str) -> T:
    if row is None:
        typer.echo(missing, err=True)
        raise typer.Exit(2)
    return row


if __name__ == "__main__":
    app()
