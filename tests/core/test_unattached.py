"""The clean-up of files no case took, against a real database (SQLite and PostgreSQL) and files."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic import command
from sqlalchemy import text
from sqlmodel import col, select

from core.attachments import store as attachments
from core.attachments.unattached import remove_unattached
from core.attachments.uploads import Uploader
from core.config import Settings
from core.db import (
    SessionFactory,
    make_engine,
    migrate,
    session_factory,
    session_scope,
)
from core.models import Attachment, CaseAttachment, UploadRecord
from tests.conftest import migrations
from tests.media import located_photo, picture

OPERATOR = Uploader.staff("operator1", "10.0.0.1")
CITIZEN = Uploader.public("phone-1", "198.51.100.7")


def png(seed: int) -> bytes:
    out = io.BytesIO()
    picture().rotate(seed).save(out, "PNG")
    return out.getvalue()


def age(sessions: SessionFactory, sha: str, hours: float, *, first_only: bool = False) -> None:
    """Date the uploads of `sha` (or its first one) `hours` back."""
    with session_scope(sessions) as session:
        rows = session.exec(
            select(UploadRecord).where(UploadRecord.sha256 == sha).order_by(col(UploadRecord.id))
        ).all()
        for row in rows[:1] if first_only else rows:
            row.created_at = datetime.now(UTC) - timedelta(hours=hours)
            session.add(row)


def kept(sessions: SessionFactory, settings: Settings, sha: str) -> tuple[bool, bool, int]:
    """Whether the row and the file of `sha` are there, and how many uploads it has."""
    with session_scope(sessions) as session:
        row = session.get(Attachment, sha)
        count = len(session.exec(select(UploadRecord).where(UploadRecord.sha256 == sha)).all())
    return row is not None, attachments.path_of(settings, sha).is_file(), count


def test_files_no_case_took_go_after_a_day_with_all_they_left(
    sessions: SessionFactory, tmp_path: Path
) -> None:
    settings = Settings(database_url="sqlite://", attachment_dir=tmp_path / "files")
    held = attachments.store(sessions, settings, png(1), "held.png", OPERATOR).sha256
    left = attachments.store(sessions, settings, located_photo(), "left.jpg", CITIZEN).sha256
    fresh = attachments.store(sessions, settings, png(2), "fresh.png", CITIZEN).sha256
    again = attachments.store(sessions, settings, png(3), "again.png", CITIZEN).sha256
    attachments.store(sessions, settings, png(3), "again.png", OPERATOR)
    with session_scope(sessions) as session:
        session.add(
            CaseAttachment(
                case_id="case-T1",
                sha256=held,
                seq=1,
                added_by="operator1",
                added_at=datetime.now(UTC),
            )
        )
    for sha in (held, left):
        age(sessions, sha, 25)
    age(sessions, again, 25, first_only=True)  # uploaded again since: kept
    left_files = attachments.file_variants(settings, left)
    assert sum(p.is_file() for p in left_files) == 3  # the file, its thumbnail, its clean copy

    done = remove_unattached(sessions, settings, datetime.now(UTC))

    assert (done.removed, done.attached, done.freed_bytes) == (1, 1, len(located_photo()))
    assert kept(sessions, settings, left) == (False, False, 0)
    assert not any(p.exists() for p in left_files)
    assert kept(sessions, settings, held) == (True, True, 1)
    assert kept(sessions, settings, fresh) == (True, True, 1)
    assert kept(sessions, settings, again) == (True, True, 2)
    with session_scope(sessions) as session:
        marked = session.exec(select(UploadRecord.attached).where(UploadRecord.sha256 == held))
        assert list(marked) == [True]

    # Nothing more to do now; a day later the fresh ones go too, the held one never.
    assert remove_unattached(sessions, settings, datetime.now(UTC)).removed == 0
    later = remove_unattached(sessions, settings, datetime.now(UTC) + timedelta(hours=25))
    assert (later.removed, later.attached) == (2, 0)
    assert kept(sessions, settings, held) == (True, True, 1)


def test_the_retention_is_a_setting(sessions: SessionFactory, tmp_path: Path) -> None:
    settings = Settings(
        database_url="sqlite://", attachment_dir=tmp_path / "files", unattached_upload_hours=2
    )
    sha = attachments.store(sessions, settings, png(4), "a.png", CITIZEN).sha256
    age(sessions, sha, 1.5)
    assert remove_unattached(sessions, settings, datetime.now(UTC)).removed == 0
    age(sessions, sha, 2.5)
    assert remove_unattached(sessions, settings, datetime.now(UTC)).removed == 1


def test_the_migration_dates_files_stored_before_it(db_url: str, tmp_path: Path) -> None:
    """0009 gives each file stored before it an upload row, attached when a case holds it."""
    config = migrations(db_url)
    command.downgrade(config, "0008")
    engine = make_engine(db_url)
    stored = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    with engine.begin() as conn:
        for sha, by in (("a" * 64, "public"), ("b" * 64, "operator1")):
            conn.execute(
                text(
                    "INSERT INTO attachments (sha256, content_type, kind, size, filename,"
                    " has_thumbnail, uploaded_by, uploaded_at)"
                    " VALUES (:sha, 'image/png', 'image', 100, '', true, :by, :at)"
                ),
                {"sha": sha, "by": by, "at": stored},
            )
        conn.execute(
            text(
                "INSERT INTO case_attachments (case_id, sha256, seq, added_by, added_at)"
                " VALUES ('case-T1', :sha, 1, 'operator1', :at)"
            ),
            {"sha": "b" * 64, "at": stored},
        )
    command.upgrade(config, "head")
    with session_scope(session_factory(engine)) as session:
        rows = session.exec(select(UploadRecord).order_by(col(UploadRecord.sha256))).all()
        clean = session.exec(select(Attachment.clean_copy)).all()
    engine.dispose()
    assert [(r.sha256[0], r.uploader_kind, r.uploader_id, r.size, r.attached) for r in rows] == [
        ("a", "public", "public", 100, False),
        ("b", "user", "operator1", 100, True),
    ]
    assert all(r.created_at == stored for r in rows) and clean == [None, None]


def test_operators_prune_from_the_command_line(sqlite_url: str, tmp_path: Path) -> None:
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    sessions = session_factory(engine)
    settings = Settings(database_url=sqlite_url, attachment_dir=tmp_path / "files")
    sha = attachments.store(sessions, settings, png(5), "a.png", CITIZEN).sha256
    age(sessions, sha, 25)
    engine.dispose()
    env = {
        **os.environ,
        "CITYLOOP_DATABASE_URL": sqlite_url,
        "CITYLOOP_ATTACHMENT_DIR": str(settings.attachment_dir),
    }
    run = subprocess.run(
        [sys.executable, "-m", "core.cli.main", "attachments", "prune"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert f"removed 1 files ({len(png(5))} bytes)" in run.stdout
    assert not attachments.path_of(settings, sha).exists()
