"""JSON API for attachments: upload a photo or short video, fetch it and its thumbnail.

Uploads are parsed here rather than by a `File()` parameter, which would spool the whole body
to disk before the handler runs: the body is cut off one byte past the limits instead. An
uploader whose daily quota is used up is refused (429, `Retry-After`) before the body is read.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from api.deps import ApiUser
from api.errors import NOT_FOUND, RATE_LIMITED
from core.attachments import store as attachments
from core.attachments import uploads
from core.attachments.uploads import Uploader
from core.cases.service import CaseError
from core.db import session_scope
from core.models import Attachment, User
from core.security.ratelimit import bearer_credential, rate_limit

router = APIRouter(prefix="/attachments", tags=["attachments"])


class AttachmentOut(BaseModel):
    sha256: str
    content_type: str
    kind: str
    size: int
    url: str
    thumbnail_url: str | None  # videos have none


# The body is parsed by hand (see above); this documents it.
UPLOAD_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        }
    },
}
FILE = {"description": "the file, as its sniffed type", "content": {"image/*": {}, "video/*": {}}}
THUMBNAIL = {"description": "a JPEG of at most 320 px a side", "content": {"image/jpeg": {}}}


@router.post(
    "",
    status_code=201,
    response_model=AttachmentOut,
    responses=RATE_LIMITED,  # the upload rate, or the uploader's daily quota
    dependencies=[Depends(rate_limit("upload", bearer_credential))],
    openapi_extra={"requestBody": UPLOAD_BODY},
)
async def upload(request: Request, user: ApiUser) -> AttachmentOut:
    """Store one image or video sent as multipart field `file`; the same file twice is kept once."""
    settings, sessions = request.app.state.settings, request.app.state.sessions
    host = request.client.host if request.client else ""
    uploader = Uploader.staff(user.username, host)
    await asyncio.to_thread(uploads.check_room, sessions, settings, uploader)  # 429 when used up
    file = await _the_file(request, attachments.upload_limit(settings))
    try:
        row = await attachments.store_upload(sessions, settings, file, uploader)
    finally:
        await file.close()
    return _out(request, row)


@router.get(
    "/{sha}",
    response_class=FileResponse,
    name="attachment_file",
    responses={200: FILE, **NOT_FOUND},
)
def download(request: Request, sha: str, user: ApiUser) -> FileResponse:
    """The stored file, as its sniffed content type; 404 unless the caller may see a case
    holding it (or uploaded it and it is not attached yet). Location metadata is stripped
    unless the caller may see the case's exact location."""
    return _serve(request, user, sha, thumbnail=False)


@router.get(
    "/{sha}/thumbnail",
    response_class=FileResponse,
    name="attachment_thumbnail",
    responses={200: THUMBNAIL, **NOT_FOUND},
)
def thumbnail(request: Request, sha: str, user: ApiUser) -> FileResponse:
    """An image's JPEG thumbnail (at most 320 px a side); videos have none (404). Served to
    whom the file is."""
    return _serve(request, user, sha, thumbnail=True)


def _serve(request: Request, user: User, sha: str, *, thumbnail: bool) -> FileResponse:
    settings = request.app.state.settings
    with session_scope(request.app.state.sessions) as session:
        found = attachments.locate_for(session, settings, user, sha, thumbnail=thumbnail)
    if found is None:
        raise HTTPException(404, "no such attachment")
    path, content_type = found
    return FileResponse(path, media_type=content_type, headers=attachments.FILE_HEADERS)


def _out(request: Request, row: Attachment) -> AttachmentOut:
    url = request.app.url_path_for("attachment_file", sha=row.sha256)
    thumb = request.app.url_path_for("attachment_thumbnail", sha=row.sha256)
    return AttachmentOut(
        sha256=row.sha256,
        content_type=row.content_type,
        kind=row.kind,
        size=row.size,
        url=str(url),
        thumbnail_url=str(thumb) if row.has_thumbnail else None,
    )


async def _the_file(request: Request, limit: int) -> UploadFile:
    """The upload in field `file`, its body read no further than `limit` bytes."""
    settings = request.app.state.settings
    length = request.headers.get("content-length")
    if length is not None and (not (length.isascii() and length.isdigit()) or int(length) > limit):
        raise attachments.too_large(settings)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise CaseError(422, "send the file as multipart/form-data in field 'file'", "file")
    parser = MultiPartParser(request.headers, _capped(request, limit), max_files=1, max_fields=10)
    try:
        form = await parser.parse()
    except MultiPartException as err:
        raise CaseError(422, err.message, "file") from None
    file = form.get("file")
    if not isinstance(file, UploadFile):
        await form.close()
        raise CaseError(422, "no file in field 'file'", "file")
    return file


async def _capped(request: Request, limit: int) -> AsyncGenerator[bytes, None]:
    """The request body, refused as soon as it passes `limit` (a chunked body has no length)."""
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > limit:
            raise attachments.too_large(request.app.state.settings)
        yield chunk
