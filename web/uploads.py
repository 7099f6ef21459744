"""What the web UI says about uploads, and who it says sent them.

Refusals come from core.attachments with a code; staff read them in detail, citizens in fewer
words. A used-up daily quota reads the same to both, with the time it renews.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import Request, Response
from starlette.datastructures import UploadFile

from core.attachments import store as attachments
from core.attachments import uploads
from core.attachments.uploads import QuotaExceeded, Uploader
from core.config import Settings
from core.errors import CaseError
from core.models import Attachment
from web import labels
from web.sessions import web_session

_SCOPES = {"user": "每个账号", "address": "每个网络地址", "device": "每台设备"}


@dataclass
class Outcome:
    """What became of the files of one post, in their order."""

    items: list[tuple[str, Attachment | CaseError]] = field(default_factory=list)
    quota: QuotaExceeded | None = None  # the day's quota ran out: the rest was not read

    @property
    def rows(self) -> list[Attachment]:
        return [item for _, item in self.items if isinstance(item, Attachment)]

    @property
    def retry_after(self) -> int | None:
        return self.quota.retry_after if self.quota else None


async def store_files(request: Request, uploader: Uploader, files: list[UploadFile]) -> Outcome:
    """Store each file of a post in turn; a spent quota is told before any file is read."""
    settings, sessions = request.app.state.settings, request.app.state.sessions
    outcome = Outcome()
    try:
        if files:
            await asyncio.to_thread(uploads.check_room, sessions, settings, uploader)
        for file in files:
            outcome.items.append((file.filename or "", await _store(request, uploader, file)))
    except QuotaExceeded as err:
        outcome.quota = err
    return outcome


async def _store(request: Request, uploader: Uploader, file: UploadFile) -> Attachment | CaseError:
    settings, sessions = request.app.state.settings, request.app.state.sessions
    try:
        return await attachments.store_upload(sessions, settings, file, uploader)
    except QuotaExceeded:
        raise  # ends the post: the files after it would be refused the same
    except CaseError as err:
        return err


def address(request: Request) -> str:
    return request.client.host if request.client else ""


def staff_uploader(request: Request, username: str) -> Uploader:
    return Uploader.staff(username, address(request))


def public_uploader(request: Request) -> Uploader:
    """The anonymous browser as an uploader, known by its session cookie's derived id."""
    return Uploader.public(web_session(request).device_id(), address(request))


def quota_message(err: QuotaExceeded) -> str:
    quota = err.quota
    return (
        f"今日上传已达上限（{_SCOPES.get(quota.scope, '')}每天最多 {quota.files} 个文件、"
        f"共 {quota.bytes // attachments.MIB} MB），请明天再试"
    )


def staff_message(err: CaseError) -> str:
    """A refusal of an upload in Chinese, in detail."""
    if isinstance(err, QuotaExceeded):
        return quota_message(err)
    return labels.refusal_text(err)


def public_message(err: CaseError, settings: Settings) -> str:
    """A refusal of an upload in Chinese, for citizens: what to do about it, no more."""
    if isinstance(err, QuotaExceeded):
        return quota_message(err)
    limit = _PUBLIC_LIMITS.get(err.code)
    if limit is not None:
        return f"文件过大（上限 {limit(settings) // attachments.MIB} MB）"
    return _PUBLIC_REASONS.get(err.code, "不是有效的图片或视频")


_PUBLIC_LIMITS: dict[str, Callable[[Settings], int]] = {
    "image_too_big": lambda s: s.max_image_bytes,
    "video_too_big": lambda s: s.max_video_bytes,
    "upload_too_large": attachments.upload_limit,
}
_PUBLIC_REASONS = {
    "image_dimensions": "图片尺寸过大",
    "image_pixels": "图片尺寸过大",
    "file_empty": "文件是空的",
}


def with_retry_after(response: Response, retry_after: int | None) -> Response:
    """`response` telling when to try again, after a used-up quota."""
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response
