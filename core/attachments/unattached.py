"""Files that no case took, removed a day after their last upload.

A citizen may upload photos and never send the report; a form may be abandoned. A file that no
case holds (`case_attachments`) and whose last upload is older than `unattached_upload_hours`
goes, with its thumbnail, its clean copy and its rows. Rows go first and files after the commit,
so a row never lacks its file. Uploads found held by a case are marked `attached` and never looked
at again, so each run reads only the last day's uploads and what is left of them.

The Temporal Schedule `attachments-prune` runs this (workflows/attachments/prune.py); operators can
run it at once with `cityloop attachments prune`. A file uploaded again in the moment its old copy
is being removed can lose the race: the report that names it is then refused as naming an unknown
file, and the citizen uploads it again."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, update
from sqlmodel import Session, col, select

from core.attachments.store import file_variants
from core.config import Settings
from core.db import SessionFactory, session_scope
from core.logs import get_logger
from core.models import Attachment, CaseAttachment, UploadRecord
from workflows.contracts import PruneAttachmentsResult

log = get_logger(__name__)

BATCH = 200


def remove_unattached(
    sessions: SessionFactory,
    settings: Settings,
    now: datetime,
    *,
    progress: Callable[[PruneAttachmentsResult], None] | None = None,
) -> PruneAttachmentsResult:
    """Remove every file no case holds whose last upload is older than the retention.

    Works in batches, each its own transaction; `progress` is called after each (a heartbeat).
    """
    cutoff = now - timedelta(hours=settings.unattached_upload_hours)
    result = PruneAttachmentsResult()
    while True:
        with session_scope(sessions) as session:
            shas = _candidates(session, cutoff)
            held = _held(session, shas)
            gone = _delete_rows(session, [s for s in shas if s not in held])
        for sha, size in gone:
            for path in file_variants(settings, sha):
                path.unlink(missing_ok=True)
            result.freed_bytes += size
        result.removed += len(gone)
        result.attached += len(held)
        if progress is not None:
            progress(result)
        if not shas:
            break
    log.info("attachments_pruned", cutoff=cutoff.isoformat(), **vars(result))
    return result


def _candidates(session: Session, cutoff: datetime) -> list[str]:
    """Contents uploaded before `cutoff`, not known to be held, and not uploaded since."""
    newer = UploadRecord.__table__.alias("newer")  # type: ignore[attr-defined]
    since = select(newer.c.id).where(
        newer.c.sha256 == UploadRecord.sha256, newer.c.created_at >= cutoff
    )
    query = (
        select(UploadRecord.sha256)
        .where(~col(UploadRecord.attached), col(UploadRecord.created_at) < cutoff)
        .where(~exists(since))
        .distinct()
        .limit(BATCH)
    )
    return list(session.exec(query))


def _held(session: Session, shas: Sequence[str]) -> set[str]:
    """Which of `shas` a case holds; their uploads are marked attached for good."""
    if not shas:
        return set()
    query = select(CaseAttachment.sha256).where(col(CaseAttachment.sha256).in_(shas))
    held = set(session.exec(query))
    if held:
        mark = update(UploadRecord).where(col(UploadRecord.sha256).in_(held))
        session.exec(mark.values(attached=True))
    return held


def _delete_rows(session: Session, shas: list[str]) -> list[tuple[str, int]]:
    """Delete the rows of `shas`; returns each removed content with its size."""
    if not shas:
        return []
    rows = session.exec(select(Attachment).where(col(Attachment.sha256).in_(shas))).all()
    sizes = {r.sha256: r.size for r in rows}
    for table in (UploadRecord, Attachment):
        session.exec(delete(table).where(col(table.sha256).in_(shas)))
    return [(sha, sizes.get(sha, 0)) for sha in shas]
