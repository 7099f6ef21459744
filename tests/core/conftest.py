"""Fixtures of the core tests: a fresh migrated SQLite database per test, cheaply."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.db import SessionFactory, make_engine, migrate, session_factory


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file for the module; each test gets a copy (migrating takes seconds)."""
    path = tmp_path_factory.mktemp("migrated") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture
def db(migrated: Path, tmp_path: Path) -> Iterator[SessionFactory]:
    """A fresh, migrated SQLite database. Tests that depend on the dialect take `sessions`."""
    path = tmp_path / "fresh.db"
    with sqlite3.connect(migrated) as src, sqlite3.connect(path) as dst:
        src.backup(dst)
    engine = make_engine(f"sqlite:///{path}")
    yield session_factory(engine)
    engine.dispose()
