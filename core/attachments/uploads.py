"""Who uploaded what: a row per upload, and daily quotas per uploader.

Every accepted upload leaves a row in `uploads` (the content's sha256, the uploader, the client's
address, the size, the time), the same content uploaded again included: it is what the quotas
count and what the clean-up dates a file by.

Quotas count a calendar day in China time: staff per user; the public, who have no account, per
address and per device (a random id kept in the browser's signed session cookie). A browser that
drops its cookie gets a new device, but not a new address; many citizens behind one carrier's
address share its larger quota. Past a quota, an upload is refused with 429 and `Retry-After`
(the seconds to midnight). Two uploads racing may both pass the last free slot: the bound is
exceeded by at most the uploads in flight, which the body limit keeps small.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from core.config import Settings
from core.db import SessionFactory, session_scope
from core.errors import CaseError
from core.logs import get_logger
from core.models import UploadRecord
from workflows.shared.workcal import CST

log = get_logger(__name__)

USER = "user"
PUBLIC = "public"


@dataclass(frozen=True)
class Uploader:
    """Who sends a file: a staff user by username, or the public by device; and from where."""

    kind: str
    id: str
    address: str = ""

    @classmethod
    def staff(cls, username: str, address: str = "") -> Uploader:
        return cls(USER, username[:64], address[:64])

    @classmethod
    def public(cls, device: str, address: str) -> Uploader:
        return cls(PUBLIC, device[:64], address[:64])

    @property
    def name(self) -> str:
        """As an attachment's `uploaded_by` shows it: the username, or "public"."""
        return self.id if self.kind == USER else PUBLIC


@dataclass(frozen=True)
class Quota:
    scope: str  # user | address | device
    files: int
    bytes: int
    where: tuple[Any, ...]  # the SQL conditions that pick the scope's uploads


class QuotaExceeded(CaseError):
    """429 on `file`: the uploader's files or bytes for today are used up."""

    def __init__(self, quota: Quota, retry_after: int) -> None:
        super().__init__(
            429,
            f"upload quota of this {quota.scope} used up for today: at most {quota.files} files"
            f" and {quota.bytes / 1024**2:.0f} MiB a day",
            "file",
            {"retry_after": retry_after},
            code="upload_quota",
            retry_after=retry_after,
        )
        self.quota = quota

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def quotas(settings: Settings, uploader: Uploader) -> list[Quota]:
    """The quotas an upload of `uploader` counts against."""
    kind = col(UploadRecord.uploader_kind) == uploader.kind
    if uploader.kind == USER:
        by_user = (kind, col(UploadRecord.uploader_id) == uploader.id)
        s = settings
        return [Quota("user", s.upload_quota_user_files, s.upload_quota_user_bytes, by_user)]
    by_address = (kind, col(UploadRecord.address) == uploader.address)
    by_device = (kind, col(UploadRecord.uploader_id) == uploader.id)
    return [
        Quota(
            "address",
            settings.upload_quota_address_files,
            settings.upload_quota_address_bytes,
            by_address,
        ),
        Quota(
            "device",
            settings.upload_quota_device_files,
            settings.upload_quota_device_bytes,
            by_device,
        ),
    ]


def check_quota(
    session: Session, settings: Settings, uploader: Uploader, size: int, now: datetime
) -> None:
    """Refuse an upload of `size` bytes that would take `uploader` past a quota of today.

    Raises:
        QuotaExceeded: 429 with the seconds until the quotas renew.
    """
    since = day_start(now)
    for quota in quotas(settings, uploader):
        query = select(func.count(), func.coalesce(func.sum(UploadRecord.size), 0)).where(
            col(UploadRecord.created_at) >= since, *quota.where
        )
        files, used = session.exec(query).one()
        if files + 1 > quota.files or used + size > quota.bytes:
            log.info("upload_quota_exceeded", scope=quota.scope, kind=uploader.kind, files=files)
            raise QuotaExceeded(quota, seconds_to_next_day(now))


def check_room(sessions: SessionFactory, settings: Settings, uploader: Uploader) -> None:
    """Refuse at once an uploader with no file or byte left today, before the body is read."""
    with session_scope(sessions) as session:
        check_quota(session, settings, uploader, 1, datetime.now(UTC))


def record(session: Session, uploader: Uploader, sha: str, size: int, now: datetime) -> None:
    """Note one accepted upload (in the caller's transaction)."""
    session.add(
        UploadRecord(
            sha256=sha,
            uploader_kind=uploader.kind,
            uploader_id=uploader.id,
            address=uploader.address,
            size=size,
            created_at=now,
        )
    )


def day_start(now: datetime) -> datetime:
    """The start of `now`'s calendar day in China, as an aware instant."""
    local = now.astimezone(CST)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def seconds_to_next_day(now: datetime) -> int:
    return max(1, math.ceil((day_start(now) + timedelta(days=1) - now).total_seconds()))
