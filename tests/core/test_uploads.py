"""Uploads: each one recorded with who sent it, counted against daily quotas per uploader."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import select

from core.attachments import store as attachments
from core.attachments import uploads
from core.attachments.uploads import QuotaExceeded, Uploader
from core.config import Settings
from core.db import SessionFactory, session_scope
from core.models import Attachment, UploadRecord
from workflows.shared.workcal import CST

OPERATOR = Uploader.staff("operator1", "10.0.0.1")


def settings(tmp_path: Path, **quotas: int) -> Settings:
    return Settings(database_url="sqlite://", attachment_dir=tmp_path / "files", **quotas)


def photo(seed: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (seed % 256, 80, 40)).save(out, "PNG")
    return out.getvalue()


def upload_rows(sessions: SessionFactory) -> list[UploadRecord]:
    with session_scope(sessions) as session:
        return list(session.exec(select(UploadRecord).order_by(UploadRecord.id)))  # type: ignore[arg-type]


def test_every_upload_is_recorded_with_its_uploader(db: SessionFactory, tmp_path: Path) -> None:
    s = settings(tmp_path)
    citizen = Uploader.public("device-1", "203.0.113.9")
    first = attachments.store(db, s, photo(1), "a.png", OPERATOR)
    again = attachments.store(db, s, photo(1), "b.png", citizen)

    assert again.sha256 == first.sha256 and again.uploaded_by == "operator1"
    rows = upload_rows(db)
    assert [(r.uploader_kind, r.uploader_id, r.address, r.sha256, r.attached) for r in rows] == [
        ("user", "operator1", "10.0.0.1", first.sha256, False),
        ("public", "device-1", "203.0.113.9", first.sha256, False),
    ]
    assert all(r.size == len(photo(1)) for r in rows)
    assert attachments.store(db, s, photo(2), "c.png", citizen).uploaded_by == "public"


def test_a_user_past_the_daily_file_quota_is_refused_with_429(
    sessions: SessionFactory, tmp_path: Path
) -> None:
    s = settings(tmp_path, upload_quota_user_files=2)
    attachments.store(sessions, s, photo(1), "a.png", OPERATOR)
    attachments.store(sessions, s, photo(1), "a.png", OPERATOR)  # the same file counts again
    files_before = sorted(s.attachment_dir.rglob("*"))

    with pytest.raises(QuotaExceeded) as caught:
        attachments.store(sessions, s, photo(2), "b.png", OPERATOR)
    err = caught.value
    assert (err.status, err.field, err.quota.scope) == (429, "file", "user")
    assert 0 < err.retry_after <= 86_400 and err.headers == {"Retry-After": str(err.retry_after)}
    assert "at most 2 files" in err.reason
    assert sorted(s.attachment_dir.rglob("*")) == files_before and len(upload_rows(sessions)) == 2
    with session_scope(sessions) as session:
        assert len(session.exec(select(Attachment)).all()) == 1
    # Another user is not held back by it.
    attachments.store(sessions, s, photo(2), "b.png", Uploader.staff("handler_nhl"))


def test_the_byte_quota_counts_what_this_file_would_add(db: SessionFactory, tmp_path: Path) -> None:
    s = settings(tmp_path, upload_quota_user_bytes=len(photo(1)) + len(photo(2)) - 1)
    attachments.store(db, s, photo(1), "a.png", OPERATOR)
    with pytest.raises(QuotaExceeded, match="MiB a day"):
        attachments.store(db, s, photo(2), "b.png", OPERATOR)
    with pytest.raises(QuotaExceeded):
        uploads.check_room(
            db, s.model_copy(update={"upload_quota_user_bytes": len(photo(1))}), OPERATOR
        )


def test_the_public_are_counted_per_device_and_per_address(
    db: SessionFactory, tmp_path: Path
) -> None:
    s = settings(tmp_path, upload_quota_device_files=1, upload_quota_address_files=2)

    def store(device: str, address: str, seed: int) -> None:
        attachments.store(db, s, photo(seed), "p.png", Uploader.public(device, address))

    store("phone-a", "198.51.100.1", 1)
    with pytest.raises(QuotaExceeded) as device:
        store("phone-a", "198.51.100.2", 2)  # a new address does not renew the device's quota
    store("phone-b", "198.51.100.1", 3)
    with pytest.raises(QuotaExceeded) as address:
        store("phone-c", "198.51.100.1", 4)  # a new cookie does not renew the address's
    store("phone-d", "198.51.100.9", 5)
    assert (device.value.quota.scope, address.value.quota.scope) == ("device", "address")


def test_the_day_renews_at_midnight_china_time(db: SessionFactory, tmp_path: Path) -> None:
    s = settings(tmp_path, upload_quota_user_files=1)
    late = datetime(2026, 12, 2, 23, 59, 30, tzinfo=CST)
    with session_scope(db) as session:
        uploads.record(session, OPERATOR, "a" * 64, 10, late - timedelta(days=1))
        uploads.check_quota(session, s, OPERATOR, 10, late)  # yesterday's upload is not counted
        uploads.record(session, OPERATOR, "b" * 64, 10, late - timedelta(hours=23, minutes=59))
        with pytest.raises(QuotaExceeded) as caught:
            uploads.check_quota(session, s, OPERATOR, 10, late)
        uploads.check_quota(session, s, OPERATOR, 10, late + timedelta(seconds=30))
    assert caught.value.retry_after == 30
