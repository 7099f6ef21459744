"""Liveness, readiness and Prometheus metrics on the real app, without a token."""

from __future__ import annotations

import socket
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx
import pytest
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from core.config import Settings
from core.db import SessionFactory
from core.errors import RETRY_AFTER_S
from core.metrics import client_runtime
from tests.conftest import CONVERTER, api_client, make_settings, running_worker, token_for

CASE = {
    "title": "湖南路暴露垃圾",
    "category": "exposed_garbage",
    "location_unit_id": "gl-nhl-c1-g2",
}
OPERATIONS = ("/healthz", "/readyz", "/metrics")


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a Prometheus scrape, by name and labels."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(
    scrape: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return scrape.get((name, frozenset(labels.items())), 0.0)


@asynccontextmanager
async def app_on(
    db_url: str, client: Client, task_queue: str, **overrides: object
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(db_url, client, task_queue).model_copy(update=overrides)
    async with api_client(settings, client) as http:
        yield http


@contextmanager
def write_locked(db_file: Path) -> Iterator[None]:
    """Another process's view: a writer holds SQLite's write lock."""
    conn = sqlite3.connect(db_file, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


async def test_probes_answer_without_a_token_and_stay_out_of_the_schema(
    http: httpx.AsyncClient,
) -> None:
    health = await http.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready", "checks": {"temporal": "ok", "database": "ok"}}
    scrape = await http.get("/metrics")
    assert scrape.status_code == 200
    assert scrape.headers["content-type"] == CONTENT_TYPE_LATEST
    assert "# TYPE cityloop_actions_total counter" in scrape.text
    paths = (await http.get("/openapi.json")).json()["paths"]
    assert not set(OPERATIONS) & set(paths)


async def test_readyz_names_a_locked_sqlite_file(
    dev_env: WorkflowEnvironment, sqlite_db: str, task_queue: str, tmp_path: Path
) -> None:
    async with app_on(sqlite_db, dev_env.client, task_queue, readiness_timeout_seconds=0.3) as http:
        with write_locked(tmp_path / "cityloop.db"):
            locked = await http.get("/readyz")
        again = await http.get("/readyz")
    assert locked.status_code == 503 and locked.headers["retry-after"] == str(RETRY_AFTER_S)
    body = locked.json()
    assert body["failed"] == ["database"] and body["checks"]["temporal"] == "ok"
    assert again.status_code == 200, again.text


@pytest.mark.parametrize("where", ["not_a_database", "nowhere"])
async def test_readyz_names_a_database_it_cannot_use(
    dev_env: WorkflowEnvironment, task_queue: str, tmp_path: Path, where: str
) -> None:
    if where == "not_a_database":
        garbage = tmp_path / "cityloop.db"
        garbage.write_bytes(b"this is no SQLite file\n" * 200)
        url = f"sqlite:///{garbage}"
    else:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{closed_port()}/nowhere"
    async with app_on(url, dev_env.client, task_queue) as http:
        ready = await http.get("/readyz")
        health = await http.get("/healthz")
    assert ready.status_code == 503 and ready.headers["retry-after"] == str(RETRY_AFTER_S)
    assert ready.json()["failed"] == ["database"]
    assert ready.json()["checks"]["database"] == "unreachable"
    assert health.status_code == 200  # alive, only not ready


async def test_readyz_names_temporal_when_it_is_down(
    dev_env: WorkflowEnvironment, sqlite_db: str, task_queue: str
) -> None:
    nowhere = await Client.connect(f"127.0.0.1:{closed_port()}", lazy=True)
    async with app_on(sqlite_db, nowhere, task_queue, readiness_timeout_seconds=1.0) as http:
        ready = await http.get("/readyz")
    assert ready.status_code == 503 and ready.json()["failed"] == ["temporal"]
    assert ready.json()["checks"]["database"] == "ok"


async def test_actions_and_intake_are_counted_by_outcome(
    http: httpx.AsyncClient, sessions: SessionFactory
) -> None:
    op, handler = token_for(sessions, "operator1"), token_for(sessions, "handler_nhl")
    before = samples((await http.get("/metrics")).text)
    ticket = (await http.post("/api/v1/cases", json=CASE, headers=op)).json()["ticket"]
    accept = f"/api/v1/cases/{ticket}/actions/accept"
    assert (await http.post(accept, json={}, headers=handler)).status_code == 200
    assert (await http.post(accept, json={}, headers=handler)).status_code == 409
    after = samples((await http.get("/metrics")).text)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("cityloop_actions_total", action="accept", outcome="ok") == 1
    assert grew("cityloop_actions_total", action="accept", outcome="refused") == 1
    assert grew("cityloop_action_seconds_count", action="accept", outcome="ok") == 1
    assert grew("cityloop_intake_total", channel="hotline", outcome="opened") == 1


async def test_temporal_client_metrics_are_served(
    dev_env: WorkflowEnvironment, db_url: str, sessions: SessionFactory, task_queue: str
) -> None:
    target = dev_env.client.service_client.config.target_host
    client = await Client.connect(
        target,
        namespace=dev_env.client.namespace,
        runtime=client_runtime(),
        data_converter=CONVERTER,
    )
    settings: Settings = make_settings(db_url, client, task_queue)
    async with (
        running_worker(dev_env.client, task_queue, sessions),
        api_client(settings, client) as http,
    ):
        op = token_for(sessions, "operator1")
        created = await http.post("/api/v1/cases", json=CASE, headers=op)
        assert created.status_code == 201, created.text
        scrape = samples((await http.get("/metrics")).text)
    # Namespaced calls are the case's own (today one ExecuteMultiOperation: start + routing).
    calls = {
        dict(labels)["operation"]: v
        for (name, labels), v in scrape.items()
        if name in ("temporal_request_total", "temporal_long_request_total")
        and ("namespace", client.namespace) in labels
    }
    assert calls.get("ExecuteMultiOperation", 0) >= 1, calls
    latency = [
        v for (name, _), v in scrape.items() if name == "temporal_long_request_latency_count"
    ]
    assert latency and sum(latency) >= 1
