"""Intake throughput with duplicate checking, at 100,000 open cases.

Run as ``.venv/bin/python -m bench.intake [--open 100000] [--reports 300] [--rounds 2]``.
It prints its figures and asserts nothing.

Duplicate candidates come from the SQL read model (core/intake/dedup.py), so the bench fills the
`cases` table with ``--open`` open cases (random points over the city, the catalog's
categories, received within the last two days) and measures:

1. the candidate query alone, on an empty table and on the full one (queries/s, p50, p99);
2. intake end to end — the case service opening real workflows on an embedded Temporal dev
   server with a worker in its own process — with the duplicate check (``duplicates="auto"``:
   every report is checked, one in ten lies on an open case's very spot and is merged into it)
   against the same reports without it (``duplicates="new"``), rounds alternating.

The seeded rows are read-model rows only: no workflow stands behind them (opening 100,000 real
cases takes ~1.5 h here; bench.supervision measures live open cases). The duplicate check
reads only the read model, so for it they are what real open cases would be.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert
from sqlmodel import select

from bench.stack import embedded_config
from bench.supervision import start_worker, user, wait_for_worker
from core.cases.service import CaseService, IntakeRequest
from core.config import Settings
from core.db import SessionFactory, make_engine, session_factory, session_scope
from core.demo.seed import prepare_demo_database
from core.devstack import DevServer
from core.intake import dedup
from core.intake.geo import boundaries
from core.intake.service import IntakeService
from core.logs import configure_logging
from core.models import CaseRecord, Category
from core.temporal.worker import connect

# The demo city's bounding box (core/demo/geo.py: Nanjing's real outline); not every point in it
# lies in the city, so reports draw with city_point().
LAT, LON = (31.23, 32.62), (118.36, 119.24)
KINDS = ("component", "event")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--open", type=int, default=100_000, help="open cases in the read model")
    p.add_argument("--reports", type=int, default=300, help="reports per intake run")
    p.add_argument("--concurrency", type=int, default=8, help="reports in flight")
    p.add_argument("--rounds", type=int, default=2, help="rounds of (without, with) checking")
    p.add_argument("--queries", type=int, default=2_000, help="candidate queries per reading")
    p.add_argument("--database-url", default="", help="read model (default: SQLite in a tmp dir)")
    return p.parse_args()


def categories(sessions: SessionFactory) -> list[Category]:
    with session_scope(sessions) as session:
        rows = session.exec(select(Category).where(Category.kind.in_(KINDS)))  # type: ignore[attr-defined]
        return list(rows)


def seed_open_cases(sessions: SessionFactory, n: int, cats: list[Category]) -> float:
    """Insert `n` open read-model rows in batches; return the seconds it took."""
    rng, now, started = random.Random(7), datetime.now(UTC), time.perf_counter()
    for first in range(0, n, 5_000):
        rows = []
        for i in range(first, min(first + 5_000, n)):
            cat = rng.choice(cats)
            created = now - timedelta(minutes=rng.uniform(0, 48 * 60))
            rows.append(
                {
                    "id": f"case-SEED-{i}",
                    "ticket": f"SEED-{i}",
                    "external_id": "",
                    "case_type": "city_event",
                    "channel": "hotline",
                    "title": f"{cat.name}（压测）",
                    "description": "",
                    "category": cat.key,
                    "category_name": cat.name,
                    "priority": "normal",
                    "status": "DISPATCHED",
                    "location_unit_id": "nj",
                    "location_path": "/nj/",
                    "lat": rng.uniform(*LAT),
                    "lon": rng.uniform(*LON),
                    "created_at": created,
                    "updated_at": created,
                    "last_seq": 3,
                }
            )
        with session_scope(sessions) as session:
            session.execute(insert(CaseRecord), rows)
    return time.perf_counter() - started


def query_figures(sessions: SessionFactory, cats: list[Category], n: int) -> dict[str, float]:
    rng, now, took = random.Random(11), datetime.now(UTC), []
    with session_scope(sessions) as session:
        for _ in range(n):
            cat = rng.choice(cats)
            lat, lon = rng.uniform(*LAT), rng.uniform(*LON)
            t = time.perf_counter()
            dedup.candidates(session, cat, lat, lon, now)
            took.append(time.perf_counter() - t)
    return figures(took)


def figures(took: list[float]) -> dict[str, float]:
    ordered = sorted(took)
    return {
        "per_s": len(took) / sum(took),
        "p50_ms": 1000 * statistics.median(ordered),
        "p99_ms": 1000 * ordered[int(0.99 * (len(ordered) - 1))],
    }


def reports(
    sessions: SessionFactory, cats: list[Category], n: int, seed: int
) -> list[IntakeRequest]:
    """`n` reports at random points; one in ten on the very spot of a case opened earlier in
    the bench (a live workflow, so a merge can land)."""
    rng = random.Random(seed)
    with session_scope(sessions) as session:
        spots = list(
            session.exec(
                select(CaseRecord.category, CaseRecord.lat, CaseRecord.lon)
                .where(~CaseRecord.ticket.startswith("SEED-"))  # type: ignore[attr-defined]
                .limit(2_000)
            )
        )
    out = []
    for i in range(n):
        if spots and i % 10 == 0:
            key, lat, lon = rng.choice(spots)
        else:
            key, (lat, lon) = rng.choice(cats).key, city_point(rng)
        out.append(IntakeRequest(title="压测上报", category=key, lat=lat, lon=lon))
    return out


def city_point(rng: random.Random) -> tuple[float, float]:
    """A random (lat, lon) inside the city's boundaries, which intake accepts."""
    areas = boundaries(Settings().boundaries_file)
    while True:
        lat, lon = rng.uniform(*LAT), rng.uniform(*LON)
        if areas.resolve(lat, lon) is not None:
            return lat, lon


async def intake_run(
    intake: IntakeService,
    actor_user: object,
    batch: list[IntakeRequest],
    mode: str,
    concurrency: int,
) -> dict[str, float]:
    actor = intake.cases.actor(actor_user)  # type: ignore[arg-type]
    gate, took, merged = asyncio.Semaphore(concurrency), [], 0

    async def one(req: IntakeRequest) -> None:
        nonlocal merged
        async with gate:
            t = time.perf_counter()
            result = await intake.submit(actor, req.model_copy(update={"duplicates": mode}))
            took.append(time.perf_counter() - t)
            merged += result.merged

    started = time.perf_counter()
    await asyncio.gather(*(one(r) for r in batch))
    wall = time.perf_counter() - started
    return {"reports_per_s": len(batch) / wall, "merged": merged, **figures(took)}


def show(label: str, f: dict[str, float]) -> None:
    rate = f.get("reports_per_s", f.get("per_s", 0))
    merged = f"  merged {int(f['merged'])}" if "merged" in f else ""
    p50, p99 = f["p50_ms"], f["p99_ms"]
    print(f"  {label:<44} {rate:8.1f}/s   p50 {p50:7.2f} ms   p99 {p99:7.2f} ms{merged}")


async def run(args: argparse.Namespace, tmp: Path) -> None:
    db_url = args.database_url or f"sqlite:///{tmp / 'cityloop.db'}"
    prepare_demo_database(db_url)
    sessions = session_factory(make_engine(db_url))
    cats = categories(sessions)
    boundaries(Settings().boundaries_file)  # loaded once, before anything is timed
    show("candidate query, empty read model", query_figures(sessions, cats, args.queries))
    seeded = seed_open_cases(sessions, args.open, cats)
    print(f"  seeded {args.open} open cases in {seeded:.1f}s")
    show(f"candidate query, {args.open} open cases", query_figures(sessions, cats, args.queries))

    config = embedded_config(tmp)
    settings = Settings(
        database_url=db_url,
        temporal_address=config.address,
        temporal_namespace=config.namespace,
        task_queue="bench-intake",
    )
    with DevServer(config):
        worker = start_worker(settings, tmp)
        try:
            service = CaseService(await connect(settings), sessions, settings)
            intake = IntakeService(service)
            await wait_for_worker(service)
            operator = user(sessions, "operator1")
            await intake_run(intake, operator, reports(sessions, cats, 20, 0), "new", 4)  # warm up
            rates: dict[str, list[float]] = {"new": [], "auto": []}
            for r in range(args.rounds):
                for mode, label in (("new", "without"), ("auto", "with")):
                    batch = reports(sessions, cats, args.reports, seed=100 * r + len(mode))
                    f = await intake_run(intake, operator, batch, mode, args.concurrency)
                    rates[mode].append(f["reports_per_s"])
                    show(f"round {r + 1}: intake {label} duplicate check", f)
            ratio = statistics.mean(rates["auto"]) / statistics.mean(rates["new"])
            print(f"  intake with / without the duplicate check: {ratio:.2f}")
        finally:
            worker.terminate()
            worker.wait(timeout=30)


def main() -> None:
    args = parse_args()
    configure_logging(json=False, level="WARNING")
    print(
        f"bench.intake: {args.open} open cases, {args.reports} reports x {args.rounds} rounds, "
        f"{args.concurrency} in flight; {os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory(prefix="cityloop-bench-") as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
