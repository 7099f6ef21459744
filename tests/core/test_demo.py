"""Demo data: idempotent seeding of the Nanjing tree, users and catalog (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from alembic import command
from sqlalchemy import text
from sqlmodel import func, select

from core.config import get_settings
from core.db import SessionFactory, make_engine, migrate, session_scope
from core.demo.seed import seed_demo
from core.intake.geo import boundaries
from core.models import Category, Device, Unit, User
from tests.conftest import migrations


def counts(sessions: SessionFactory) -> tuple[int, int, int]:
    with session_scope(sessions) as session:
        return (
            session.exec(select(func.count()).select_from(Unit)).one(),
            session.exec(select(func.count()).select_from(User)).one(),
            session.exec(select(func.count()).select_from(Category)).one(),
        )


def test_seeding_twice_changes_nothing(sessions: SessionFactory) -> None:
    before = counts(sessions)  # the fixture seeded once already
    with session_scope(sessions) as session:
        seed_demo(session)
    assert counts(sessions) == before


def test_tree_has_five_levels_and_departments(sessions: SessionFactory) -> None:
    with session_scope(sessions) as session:
        units = session.exec(select(Unit)).all()
        users = session.exec(select(User)).all()
    levels = Counter(u.level for u in units)
    assert levels["city"] == 1 and levels["district"] == 12  # 11 districts and 江北新区
    assert levels["street"] >= 24 and levels["community"] > 0 and levels["grid"] > 0
    assert levels["dept"] == 15 * 13  # article 5 departments at city and in each district
    by_id = {u.id: u for u in units}
    grid = by_id["gl-nhl-c1-g1"]
    assert grid.path == "/nj/gl/gl-nhl/gl-nhl-c1/gl-nhl-c1-g1/"
    assert all(u.is_demo for u in units)
    assert {u.role for u in users} == {
        "operator",
        "dispatcher",
        "handler",
        "verifier",
        "supervisor",
        "admin",
        "grid_worker",
    }
    assert all(by_id[u.unit_id] for u in users)


def test_demo_sensors_stand_in_their_grids(sessions: SessionFactory) -> None:
    areas = boundaries(get_settings().boundaries_file)
    with session_scope(sessions) as session:
        devices = session.exec(select(Device)).all()
    assert {d.id for d in devices} == {"wl-gl-nhl-01", "mh-gl-hq-01"}
    assert all(areas.resolve(d.lat, d.lon) for d in devices)
    assert not any(d.token_hash.startswith("dv_") for d in devices)  # no usable token seeded


OLD_CATEGORY = (
    "insert into category (key, name, kind, group_name, working_time, limits, owner_dept,"
    " keywords, is_demo) values ('c', 'c', 'event', 'g', 1, '{}', '', '', 0)"
)


def test_migrations_upgrade_a_database_that_has_data(tmp_path: Path) -> None:
    """0001 → head on a database holding rows: new NOT NULL columns get their defaults."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(migrations(url), "0001")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(OLD_CATEGORY))
    migrate(url)
    with engine.connect() as conn:
        assert conn.execute(text("select reminders from category")).scalar() == "[]"
    engine.dispose()
