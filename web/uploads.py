"""What the web UI says about uploads, and who it says sent them.

Refusals come from core.attachments in English; staff read them in detail, citizens in fewer
words. A used-up daily quota reads the same to both, with the time it renews.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

from fastapi import Request, Response
from starlette.datastructures import UploadFile

from core.attachments import store as attachments
from core.attachments import uploads
from core.attachments.uploads import QuotaExceeded, Uploader
from core.config import Settings
from core.errors import CaseError
from core.models import Attachment
from web.sessions import web_session

_SCOPES = {"user": "每个账号", "address": "每个网络地址", "device": "每台设备"}
_STAFF_REASONS = [
    (re.compile(r"the file is empty"), "文件为空"),
    (
        re.compile(r"not an image or video.*"),
        "不是图片或视频（支持 JPEG、PNG、GIF、WebP、MP4、MOV、WebM）",
    ),
    (re.compile(r"image larger than (.+)"), r"图片超过 \1"),
    (re.compile(r"video larger than (.+)"), r"视频超过 \1"),
    (re.compile(r"the image cannot be read.*"), "图片无法读取（文件损坏或不是图片）"),
    (re.compile(r"image of .* cannot be thumbnailed.*"), "图片像素过多，请缩小后再上传"),
    (re.compile(r"image (of|too large).*"), "图片尺寸过大"),
    (re.compile(r"the video is damaged.*"), "视频文件已损坏或格式不正确（支持 MP4、MOV、WebM）"),
    (
        re.compile(r"the file's metadata cannot be removed.*"),
        "文件结构损坏，无法去除其中的位置信息",
    ),
]


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
    for pattern, message in _STAFF_REASONS:
        if pattern.fullmatch(err.reason):
            return pattern.sub(message, err.reason)
    return err.reason


def public_message(err: CaseError, settings: Settings) -> str:
    """A refusal of an upload in Chinese, for citizens: what to do about it, no more."""
    reason = err.reason
    if isinstance(err, QuotaExceeded):
        return quota_message(err)
    if reason.startswith("image larger than"):
        return f"文件过大（上限 {settings.max_image_bytes // attachments.MIB} MB）"
    if reason.startswith("video larger than"):
        return f"文件过大（上限 {settings.max_video_bytes // attachments.MIB} MB）"
    if reason.startswith("file too large"):
        return f"文件过大（上限 {attachments.upload_limit(settings) // attachments.MIB} MB）"
    if reason.startswith(("image of ", "image too large")):
        return "图片尺寸过大"
    if reason == "the file is empty":
        return "文件是空的"
    return "不是有效的图片或视频"


def with_retry_after(response: Response, retry_after: int | None) -> Response:
    """`response` telling when to try again, after a used-up quota."""
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response
