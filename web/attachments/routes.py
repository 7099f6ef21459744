"""Web: upload photos and videos from a form (htmx), and serve stored files to logged-in users."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request, Response
from fastapi.responses import FileResponse, HTMLResponse
from starlette.datastructures import UploadFile

from core import access
from core.attachments import store as attachments
from core.cases.service import CaseError
from core.db import session_scope
from core.security.ratelimit import rate_limit
from web.deps import Sessions, WebUser, check_csrf
from web.templating import error_status, templates
from web.uploads import staff_message, staff_uploader, store_files, with_retry_after

MAX_FILES = 10  # per request
# The thumbnail of a video, which has none of its own: a play mark.
VIDEO_MARK = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="320" height="180" viewBox="0 0 320 180">'
    b'<rect width="320" height="180" fill="#333"/>'
    b'<path d="M140 60v60l50-30z" fill="#fff"/></svg>'
)


def _within_limit(request: Request) -> None:
    """Refuse a body too large by its length, before `check_csrf` parses (and spools) it.

    Browsers always send the length of a form; the server reads no byte past it.
    """
    if request.method != "POST":
        return
    settings = request.app.state.settings
    length = request.headers.get("content-length")
    if length is None or not (length.isascii() and length.isdigit()):
        raise HTTPException(411, "上传需要 Content-Length")
    if int(length) > attachments.upload_limit(settings):
        raise HTTPException(
            413,
            f"文件过大：图片不超过 {attachments.mib(settings.max_image_bytes)}，"
            f"视频不超过 {attachments.mib(settings.max_video_bytes)}",
        )


async def _rate_limited(request: Request) -> None:
    """Uploads count against their abuse limit (Settings.rate_limits["upload"])."""
    if request.method == "POST":
        await rate_limit("upload")(request)


# The limits come first: router dependencies run in order, and check_csrf reads the form.
router = APIRouter(
    dependencies=[Depends(_rate_limited), Depends(_within_limit), Depends(check_csrf)]
)


@router.post("/attachments")
async def upload(request: Request, user: WebUser) -> Response:
    """Store the files of field `file`; answer with a figure per file that carries its sha."""
    form = await request.form()  # parsed already by check_csrf
    # An empty file input still sends a part: no name, no bytes.
    files = [
        f for f in form.getlist("file") if isinstance(f, UploadFile) and (f.filename or f.size)
    ]
    results: list[dict[str, object]] = []
    if not files:
        results.append({"row": None, "name": "", "error": "请选择要上传的图片或视频"})
    elif len(files) > MAX_FILES:
        results.append({"row": None, "name": "", "error": f"一次最多上传 {MAX_FILES} 个文件"})
        files = []
    outcome = await store_files(request, staff_uploader(request, user.username), files)
    for name, item in outcome.items:
        if isinstance(item, CaseError):
            results.append({"row": None, "name": name, "error": staff_message(item)})
        else:
            results.append({"row": item})
    if outcome.quota:
        results.append({"row": None, "name": "", "error": staff_message(outcome.quota)})
    macros = templates.env.get_template("_attachments.html").module
    html = macros.upload_results(results)  # type: ignore[attr-defined]
    status = 200 if outcome.rows else error_status(request, 429 if outcome.quota else 422)
    return with_retry_after(HTMLResponse(html, status_code=status), outcome.retry_after)


@router.get("/files/{sha}")
def file(sha: str, request: Request, user: WebUser, sessions: Sessions) -> Response:
    """A stored file, as its sniffed content type, to whom the access policy serves it."""
    with session_scope(sessions) as session:
        found = attachments.locate_for(session, request.app.state.settings, user, sha)
    if found is None:
        raise HTTPException(404, "没有这个附件")
    path, content_type = found
    return FileResponse(path, media_type=content_type, headers=attachments.FILE_HEADERS)


@router.get("/files/{sha}/thumb")
def thumb(sha: str, request: Request, user: WebUser, sessions: Sessions) -> Response:
    """An image's thumbnail, or a play mark for a video, to whom the file is served."""
    settings = request.app.state.settings
    with session_scope(sessions) as session:
        if access.file_grant(session, user, sha) is None:
            raise HTTPException(404, "没有这个附件")
        found = attachments.locate(session, settings, sha, thumbnail=True)
        row = attachments.get(session, sha) if found is None else None
    if found is not None:
        path, content_type = found
        return FileResponse(path, media_type=content_type, headers=attachments.FILE_HEADERS)
    if row is not None and row.kind == "video":
        return Response(VIDEO_MARK, media_type="image/svg+xml", headers=attachments.FILE_HEADERS)
    raise HTTPException(404, "没有这个附件")
