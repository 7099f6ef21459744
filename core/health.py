"""Readiness: can this process reach Temporal and the read-model database right now?

Each check is bounded by a short timeout so a probe never hangs on a dead dependency. The
database check runs on a pool of its own: a connection attempt that hangs holds one of its two
threads, never one that requests need.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.engine import Engine
from temporalio.client import Client

from core.logs import get_logger

log = get_logger("cityloop.health")
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="readiness")


async def check_temporal(client: Client, timeout: float) -> str:
    """`ok`, or why the frontend did not answer its health check in time."""
    try:
        serving = await asyncio.wait_for(
            client.service_client.check_health(timeout=timedelta(seconds=timeout)), timeout
        )
    except Exception as err:
        return _failed("temporal", err)
    return "ok" if serving else "not serving"


async def check_database(engine: Engine, timeout: float) -> str:
    """`ok`, or why the database did not take a write transaction in time."""
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.run_in_executor(_POOL, _writable, engine, timeout), timeout)
    except Exception as err:
        return _failed("database", err)
    return "ok"


def _writable(engine: Engine, timeout: float) -> None:
    """Open a write transaction and roll it back: proves the file or server takes writes.

    SQLite's BEGIN IMMEDIATE takes the write lock without writing, so a file another process
    holds locked, or one we may not write, fails here; the busy timeout is the probe's own.
    """
    with engine.connect() as conn:
        if engine.dialect.name != "sqlite":
            conn.execute(text("SELECT 1"))
            return
        busy = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
        conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            conn.exec_driver_sql("ROLLBACK")
        finally:
            conn.exec_driver_sql(f"PRAGMA busy_timeout = {int(busy or 0)}")


def _failed(dependency: str, err: BaseException) -> str:
    reason = "timeout" if isinstance(err, TimeoutError) else "unreachable"
    # The reason stays coarse on the unauthenticated endpoint; the log has the details.
    log.warning("dependency_unready", dependency=dependency, reason=reason, error=repr(err))
    return reason
