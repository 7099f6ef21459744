"""Supervision at scale: many open cases with pending timers, and a bulk extension over some.

Run as ``.venv/bin/python -m bench.supervision [--cases 10000] [--bulk 1000]``. It prints its
figures and asserts nothing.

An embedded Temporal dev server (temporal-dev.yml with fresh ports, WAL + full sync) and a
worker in its own process (``cityloop worker``, so its memory is its own) serve a fresh SQLite
read model. This process opens the cases through the case service (start without waiting, the
way a hotline integration would), waits until the read model holds them all, reads the memory
of the worker and the server, then runs one bulk override — extend every open 道路破损 case of
鼓楼区 by 8 working hours — and times it from the request to the last case updated.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlmodel import func, select
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest

from bench.stack import ROOT, embedded_config, rss_mib
from core.cases.service import ActionRequest, CaseFilter, CaseService, IntakeRequest
from core.config import Settings
from core.db import make_engine, session_factory, session_scope
from core.demo.seed import prepare_demo_database
from core.devstack import DevServer
from core.models import CaseRecord, User
from core.supervision import overrides
from core.temporal.worker import connect
from workflows.case.workflow import CaseWorkflow, start_search_attributes
from workflows.contracts import Action

BULK_FILTER = CaseFilter(district="gl", category="road_damage")
OTHER_STREETS = ["xw-xwm-c1-g1", "qh-fzm-c1-g1", "jy-ny-c1-g1", "qx-xl-c1-g1", "jn-ds-c1-g1"]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=10_000, help="open cases in all")
    p.add_argument("--bulk", type=int, default=1_000, help="of which the bulk override matches")
    p.add_argument("--concurrency", type=int, default=64, help="workflow starts in flight")
    return p.parse_args()


def user(sessions, username: str) -> User:  # type: ignore[no-untyped-def]
    with session_scope(sessions) as session:
        return session.exec(select(User).where(User.username == username)).one()


async def open_cases(service: CaseService, n: int, bulk: int, concurrency: int) -> float:
    """Start `n` cases, `bulk` of them matching BULK_FILTER; return the seconds it took."""
    operator = service.actor(user(service.sessions, "operator1"))
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        matching = i < bulk
        req = IntakeRequest(
            title=f"压测工单 {i}",
            category="road_damage" if matching else "exposed_garbage",
            location_unit_id="gl-nhl-c1-g1" if matching else OTHER_STREETS[i % len(OTHER_STREETS)],
        )
        with session_scope(service.sessions) as session:
            inp = service.case_input(session, operator, req)
        async with gate:
            await service.client.start_workflow(
                CaseWorkflow.run,
                inp,
                id=f"case-{inp.ticket}",
                task_queue=service.settings.task_queue,
                search_attributes=start_search_attributes(inp),
            )

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    return time.perf_counter() - started


async def wait_projected(service: CaseService, n: int, timeout: float) -> float:
    """Seconds until the read model holds `n` dispatched cases."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        with session_scope(service.sessions) as session:
            count = session.exec(
                select(func.count())
                .select_from(CaseRecord)
                .where(CaseRecord.status == "DISPATCHED")
            ).one()
        if count >= n:
            return time.perf_counter() - started
        await asyncio.sleep(0.5)
    raise TimeoutError(f"only {count} of {n} cases projected after {timeout:.0f}s")


async def bulk_extend(service: CaseService, expected: int) -> tuple[float, overrides.BulkProgress]:
    supervisor = user(service.sessions, "supervisor1")
    body = ActionRequest(hours=8, reason="暴雨，统一延长处置时限")
    req = overrides.BulkRequest(
        filters=BULK_FILTER, action=Action.EXTEND_DEADLINE, body=body, expected=expected
    )
    started = time.perf_counter()
    bulk_id = await overrides.start(service, supervisor, req)
    while not (progress := await overrides.progress(service, supervisor, bulk_id)).done:
        await asyncio.sleep(0.2)
    return time.perf_counter() - started, progress


def start_worker(settings: Settings, tmp: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CITYLOOP_TEMPORAL_ADDRESS": settings.temporal_address,
        "CITYLOOP_TEMPORAL_NAMESPACE": settings.temporal_namespace,
        "CITYLOOP_DATABASE_URL": settings.database_url,
        "CITYLOOP_TASK_QUEUE": settings.task_queue,
        "CITYLOOP_LOG_LEVEL": "WARNING",
    }
    log = (tmp / "worker.log").open("wb")
    return subprocess.Popen(
        [sys.executable, "-m", "core.cli.main", "worker"], env=env, cwd=ROOT, stdout=log, stderr=log
    )


async def wait_for_worker(service: CaseService, timeout: float = 60) -> None:
    """Until the worker process polls the task queue (its memory before then means nothing)."""
    request = DescribeTaskQueueRequest(
        namespace=service.client.namespace,
        task_queue=TaskQueue(name=service.settings.task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        described = await service.client.workflow_service.describe_task_queue(request)
        if described.pollers:
            return
        await asyncio.sleep(0.2)
    raise TimeoutError("the worker never polled its task queue")


def report(label: str, server: DevServer, worker: subprocess.Popen[bytes]) -> None:
    print(
        f"  memory {label:<28} worker {rss_mib(worker.pid):7.1f} MiB   "
        f"server {rss_mib(server.pid):7.1f} MiB"
    )


async def run(args: argparse.Namespace, tmp: Path) -> None:
    config = embedded_config(tmp)
    db_url = f"sqlite:///{tmp / 'cityloop.db'}"
    prepare_demo_database(db_url)
    settings = Settings(
        database_url=db_url,
        temporal_address=config.address,
        temporal_namespace=config.namespace,
        task_queue="bench-supervision",
    )
    with DevServer(config) as server:
        worker = start_worker(settings, tmp)
        try:
            client = await connect(settings)
            service = CaseService(client, session_factory(make_engine(db_url)), settings)
            await wait_for_worker(service)
            report("idle", server, worker)
            opened = await open_cases(service, args.cases, args.bulk, args.concurrency)
            projected = await wait_projected(service, args.cases, timeout=3600)
            print(
                f"  opened {args.cases} cases in {opened:.1f}s "
                f"({args.cases / opened:.0f}/s started); "
                f"read model complete {projected:.1f}s later "
                f"({args.cases / (opened + projected):.0f} cases/s end to end)"
            )
            report(f"{args.cases} open cases", server, worker)
            supervisor = user(service.sessions, "supervisor1")
            preview = overrides.preview(service, supervisor, BULK_FILTER)
            took, progress = await bulk_extend(service, preview.count)
            print(
                f"  bulk extension over {progress.total} cases: {took:.1f}s end to end "
                f"({progress.total / took:.0f} cases/s), applied {progress.applied}, "
                f"refused {progress.refused}"
            )
            report("after the bulk override", server, worker)
        finally:
            worker.terminate()
            worker.wait(timeout=30)


def main() -> None:
    args = parse_args()
    print(
        f"bench.supervision: {args.cases} open cases, bulk over {args.bulk}; "
        f"{os.cpu_count()} CPUs; embedded Temporal (SQLite WAL, synchronous=full)"
    )
    with tempfile.TemporaryDirectory(prefix="cityloop-bench-") as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
