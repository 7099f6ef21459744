"""The read-model database goes away mid-burst and comes back: a SQLite file whose write lock
another connection holds, and a PostgreSQL database that refuses connections and has its
backends terminated. The cases are driven through the API with retries meanwhile."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN_URL
from tests.faults.audit import Report
from tests.faults.scenario import Size, lifecycles_under
from tests.faults.stack import Stack, hold_sqlite_write_lock, postgres_outage

pytestmark = [pytest.mark.faults, pytest.mark.asyncio(loop_scope="session")]


async def test_sqlite_write_lock_held_mid_burst(
    stack: Stack, size: Size, record: Callable[[Report], None]
) -> None:
    path = Path(stack.db_url.removeprefix("sqlite:///"))

    async def lock() -> str:
        await asyncio.to_thread(hold_sqlite_write_lock, path, size.outage)
        return f"SQLite BEGIN EXCLUSIVE held {size.outage:.0f} s"

    report = await lifecycles_under(stack, size, "sqlite-lock", moments=[0.3], strike=lock)
    record(report)
    assert not report.bad(), report.render()


@pytest.mark.postgres
async def test_postgres_refusing_connections_mid_burst(
    postgres_stack: Stack, size: Size, record: Callable[[Report], None]
) -> None:
    stack = postgres_stack
    database = stack.db_url.rsplit("/", 1)[1]

    async def outage() -> str:
        await asyncio.to_thread(postgres_outage, PG_ADMIN_URL, database, down=True)
        await asyncio.sleep(size.outage)
        await asyncio.to_thread(postgres_outage, PG_ADMIN_URL, database, down=False)
        return f"PostgreSQL ALLOW_CONNECTIONS false + backends terminated for {size.outage:.0f} s"

    report = await lifecycles_under(stack, size, "postgres-outage", moments=[0.3], strike=outage)
    record(report)
    assert not report.bad(), report.render()
