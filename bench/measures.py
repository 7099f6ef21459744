"""The measures and the overview at scale: 1,000,000 closed cases in PostgreSQL.

Run as ``.venv/bin/python -m bench.measures [--cases 1000000] [--open 20000] [--repeat 3]
[--database-url postgresql+psycopg://…] [--keep]``. It prints its figures and asserts nothing.

Without ``--database-url`` it creates a database of its own on the local PostgreSQL (the tests'
server, 127.0.0.1:5432), migrates and seeds it with the demo directory, and drops it at the end
unless ``--keep``. It fills `cases` and `case_facts` with ``--cases`` closed cases received over
the past year up to yesterday (spread over the demo districts, streets, categories and channels,
with returns, reworks, extensions, escalations, callbacks and handling times drawn at random,
inserted in the order they arrive, as a live system writes them),
``--open`` open cases received in the last days, and a whistle for one case in fifty, by COPY.
The rows are read-model rows only: no workflow stands behind them; the measures and the
overview read only these tables.

COPY bypasses the store, so it then sums the months again (core/measures/rollup.py `rebuild`).

Then it times, best of ``--repeat`` after one warm-up each: every grouping of one month's
measures and of a whole year's, the published table (with its names), and the overview for
the city and for a district.
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, text
from sqlalchemy.engine import Engine
from sqlmodel import select

from core.db import SessionFactory, make_engine, session_factory, session_scope
from core.demo.seed import prepare_demo_database
from core.measures import overview, report, rollup
from core.measures.queries import compute, parse_period
from core.models import CaseFactRecord, CaseRecord, Category, Unit, WhistleRecord

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CHANNELS = ("hotline", "hotline", "hotline", "patrol", "patrol", "citizen", "sensor", "web")
KINDS = ("", "咨询", "求助", "投诉", "举报", "建议")
RATINGS = ("satisfied", "satisfied", "basically_satisfied", "unsatisfied", "")
BATCH = 50_000


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=1_000_000, help="closed cases to seed")
    p.add_argument("--open", type=int, default=20_000, help="open cases to seed")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per query (best is shown)")
    p.add_argument("--database-url", default="", help="an existing, migrated PostgreSQL database")
    p.add_argument("--keep", action="store_true", help="keep the database it created")
    p.add_argument("--no-seed", action="store_true", help="time a database seeded before (--keep)")
    return p.parse_args()


@contextmanager
def database(url: str, keep: bool) -> Iterator[str]:
    if url:
        yield url
        return
    name = f"cityloop_bench_{uuid.uuid4().hex[:8]}"
    admin = make_engine(ADMIN_URL).execution_options(isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    prepare_demo_database(url)
    try:
        yield url
    finally:
        if keep:
            print(f"kept {url}")
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


class World:
    """Where and what cases are: the demo streets and the catalog's categories."""

    def __init__(self, sessions: SessionFactory) -> None:
        with session_scope(sessions) as s:
            units = list(s.exec(select(Unit)))
            self.categories = [(c.key, c.name) for c in s.exec(select(Category))]
        parents = {u.id: u for u in units}
        self.streets = [
            (u, parents[u.parent_id]) for u in units if u.level == "street" and u.parent_id
        ]


def _case_row(rng: random.Random, world: World, n: int, received: datetime, closed: bool) -> dict:
    street, district = rng.choice(world.streets)
    category, name = rng.choice(world.categories)
    late = rng.random() < 0.12
    row = {
        "id": f"case-B{n}",
        "ticket": f"B{n}",
        "case_type": "city_event",
        "channel": rng.choice(CHANNELS),
        "title": name,
        "category": category,
        "category_name": name,
        "priority": "normal",
        "status": "ARCHIVED" if closed else rng.choice(("DISPATCHED", "HANDLING", "VERIFYING")),
        "location_unit_id": street.id,
        "location_path": street.path,
        "district_id": district.id,
        "street_id": street.id,
        "assigned_unit_id": street.id,
        "assigned_unit_name": street.name,
        "overdue": late and not closed,
        "escalation_level": int(late and not closed),
        "created_at": received,
        "updated_at": received,
        "request_kind": rng.choice(KINDS),
        "lat": rng.uniform(31.24, 32.61),
        "lon": rng.uniform(118.37, 119.23),
    }
    return row


def _facts_row(rng: random.Random, case: dict, closed: bool) -> dict:
    received: datetime = case["created_at"]
    minutes = int(rng.lognormvariate(7.0, 1.0)) if closed else None
    late = case["overdue"] or (closed and rng.random() < 0.1)
    rating = rng.choice(RATINGS) if closed and case["channel"] == "hotline" else ""
    return {
        "case_id": case["id"],
        "district_id": case["district_id"],
        "street_id": case["street_id"],
        "unit_id": case["assigned_unit_id"],
        "category": case["category"],
        "channel": case["channel"],
        "request_kind": case["request_kind"],
        "location_path": case["location_path"],
        "status": case["status"],
        "received_at": received,
        "dispatched_at": received + timedelta(minutes=5),
        "first_unit_id": case["street_id"],
        "accepted_at": received + timedelta(minutes=30),
        "accept_met": rng.random() > 0.05,
        "feedback_at": received + timedelta(minutes=minutes - 30) if minutes else None,
        "feedback_met": (not late) if closed else None,
        "closed_at": received + timedelta(minutes=minutes) if minutes else None,
        "closed_on_time": (not late) if closed else None,
        "handling_minutes": minutes,
        "first_contact_at": received + timedelta(hours=2) if rng.random() < 0.8 else None,
        "satisfaction": rating,
        "resolved": (rating != "unsatisfied") if rating else None,
        "unreachable": closed and not rating and case["channel"] == "hotline",
        "callbacks": int(bool(rating)),
        "returns": int(rng.random() < 0.06),
        "reworks": int(rng.random() < 0.08),
        "extensions": int(rng.random() < 0.04),
        "reminders": int(rng.random() < 0.3),
        "escalations": int(late),
        "whistles": int(rng.random() < 0.02),
        "overdue": late,
        "voided": False,
        "direct_answer": False,
        "lat": case["lat"],
        "lon": case["lon"],
    }


def _whistle_row(rng: random.Random, case: dict) -> dict:
    summoned = case["created_at"] + timedelta(hours=3)
    signed = rng.random() < 0.9
    return {
        "id": f"whistle-{case['id']}",
        "case_id": case["id"],
        "ticket": case["ticket"],
        "kind": "push",
        "dept_id": f"{case['district_id']}-dept-urban",
        "dept_name": "城管",
        "blower_unit_id": case["street_id"],
        "district_id": case["district_id"],
        "street_id": case["street_id"],
        "step": "reported" if signed else "summoned",
        "summoned_at": summoned,
        "sign_due": summoned + timedelta(hours=1),
        "report_due": summoned + timedelta(days=3),
        "signed_at": summoned + timedelta(minutes=30) if signed else None,
        "signed_in_time": signed or None,
        "reported_in_time": signed and rng.random() < 0.85,
        "reported_at": summoned + timedelta(days=1) if signed else None,
    }


def _complete(table: Table, rows: list[dict]) -> list[tuple]:
    """Rows as tuples of every column, with each column's default where a row has none."""
    cols = list(table.columns)
    defaults = {c.name: c.default.arg if c.default is not None else None for c in cols}
    return [tuple(r.get(c.name, defaults[c.name]) for c in cols) for r in rows]


def _copy(engine: Engine, table: Table, rows: list[dict]) -> None:
    names = ", ".join(f'"{c.name}"' for c in table.columns)
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for values in _complete(table, rows):
                copy.write_row(values)
        raw.commit()
    finally:
        raw.close()


def seed(engine: Engine, world: World, closed: int, open_: int) -> float:
    rng, started, now = random.Random(13), time.perf_counter(), datetime.now(UTC)
    first_day = now - timedelta(days=365)  # closed cases: the past year, up to yesterday
    span = timedelta(days=364).total_seconds()
    total = closed + open_
    for first in range(0, total, BATCH):
        cases, facts, whistles = [], [], []
        for n in range(first, min(first + BATCH, total)):
            is_closed = n < closed
            received = (  # in the order cases arrive, as the projection writes them
                first_day + timedelta(seconds=span * (n + rng.random()) / closed)
                if is_closed
                else now - timedelta(minutes=rng.uniform(0, 5 * 24 * 60))
            )
            case = _case_row(rng, world, n, received, is_closed)
            cases.append(case)
            facts.append(_facts_row(rng, case, is_closed))
            if facts[-1]["whistles"]:
                whistles.append(_whistle_row(rng, case))
        for table, rows in (
            (CaseRecord, cases),
            (CaseFactRecord, facts),
            (WhistleRecord, whistles),
        ):
            _copy(engine, table.__table__, rows)  # type: ignore[attr-defined]
        print(f"  seeded {min(first + BATCH, total):,} / {total:,}", flush=True)
    with engine.begin() as conn:  # COPY wrote the facts past the store: sum the months now
        print(f"  summed {rollup.rebuild(conn):,} rows of monthly sums", flush=True)
    with engine.connect() as conn:
        conn.execute(text("ANALYZE cases; ANALYZE case_facts; ANALYZE whistles"))
        conn.execute(text("ANALYZE case_fact_months"))
        conn.commit()
    return time.perf_counter() - started


def timed(label: str, fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm-up: plans and caches, as a running app has them
    best = min(_once(fn) for _ in range(repeat))
    print(f"{label:<44} {best * 1000:8.1f} ms", flush=True)
    return best


def _once(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def run_queries(sessions: SessionFactory, repeat: int) -> dict[str, float]:
    now, month, year = datetime.now(UTC), parse_period("2026-11"), parse_period("2026")
    out = {}

    def measure(period: Any, by: str, area: str | None = None) -> Callable[[], Any]:
        def run() -> Any:
            with session_scope(sessions) as s:
                return compute(s, period, by, now=now, area=area)

        return run

    for by in ("district", "street", "unit", "category", "channel", "kind", "all"):
        out[f"2026-11 by {by}"] = timed(f"measures 2026-11 by {by}", measure(month, by), repeat)
    out["2026-11 by street, 鼓楼区"] = timed(
        "measures 2026-11 by street, area 鼓楼区", measure(month, "street", "/nj/gl/"), repeat
    )
    for by in ("district", "street", "unit", "category", "channel", "kind", "all"):
        out[f"2026 by {by}"] = timed(f"measures 2026 (year) by {by}", measure(year, by), repeat)
    out["2026 by street, 鼓楼区"] = timed(
        "measures 2026 (year) by street, area 鼓楼区", measure(year, "street", "/nj/gl/"), repeat
    )
    out["published"] = timed(
        "published table 2026-11 by district (API)",
        lambda: report.published(sessions, "2026-11", "district", now=now),
        repeat,
    )
    for label, unit_id in (("city", "nj"), ("鼓楼区", "gl")):
        out[f"overview {label}"] = timed(
            f"overview, {label}", _overview(sessions, unit_id, now), repeat
        )
    return out


def _overview(sessions: SessionFactory, unit_id: str, now: datetime) -> Callable[[], Any]:
    def run() -> Any:
        with session_scope(sessions) as s:
            unit = s.get(Unit, unit_id)
            assert unit is not None
            return overview.build(s, overview.scope_of(unit), now)

    return run


def main() -> None:
    args = parse_args()
    with database(args.database_url, args.keep) as url:
        engine = make_engine(url)
        sessions = session_factory(engine)
        if not args.no_seed:
            print(f"seeding {args.cases:,} closed and {args.open:,} open cases (COPY)")
            seconds = seed(engine, World(sessions), args.cases, args.open)
            print(f"seeded in {seconds:.1f} s")
        results = run_queries(sessions, args.repeat)
        slow = [k for k, v in results.items() if v >= 1.0]
        print(f"slowest: {max(results.values()) * 1000:.1f} ms; at or over 1 s: {slow or 'none'}")
        engine.dispose()


if __name__ == "__main__":
    main()
