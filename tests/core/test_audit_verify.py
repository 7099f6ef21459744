"""`cityloop audit verify`: the hash chain of every timeline, checked from the command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import select

from activities.case import CaseActivities
from core.db import make_engine, session_factory, session_scope
from core.demo.seed import prepare_demo_database
from core.models import CaseEventRecord
from tests.activities.test_case import event, snapshot
from workflows.contracts import RecordEventsInput, Status

ROOT = Path(__file__).resolve().parents[2]


def verify(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CITYLOOP_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "core.cli.main", "audit", "verify", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_verify_passes_then_names_the_edited_and_the_missing_row(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.db'}"
    prepare_demo_database(url)
    sessions = session_factory(make_engine(url))
    events = [event(i, Status.REGISTERED) for i in (1, 2, 3)]
    CaseActivities(sessions).write_case(RecordEventsInput(snapshot(3, Status.REGISTERED), events))

    clean = verify(url)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "1 timelines checked, 0 broken" in clean.stdout

    with session_scope(sessions) as session:
        row = session.exec(select(CaseEventRecord).where(CaseEventRecord.seq == 2)).one()
        row.actor_username = "someone_else"  # who did it, changed afterwards
    edited = verify(url, "X1")
    assert edited.returncode == 1
    assert "BROKEN case-X1 at seq 2: content" in edited.stdout

    with session_scope(sessions) as session:
        session.delete(session.exec(select(CaseEventRecord).where(CaseEventRecord.seq == 3)).one())
        row = session.exec(select(CaseEventRecord).where(CaseEventRecord.seq == 2)).one()
        row.actor_username = events[1].actor.username
    cut = verify(url)
    assert cut.returncode == 1 and "BROKEN case-X1 at seq 3: missing" in cut.stdout
