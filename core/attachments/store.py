"""Attachments: photos and short videos, stored once per content and named by their sha256.

Files live under `attachment_dir/ab/cd/<sha256>` (two levels of fan-out keep directories small),
images with a JPEG thumbnail beside them (`<sha256>.thumb.jpg`, made within a memory bound:
core/attachments/thumbnails.py), and, where the file carries a location or other identifying
metadata, a copy without it (`<sha256>.clean`: core/attachments/metadata.py) for those who may not
see the case's exact location. The type is read from the content's magic bytes, never from the
client's content type or file name; an image must decode before anything is kept, and a video's
container must hold together (core/attachments/containers.py; decoding it would need ffmpeg).

Each accepted upload is counted against its uploader's daily quota and leaves a row in
`uploads` (core/attachments/uploads.py); files that no case takes are removed after a day
(core/attachments/unattached.py).

A row in `attachments` is written after its files: a row always has its file, a file may lack
its row only when the transaction that wrote it failed, and the next upload of the same content
finds that file and writes the row.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from PIL import Image
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from core.access import Principal, file_grant
from core.attachments import containers, metadata, thumbnails, uploads
from core.attachments.uploads import Uploader
from core.config import Settings
from core.db import SessionFactory, session_scope
from core.errors import CaseError
from core.logs import get_logger
from core.models import Attachment

log = get_logger(__name__)

MIB = 1024 * 1024
THUMBNAIL_SUFFIX = ".thumb.jpg"
CLEAN_SUFFIX = ".clean"
MAX_SIDE = 12_000  # px; no phone or camera photo of a street comes near
MAX_PIXELS = 50_000_000
# Pillow's own guard (a warning past this, DecompressionBombError past twice this) runs as the
# header is read, before any pixel is decoded. It is process-wide; nothing else here decodes
# images, so it is set to agree with ours.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# Room for the multipart envelope (boundaries, part headers, a CSRF field) around one file.
MULTIPART_OVERHEAD = 64 * 1024
# Content-addressed: a URL's bytes never change, so browsers may keep them for good.
FILE_HEADERS = {
    "Cache-Control": "private, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
}

_SHA256 = re.compile(r"[0-9a-f]{64}")
# Pillow decoders allowed for each sniffed type: a PNG body behind a JPEG header is refused.
# (The JPEG decoder also opens MPO, the multi-picture JPEG of some cameras.)
_PILLOW_FORMATS: dict[str, tuple[str, ...]] = {
    "image/jpeg": ("JPEG",),
    "image/png": ("PNG",),
    "image/gif": ("GIF",),
    "image/webp": ("WEBP",),
}


class Upload(Protocol):
    """What `store_upload` needs of an upload: Starlette's and FastAPI's `UploadFile` fit."""

    filename: str | None

    async def read(self, size: int = -1) -> bytes: ...


def sniff(data: bytes) -> tuple[str, str] | None:
    """The content type and kind (`image` or `video`) the magic bytes name, else None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "image"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "image"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif", "image"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "image"
    if data[4:8] == b"ftyp":
        # ISO media also carries HEIF/AVIF stills and M4A audio: only video brands pass.
        content_type = containers.ISO_BRANDS.get(data[8:12])
        return (content_type, "video") if content_type else None
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm", "video"
    return None


def is_sha256(value: str) -> bool:
    """Whether `value` is a sha256 as files are named: 64 lowercase hex digits, nothing else."""
    return isinstance(value, str) and _SHA256.fullmatch(value) is not None


def path_of(settings: Settings, sha: str, thumbnail: bool = False, *, clean: bool = False) -> Path:
    """Where the file named `sha` is kept, or its thumbnail, or its copy without metadata.

    Raises:
        ValueError: `sha` is not 64 lowercase hex digits (a URL's `../etc` ends here).
    """
    if not is_sha256(sha):
        raise ValueError(f"not a sha256: {sha!r}")
    name = sha + (THUMBNAIL_SUFFIX if thumbnail else CLEAN_SUFFIX if clean else "")
    return settings.attachment_dir / sha[:2] / sha[2:4] / name


def file_variants(settings: Settings, sha: str) -> list[Path]:
    """Every file that may be kept for `sha`: the file, its thumbnail, its clean copy."""
    return [
        path_of(settings, sha),
        path_of(settings, sha, thumbnail=True),
        path_of(settings, sha, clean=True),
    ]


def get(session: Session, sha: str) -> Attachment | None:
    """The stored attachment named `sha`; None for unknown or malformed names."""
    if not is_sha256(sha):
        return None
    return session.get(Attachment, sha)


def get_many(session: Session, shas: list[str]) -> list[Attachment]:
    """The stored attachments among `shas`, in their order, each once (for galleries)."""
    wanted = [s for s in dict.fromkeys(shas) if is_sha256(s)]
    if not wanted:
        return []
    rows = session.exec(select(Attachment).where(col(Attachment.sha256).in_(wanted))).all()
    by_sha = {r.sha256: r for r in rows}
    return [by_sha[s] for s in wanted if s in by_sha]


def missing(session: Session, shas: list[str]) -> list[str]:
    """The names among `shas` that are not stored (malformed ones included), each once."""
    wanted = list(dict.fromkeys(shas))
    found = {a.sha256 for a in get_many(session, wanted)}
    return [s for s in wanted if s not in found]


def locate_for(
    session: Session, settings: Settings, viewer: Principal, sha: str, *, thumbnail: bool = False
) -> tuple[Path, str] | None:
    """What `locate` serves `viewer`, as the access policy grants it; None: no such file for
    them (answer as if it did not exist)."""
    grant = file_grant(session, viewer, sha)
    if grant is None:
        return None
    return locate(session, settings, sha, thumbnail=thumbnail, exact_location=grant.exact_location)


def locate(
    session: Session,
    settings: Settings,
    sha: str,
    *,
    thumbnail: bool = False,
    exact_location: bool = False,
) -> tuple[Path, str] | None:
    """The path and content type to serve for `sha` (or its thumbnail); None if there is none.

    Args:
        session: a session whose transaction the caller commits (a file stored before clean
            copies were made gets one now, and its row says so).
        settings: where files are kept.
        sha: the file's name.
        thumbnail: the thumbnail rather than the file. Thumbnails are drawn anew from the
            pixels and carry no metadata.
        exact_location: whether the viewer may see the case's exact location: only then is the
            original served; everyone else gets the copy without location and identifying
            metadata (the access policy decides; until it does, routes pass False).
    """
    row = get(session, sha)
    if row is None or (thumbnail and not row.has_thumbnail):
        return None
    if thumbnail:
        path: Path | None = path_of(settings, sha, thumbnail=True)
    elif exact_location:
        path = path_of(settings, sha)
    else:
        path = _clean_path(session, settings, row)
    if path is None or not path.is_file():
        log.warning("attachment_file_missing", sha256=sha, thumbnail=thumbnail)
        return None
    return path, ("image/jpeg" if thumbnail else row.content_type)


def _clean_path(session: Session, settings: Settings, row: Attachment) -> Path | None:
    """The copy without metadata (made now if it is missing); the file if it holds none."""
    original = path_of(settings, row.sha256)
    clean = path_of(settings, row.sha256, clean=True)
    if row.clean_copy is False:
        return original
    if row.clean_copy and clean.is_file():
        return clean
    # Stored before clean copies were made, or the copy was lost: the file is its source.
    if not original.is_file():
        return None
    try:
        copy = metadata.strip(original.read_bytes(), row.content_type)
    except metadata.Unstrippable as err:
        log.warning("attachment_not_strippable", sha256=row.sha256, error=str(err))
        return None
    if copy is not None:
        _write_atomic(clean, copy)
    row.clean_copy = copy is not None
    session.add(row)
    return clean if copy is not None else original


def upload_limit(settings: Settings) -> int:
    """The most bytes a request carrying one file may hold; routes stop reading past it."""
    return max(settings.max_image_bytes, settings.max_video_bytes) + MULTIPART_OVERHEAD


def too_large(settings: Settings) -> CaseError:
    """The refusal of a request body beyond `upload_limit`."""
    return CaseError(
        422,
        f"file too large: images up to {mib(settings.max_image_bytes)},"
        f" videos up to {mib(settings.max_video_bytes)}",
        "file",
        code="upload_too_large",
        params={"image": mib(settings.max_image_bytes), "video": mib(settings.max_video_bytes)},
    )


def store(
    sessions: SessionFactory | Session,
    settings: Settings,
    data: bytes,
    filename: str,
    uploader: Uploader,
) -> Attachment:
    """Check and keep one uploaded file; the same content again returns the row kept before.

    Args:
        sessions: a session factory (a transaction of its own), or a session whose
            transaction the caller commits.
        settings: where files go, the size limits and the quotas.
        data: the whole file.
        filename: the client's name for it, kept for display only.
        uploader: who sends it, counted against their quotas and recorded with the upload.

    Returns:
        The attachment row. Images have a thumbnail; videos never do.

    Raises:
        QuotaExceeded: 429 on `file` when the uploader's quota of today is used up.
        CaseError: 422 on `file` when the file is empty, not an image or video by its magic
            bytes, over the limit of its kind, an image that does not decode (or would decode
            past the pixel limit), or a video whose container does not hold together. Nothing
            is kept then.
    """
    if isinstance(sessions, Session):
        return _store(sessions, settings, data, filename, uploader)
    with session_scope(sessions) as session:
        return _store(session, settings, data, filename, uploader)


async def store_upload(
    sessions: SessionFactory | Session,
    settings: Settings,
    upload: Upload,
    uploader: Uploader,
) -> Attachment:
    """`store` for an `UploadFile` from any route: reads at most one byte past the limits.

    The checks and writes run in a worker thread, off the event loop. Pass a session factory
    unless the session is not in use elsewhere meanwhile.
    """
    data = await read_capped(upload, max(settings.max_image_bytes, settings.max_video_bytes) + 1)
    return await asyncio.to_thread(store, sessions, settings, data, upload.filename or "", uploader)


async def read_capped(upload: Upload, limit: int, chunk: int = MIB) -> bytes:
    """Up to `limit` bytes of `upload`: enough to tell that a file is too large."""
    parts: list[bytes] = []
    total = 0
    while total < limit:
        part = await upload.read(min(chunk, limit - total))
        if not part:
            break
        parts.append(part)
        total += len(part)
    return b"".join(parts)


@dataclass
class _Checked:
    """An upload that passed every check, with what is kept beside it."""

    content_type: str
    kind: str
    thumbnail: bytes | None
    clean: bytes | None  # the copy without metadata; None when the file holds none


def _store(
    session: Session, settings: Settings, data: bytes, filename: str, uploader: Uploader
) -> Attachment:
    if not data:
        raise CaseError(422, "the file is empty", "file", code="file_empty")
    now = datetime.now(UTC)
    uploads.check_quota(session, settings, uploader, len(data), now)
    sha = hashlib.sha256(data).hexdigest()
    known = session.get(Attachment, sha)
    if known is None or not path_of(settings, sha).is_file():
        checked = _check(settings, data)
        # The checks are done; from here on only writes.
        _write_files(settings, sha, data, checked)
        if known is None:
            known = _insert(session, sha, data, filename, uploader, checked, now)
        else:  # the file had gone: it is back, with what is kept beside it
            known.clean_copy = checked.clean is not None
    uploads.record(session, uploader, sha, len(data), now)
    return known


def _insert(
    session: Session,
    sha: str,
    data: bytes,
    filename: str,
    uploader: Uploader,
    checked: _Checked,
    now: datetime,
) -> Attachment:
    row = Attachment(
        sha256=sha,
        content_type=checked.content_type,
        kind=checked.kind,
        size=len(data),
        filename=_display_name(filename),
        has_thumbnail=checked.thumbnail is not None,
        uploaded_by=uploader.name,
        uploaded_at=now,
        clean_copy=checked.clean is not None,
    )
    _insert_once(session, row)
    stored = session.get(Attachment, sha)
    assert stored is not None  # inserted now, or by a concurrent upload of the same content
    log.info(
        "attachment_stored",
        sha256=sha,
        kind=checked.kind,
        content_type=checked.content_type,
        size=len(data),
        clean_copy=checked.clean is not None,
    )
    return stored


def _write_files(settings: Settings, sha: str, data: bytes, checked: _Checked) -> None:
    # A file already there is whole (written atomically) and, named by its content, right.
    path = path_of(settings, sha)
    if not path.is_file():
        _write_atomic(path, data)
    if checked.thumbnail is not None:
        _write_atomic(path_of(settings, sha, thumbnail=True), checked.thumbnail)
    if checked.clean is not None:
        _write_atomic(path_of(settings, sha, clean=True), checked.clean)


def _check(settings: Settings, data: bytes) -> _Checked:
    sniffed = sniff(data)
    if sniffed is None:
        raise CaseError(
            422,
            "not an image or video (JPEG, PNG, GIF, WebP, MP4, MOV, WebM)",
            "file",
            code="file_type",
        )
    content_type, kind = sniffed
    limit = settings.max_image_bytes if kind == "image" else settings.max_video_bytes
    if len(data) > limit:
        raise CaseError(
            422,
            f"{kind} larger than {mib(limit)}",
            "file",
            code="image_too_big" if kind == "image" else "video_too_big",
            params={"size": mib(limit)},
        )
    thumbnail = None
    if kind == "image":
        thumbnail = _thumbnail(settings, data, content_type)
    else:
        content_type = _check_video(data)
    return _Checked(content_type, kind, thumbnail, _clean_copy(data, content_type))


def _check_video(data: bytes) -> str:
    try:
        return containers.check_video(data)
    except containers.BrokenContainer as err:
        log.info("attachment_refused", reason="broken_video", error=str(err))
        raise CaseError(
            422, f"the video is damaged or not a video: {err}", "file", code="video_damaged"
        ) from None


def _clean_copy(data: bytes, content_type: str) -> bytes | None:
    try:
        return metadata.strip(data, content_type)
    except metadata.Unstrippable as err:
        # It decoded, yet its structure cannot be walked: serving it could leak its location.
        log.info("attachment_refused", reason="unstrippable", error=str(err))
        raise CaseError(
            422,
            "the file's metadata cannot be removed (damaged file)",
            "file",
            code="metadata_unremovable",
        ) from None


def _thumbnail(settings: Settings, data: bytes, content_type: str) -> bytes:
    """The JPEG thumbnail of an image, decoding it on the way (refusing what fails)."""
    formats = _PILLOW_FORMATS[content_type]
    try:
        with Image.open(io.BytesIO(data), formats=formats) as probe:
            _check_dimensions(probe.size)
            probe.verify()
        # verify() leaves the image unusable; decoding needs it afresh.
        with Image.open(io.BytesIO(data), formats=formats) as img:
            return thumbnails.render(
                img,
                decode_pixels=settings.image_decode_pixels,
                workers=settings.thumbnail_workers,
            )
    except CaseError:
        raise
    except Image.DecompressionBombError as err:
        raise CaseError(422, f"image too large: {err}", "file", code="image_dimensions") from None
    # Decoders of hostile input fail in many ways (OSError, SyntaxError, ValueError,
    # struct.error, EOFError…); each means the same here.
    except Exception as err:
        log.info("attachment_refused", reason="undecodable_image", error=repr(err))
        raise CaseError(
            422,
            "the image cannot be read (damaged or not an image)",
            "file",
            code="image_unreadable",
        ) from None


def _check_dimensions(size: tuple[int, int]) -> None:
    width, height = size
    if width < 1 or height < 1 or max(width, height) > MAX_SIDE or width * height > MAX_PIXELS:
        raise CaseError(
            422,
            f"image of {width}×{height} px: at most {MAX_SIDE} px a side"
            f" and {MAX_PIXELS // 1_000_000} megapixels",
            "file",
            code="image_dimensions",
        )


def _write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that no reader ever sees a part of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _insert_once(session: Session, row: Attachment) -> None:
    """Insert the row unless the same content is already there (two uploads racing)."""
    dialect = session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        session.add(row)
        session.flush()
        return
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(Attachment).values(**row.model_dump())
    session.exec(stmt.on_conflict_do_nothing(index_elements=["sha256"]))


def _display_name(filename: str) -> str:
    """The client's file name without its path or control characters, short enough to keep."""
    name = re.split(r"[/\\]", filename or "")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    return name[:200]


def mib(n: int) -> str:
    """`n` bytes in MiB, for messages."""
    return f"{n / MIB:.3g} MiB"
