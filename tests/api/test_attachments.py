"""The attachments API over the real app and a real database: upload, fetch, refusals."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from PIL import Image
from sqlmodel import select
from temporalio.testing import WorkflowEnvironment

from core.db import SessionFactory, session_scope
from core.models import Attachment, CaseAttachment, CaseRecord
from tests.activities.test_case import snapshot
from tests.conftest import api_client, make_settings, token_for
from tests.media import gps_of, located_photo, pixels, video
from workflows.contracts import Status

MP4 = video("clip.mp4")


# Overrides tests/api/conftest.py's `http`: `make_settings` leaves attachment_dir at its default
# (var/attachments in the checkout), and these tests must write into their own tmp_path.
# Nothing here needs a worker. A test may lower a quota through `quotas`.
@pytest_asyncio.fixture(loop_scope="session")
async def http(
    dev_env: WorkflowEnvironment, db_url: str, task_queue: str, files: Path, quotas: dict[str, int]
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(db_url, dev_env.client, task_queue)
    settings = settings.model_copy(update={"attachment_dir": files, **quotas})
    async with api_client(settings, dev_env.client) as client:
        yield client


@pytest.fixture
def quotas() -> dict[str, int]:
    return {}


@pytest.fixture
def files(tmp_path: Path) -> Path:
    return tmp_path / "files"


def jpeg(size: tuple[int, int] = (800, 600)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "green").save(out, "JPEG")
    return out.getvalue()


def stored(files: Path) -> list[Path]:
    return sorted(p for p in files.rglob("*") if p.is_file()) if files.exists() else []


async def test_upload_then_fetch_file_and_thumbnail(
    http: httpx.AsyncClient, sessions: SessionFactory, files: Path
) -> None:
    op = token_for(sessions, "operator1")
    data = jpeg()
    # The client's content type and name are ignored: the bytes say it is a JPEG.
    sent = {"file": ("photo.txt", data, "text/plain")}
    created = await http.post("/api/v1/attachments", files=sent, headers=op)
    assert created.status_code == 201, created.text
    body = created.json()
    sha = body["sha256"]
    assert body == {
        "sha256": sha,
        "content_type": "image/jpeg",
        "kind": "image",
        "size": len(data),
        "url": f"/api/v1/attachments/{sha}",
        "thumbnail_url": f"/api/v1/attachments/{sha}/thumbnail",
    }

    got = await http.get(body["url"], headers=op)
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"] == "image/jpeg"
    assert got.headers["cache-control"] == "private, max-age=31536000, immutable"
    assert got.headers["x-content-type-options"] == "nosniff"

    thumb = await http.get(body["thumbnail_url"], headers=op)
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(thumb.content)) as img:
        assert img.size == (320, 240)

    again = await http.post("/api/v1/attachments", files={"file": ("b.jpg", data)}, headers=op)
    assert again.status_code == 201 and again.json()["sha256"] == sha
    with session_scope(sessions) as session:
        assert [a.sha256 for a in session.exec(select(Attachment))] == [sha]
    assert len(stored(files)) == 2


async def test_video_has_no_thumbnail(http: httpx.AsyncClient, sessions: SessionFactory) -> None:
    op = token_for(sessions, "operator1")
    created = await http.post("/api/v1/attachments", files={"file": ("c.mp4", MP4)}, headers=op)
    assert created.status_code == 201, created.text
    body = created.json()
    assert (body["kind"], body["content_type"], body["thumbnail_url"]) == (
        "video",
        "video/mp4",
        None,
    )
    got = await http.get(body["url"], headers=op)
    # Its uploader gets it as sent; who else may, gets it without its user data (below).
    assert got.headers["content-type"] == "video/mp4" and got.content == MP4
    thumb = await http.get(f"{body['url']}/thumbnail", headers=op)
    assert thumb.status_code == 404


async def test_a_photos_place_goes_only_to_who_may_see_the_cases_exact_location(
    http: httpx.AsyncClient, sessions: SessionFactory, files: Path
) -> None:
    """A 玄武 case held by 鼓楼's 宁海路街道: its handler works it on the spot (the original,
    GPS and all); 鼓楼's supervisor sees it only as the holder's superior (no place)."""
    data = located_photo()
    op = token_for(sessions, "operator1")
    body = (
        await http.post("/api/v1/attachments", files={"file": ("p.jpg", data)}, headers=op)
    ).json()
    assert gps_of((await http.get(body["url"], headers=op)).content)  # the uploader's own
    hold_in_another_district(sessions, body["sha256"], holder="gl-nhl")
    whole = token_for(sessions, "handler_nhl")
    stripped = token_for(sessions, "supervisor_gl")
    got = await http.get(body["url"], headers=stripped)
    thumb = await http.get(body["thumbnail_url"], headers=stripped)
    assert got.status_code == thumb.status_code == 200
    assert gps_of(data) and gps_of(got.content) == {} and gps_of(thumb.content) == {}
    assert pixels(got.content) == pixels(data) and b"iPhone" not in got.content
    assert (await http.get(body["url"], headers=whole)).content == data
    # The original is kept once, for whoever may see the case's exact location.
    assert [p.read_bytes() for p in stored(files) if p.name == body["sha256"]] == [data]


def hold_in_another_district(sessions: SessionFactory, sha: str, *, holder: str) -> None:
    """A case of 玄武门街道 in the read model, assigned to `holder`, holding the file `sha`."""
    row = dataclasses.replace(
        snapshot(3, Status.DISPATCHED),
        location_unit_id="xw-xwm",
        location_path="/nj/xw/xw-xwm/",
        district_id="xw",
        street_id="xw-xwm",
        assigned_unit_id=holder,
    )
    with session_scope(sessions) as session:
        session.add(CaseRecord(**dataclasses.asdict(row)))
        session.add(
            CaseAttachment(
                case_id=row.id, sha256=sha, seq=1, added_by="operator1", added_at=row.created_at
            )
        )


async def test_a_video_with_a_broken_container_is_refused(
    http: httpx.AsyncClient, sessions: SessionFactory, files: Path
) -> None:
    op = token_for(sessions, "operator1")
    broken = MP4[:-200]  # the magic bytes are right; the moov box runs past the end
    refused = await http.post("/api/v1/attachments", files={"file": ("v.mp4", broken)}, headers=op)
    assert refused.status_code == 422 and refused.json()["field"] == "file"
    assert refused.json()["detail"].startswith("the video is damaged or not a video")
    assert stored(files) == []


@pytest.mark.parametrize("quotas", [{"upload_quota_user_files": 1}])
async def test_past_the_daily_quota_uploads_get_429_with_retry_after(
    http: httpx.AsyncClient, sessions: SessionFactory, files: Path
) -> None:
    op = token_for(sessions, "operator1")
    first = await http.post("/api/v1/attachments", files={"file": ("a.jpg", jpeg())}, headers=op)
    assert first.status_code == 201
    kept = stored(files)
    refused = await http.post(
        "/api/v1/attachments", files={"file": ("b.jpg", jpeg((640, 480)))}, headers=op
    )
    assert refused.status_code == 429
    body = refused.json()
    assert body["field"] == "file" and "quota of this user used up" in body["detail"]
    assert 0 < int(refused.headers["retry-after"]) == body["retry_after"] <= 86_400
    assert stored(files) == kept
    other = token_for(sessions, "handler_nhl")
    assert (
        await http.post("/api/v1/attachments", files={"file": ("b.jpg", jpeg())}, headers=other)
    ).status_code == 201


@pytest.mark.parametrize(
    ("files_", "reason"),
    [
        (
            {"file": ("x.jpg", b"\xff\xd8\xff\xe0" + b"garbage" * 100, "image/jpeg")},
            "cannot be read",
        ),
        ({"file": ("notes.jpg", b"just some text", "image/jpeg")}, "not an image or video"),
        ({"file": ("empty.png", b"", "image/png")}, "empty"),
        ({"other": ("x.jpg", b"\xff\xd8\xff", "image/jpeg")}, "no file"),
    ],
)
async def test_refusals_name_the_file_field(
    http: httpx.AsyncClient,
    sessions: SessionFactory,
    files: Path,
    files_: dict[str, tuple[str, bytes, str]],
    reason: str,
) -> None:
    op = token_for(sessions, "operator1")
    refused = await http.post("/api/v1/attachments", files=files_, headers=op)
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == "file" and reason in refused.json()["detail"]
    assert stored(files) == []


async def test_a_body_past_the_limits_is_not_read(
    http: httpx.AsyncClient, sessions: SessionFactory, files: Path
) -> None:
    op = token_for(sessions, "operator1")
    limit = 50 * 1024 * 1024 + 64 * 1024
    read = 0

    async def endless() -> AsyncIterator[bytes]:
        # A chunked body (no Content-Length) that would go on for a gigabyte.
        nonlocal read
        yield (
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="v.mp4"\r\n\r\n' + MP4
        )
        for _ in range(1024):
            read += 1 << 20
            yield bytes(1 << 20)

    headers = {**op, "content-type": "multipart/form-data; boundary=b"}
    refused = await http.post("/api/v1/attachments", content=endless(), headers=headers)
    assert refused.status_code == 422 and refused.json()["field"] == "file"
    assert "too large" in refused.json()["detail"]
    assert read <= limit + (2 << 20)
    assert stored(files) == []

    declared = {**headers, "content-length": str(limit + 1)}
    early = await http.post("/api/v1/attachments", content=b"", headers=declared)
    assert early.status_code == 422 and "too large" in early.json()["detail"]


async def test_needs_a_bearer_token(http: httpx.AsyncClient, sessions: SessionFactory) -> None:
    sent = await http.post("/api/v1/attachments", files={"file": ("a.jpg", jpeg())})
    assert sent.status_code == 401
    op = token_for(sessions, "operator1")
    created = await http.post("/api/v1/attachments", files={"file": ("a.jpg", jpeg())}, headers=op)
    url = created.json()["url"]
    assert (await http.get(url)).status_code == 401
    assert (await http.get(f"{url}/thumbnail")).status_code == 401
    bad = {"Authorization": "Bearer nonsense"}
    assert (await http.get(url, headers=bad)).status_code == 401


@pytest.mark.parametrize("sha", ["0" * 64, "..%2F..%2Fetc%2Fpasswd", "A" * 64, "abc"])
async def test_unknown_or_malformed_sha_is_404(
    http: httpx.AsyncClient, sessions: SessionFactory, sha: str
) -> None:
    op = token_for(sessions, "operator1")
    assert (await http.get(f"/api/v1/attachments/{sha}", headers=op)).status_code == 404
    assert (await http.get(f"/api/v1/attachments/{sha}/thumbnail", headers=op)).status_code == 404
