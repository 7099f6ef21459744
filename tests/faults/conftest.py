"""Fixtures of the fault suite: the stack in separate processes, the experiment's size, and the
counts every experiment prints (also in the run's summary, passed or failed)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.conftest import PG_ADMIN_URL, POSTGRES
from tests.faults.audit import Report
from tests.faults.scenario import CI_SIZE, FULL_SIZE, Size
from tests.faults.stack import Stack, postgres_read_model, running, sqlite_read_model

_REPORTS: list[str] = []


@pytest.fixture(scope="session")
def size(request: pytest.FixtureRequest) -> Size:
    full = request.config.getoption("--faults-full") or os.environ.get("CITYLOOP_FAULTS_FULL")
    return FULL_SIZE if full and full != "0" else CI_SIZE


@pytest.fixture
def record() -> Callable[[Report], None]:
    """Print an experiment's counts now and in the run's summary."""

    def keep(report: Report) -> None:
        text = report.render()
        _REPORTS.append(text)
        print(text)

    return keep


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _REPORTS:
        terminalreporter.write_sep("=", "fault suite counts")
        for text in _REPORTS:
            terminalreporter.write_line(text)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_FAILED] = report.failed
    return report


_FAILED = pytest.StashKey[bool]()


def _test_failed(request: pytest.FixtureRequest) -> Callable[[], bool]:
    return lambda: request.node.stash.get(_FAILED, True)


@pytest_asyncio.fixture(loop_scope="session")
async def stack(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Stack]:
    """A fresh stack on a SQLite read model, stopped after the test."""
    db_url = sqlite_read_model(tmp_path)
    async with running(tmp_path, db_url, _test_failed(request)) as started:
        yield started


@pytest.fixture
def postgres_url() -> Iterator[str]:
    if not POSTGRES:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    with postgres_read_model(PG_ADMIN_URL) as url:
        yield url


@pytest_asyncio.fixture(loop_scope="session")
async def postgres_stack(
    tmp_path: Path, postgres_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[Stack]:
    """A fresh stack on a PostgreSQL read model of its own."""
    async with running(tmp_path, postgres_url, _test_failed(request)) as started:
        yield started
