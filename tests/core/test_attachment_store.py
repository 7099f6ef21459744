"""Attachments: sniffing, checks, content-addressed storage and thumbnails, on SQLite and PG."""

from __future__ import annotations

import contextlib
import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image
from sqlmodel import select

from core.attachments import store as attachments
from core.attachments.uploads import Uploader
from core.cases.service import CaseError
from core.config import Settings
from core.db import SessionFactory, session_scope
from core.models import Attachment
from tests.media import gps_of, located_photo, pixels, video

MP4 = video("clip.mp4")
OPERATOR = Uploader.staff("operator1", "10.0.0.1")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url="sqlite://", attachment_dir=tmp_path / "files")


def image_bytes(fmt: str, size: tuple[int, int] = (640, 480), mode: str = "RGB", **kw) -> bytes:
    img = Image.new(mode, size, "red" if mode in ("RGB", "RGBA") else 1)
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


def stored_files(settings: Settings) -> list[Path]:
    root = settings.attachment_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def rows(sessions: SessionFactory) -> list[Attachment]:
    with session_scope(sessions) as session:
        return list(session.exec(select(Attachment)).all())


def refused(sessions: SessionFactory, settings: Settings, data: bytes, name: str) -> CaseError:
    with pytest.raises(CaseError) as caught:
        attachments.store(sessions, settings, data, name, OPERATOR)
    assert (caught.value.status, caught.value.field) == (422, "file")
    assert stored_files(settings) == [] and rows(sessions) == []
    return caught.value


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares its size and holds no pixels: Image.open reads only this much."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b""))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


# -- sniffing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\xff\xd8\xff\xe0rest", ("image/jpeg", "image")),
        (b"\x89PNG\r\n\x1a\nrest", ("image/png", "image")),
        (b"GIF89a...", ("image/gif", "image")),
        (b"GIF87a...", ("image/gif", "image")),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", ("image/webp", "image")),
        (MP4, ("video/mp4", "video")),
        (b"\x00\x00\x00\x14ftypisom", ("video/mp4", "video")),
        (b"\x00\x00\x00\x14ftypqt  ", ("video/quicktime", "video")),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01", ("video/webm", "video")),
        (b"\x00\x00\x00\x18ftypheic", None),  # a HEIF still, not a video
        (b"\x00\x00\x00\x18ftypM4A ", None),  # audio
        (b"RIFF\x10\x00\x00\x00AVI LIST", None),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
        (b"hello, world", None),
        (b"", None),
    ],
)
def test_sniff_reads_magic_bytes_only(data: bytes, expected: tuple[str, str] | None) -> None:
    assert attachments.sniff(data) == expected


@pytest.mark.parametrize("bad", ["../etc", "../" * 20 + "etc/passwd", "A" * 64, "a" * 63, ""])
def test_sha_from_urls_is_checked(tmp_path: Path, bad: str) -> None:
    settings = Settings(attachment_dir=tmp_path)
    assert not attachments.is_sha256(bad)
    with pytest.raises(ValueError):
        attachments.path_of(settings, bad)
    sha = "ab" + "c" * 62
    assert attachments.path_of(settings, sha) == tmp_path / "ab" / "cc" / sha
    assert attachments.path_of(settings, sha, thumbnail=True).name == sha + ".thumb.jpg"


# -- storing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "content_type", "mode"),
    [
        ("PNG", "image/png", "RGBA"),
        ("JPEG", "image/jpeg", "RGB"),
        ("GIF", "image/gif", "P"),
        ("WEBP", "image/webp", "RGB"),
    ],
)
def test_real_images_are_stored_with_a_thumbnail(
    db: SessionFactory, settings: Settings, fmt: str, content_type: str, mode: str
) -> None:
    data = image_bytes(fmt, (1000, 500), mode)
    row = attachments.store(db, settings, data, "C:\\photos\\路面.jpg", OPERATOR)

    assert (row.content_type, row.kind, row.size) == (content_type, "image", len(data))
    assert row.has_thumbnail and row.filename == "路面.jpg" and row.uploaded_by == "operator1"
    assert attachments.path_of(settings, row.sha256).read_bytes() == data
    with Image.open(attachments.path_of(settings, row.sha256, thumbnail=True)) as thumb:
        assert (thumb.format, thumb.mode, thumb.size) == ("JPEG", "RGB", (320, 160))
    with session_scope(db) as session:
        got = attachments.get(session, row.sha256)
        assert got is not None and got.content_type == content_type
        assert attachments.locate(session, settings, row.sha256, thumbnail=True) == (
            attachments.path_of(settings, row.sha256, thumbnail=True),
            "image/jpeg",
        )
    # No temporary files are left beside them.
    assert [p.name for p in stored_files(settings)] == [row.sha256, row.sha256 + ".thumb.jpg"]


def test_same_content_twice_is_kept_once(sessions: SessionFactory, settings: Settings) -> None:
    data = image_bytes("PNG")
    first = attachments.store(sessions, settings, data, "a.png", OPERATOR)
    files = {p: p.stat().st_mtime_ns for p in stored_files(settings)}
    second = attachments.store(sessions, settings, data, "b.png", Uploader.staff("handler_nhl"))

    assert second.sha256 == first.sha256 and second.filename == "a.png"
    assert len(rows(sessions)) == 1
    assert {p: p.stat().st_mtime_ns for p in stored_files(settings)} == files


def test_store_within_the_callers_transaction(sessions: SessionFactory, settings: Settings) -> None:
    data = image_bytes("JPEG")
    with session_scope(sessions) as session:
        row = attachments.store(session, settings, data, "a.jpg", OPERATOR)
        assert attachments.missing(session, [row.sha256]) == []
    # A row whose insert lost the race (or was there all along) is not inserted twice.
    with session_scope(sessions) as session:
        attachments._insert_once(session, row.model_copy())
    assert [r.sha256 for r in rows(sessions)] == [row.sha256]


def test_a_lost_file_is_written_again(db: SessionFactory, settings: Settings) -> None:
    data = image_bytes("PNG")
    row = attachments.store(db, settings, data, "a.png", OPERATOR)
    attachments.path_of(settings, row.sha256).unlink()
    with session_scope(db) as session:
        assert attachments.locate(session, settings, row.sha256) is None
    attachments.store(db, settings, data, "a.png", OPERATOR)
    assert attachments.path_of(settings, row.sha256).read_bytes() == data


def test_exif_orientation_is_applied_to_the_thumbnail(
    db: SessionFactory, settings: Settings
) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to view
    data = image_bytes("JPEG", (640, 480), exif=exif)
    row = attachments.store(db, settings, data, "side.jpg", OPERATOR)
    with Image.open(attachments.path_of(settings, row.sha256, thumbnail=True)) as thumb:
        assert thumb.size == (240, 320)
        assert thumb.getexif().get(0x0112) in (None, 1)


def test_video_is_stored_without_thumbnail(db: SessionFactory, settings: Settings) -> None:
    row = attachments.store(db, settings, MP4, "clip.mp4", OPERATOR)
    assert (row.content_type, row.kind, row.has_thumbnail) == ("video/mp4", "video", False)
    # ffmpeg wrote its name into the user data: the clean copy goes without it.
    original = attachments.path_of(settings, row.sha256)
    clean = attachments.path_of(settings, row.sha256, clean=True)
    assert row.clean_copy and stored_files(settings) == [original, clean]
    with session_scope(db) as session:
        assert attachments.locate(session, settings, row.sha256, thumbnail=True) is None
        assert attachments.locate(session, settings, row.sha256) == (clean, "video/mp4")
        assert attachments.locate(session, settings, row.sha256, exact_location=True) == (
            original,
            "video/mp4",
        )


# -- refusals ---------------------------------------------------------------------------------


def test_fake_jpeg_is_refused(db: SessionFactory, settings: Settings) -> None:
    err = refused(db, settings, b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40, "x.jpg")
    assert "cannot be read" in err.reason


def test_truncated_jpeg_is_refused(db: SessionFactory, settings: Settings) -> None:
    data = image_bytes("JPEG", (800, 600))
    refused(db, settings, data[: len(data) // 2], "half.jpg")


def test_png_behind_a_jpeg_header_is_refused(db: SessionFactory, settings: Settings) -> None:
    refused(db, settings, b"\xff\xd8\xff" + image_bytes("PNG"), "x.jpg")


def test_text_renamed_jpg_is_refused(db: SessionFactory, settings: Settings) -> None:
    err = refused(db, settings, "这不是图片\n".encode() * 50, "photo.jpg")
    assert "not an image or video" in err.reason


def test_empty_file_is_refused(db: SessionFactory, settings: Settings) -> None:
    assert "empty" in refused(db, settings, b"", "a.png").reason


def test_over_the_limit_of_its_kind_is_refused(db: SessionFactory, settings: Settings) -> None:
    small = settings.model_copy(update={"max_image_bytes": 1000, "max_video_bytes": len(MP4)})
    err = refused(db, small, image_bytes("PNG", (400, 400), "RGB", compress_level=0), "a.png")
    assert "image larger than" in err.reason and "MiB" in err.reason
    assert "video larger than" in refused(db, small, video("clip-gps.mp4"), "a.mp4").reason
    assert attachments.store(db, small, MP4, "ok.mp4", OPERATOR).kind == "video"


@pytest.mark.parametrize("size", [(13_000, 10), (10, 12_001), (8_000, 7_000)])
def test_absurd_dimensions_are_refused(
    db: SessionFactory, settings: Settings, size: tuple[int, int]
) -> None:
    # (8000, 7000) is 56 MP: past our limit, within twice Pillow's, which only warns there.
    bomb = size[0] * size[1] > attachments.MAX_PIXELS
    with pytest.warns(Image.DecompressionBombWarning) if bomb else contextlib.nullcontext():
        err = refused(db, settings, png_header(*size), "big.png")
    assert "px a side" in err.reason


def test_decompression_bomb_is_refused(db: SessionFactory, settings: Settings) -> None:
    # 11000 × 11000 = 121 MP is past twice the limit: Pillow refuses it while reading the header.
    assert "too large" in refused(db, settings, png_header(11_000, 11_000), "b.png").reason


def test_nothing_is_missing_but_the_unknown(db: SessionFactory, settings: Settings) -> None:
    row = attachments.store(db, settings, image_bytes("PNG"), "a.png", OPERATOR)
    other = "0" * 64
    with session_scope(db) as session:
        assert attachments.missing(session, [row.sha256, other, row.sha256, "../x"]) == [
            other,
            "../x",
        ]
        assert attachments.get(session, "../etc") is None
        assert [a.sha256 for a in attachments.get_many(session, [other, row.sha256])] == [
            row.sha256
        ]


async def test_store_upload_reads_no_more_than_it_needs(
    db: SessionFactory, settings: Settings
) -> None:
    class Endless:
        """An upload that never ends: a video header, then zeros."""

        filename: str | None = "big.mp4"
        read_bytes = 0

        async def read(self, size: int = -1) -> bytes:
            assert 0 < size <= attachments.MIB
            chunk = MP4 + bytes(size - len(MP4)) if self.read_bytes == 0 else bytes(size)
            self.read_bytes += size
            return chunk

    small = settings.model_copy(update={"max_image_bytes": 1000, "max_video_bytes": 3 << 20})
    upload = Endless()
    with pytest.raises(CaseError, match="video larger than 3 MiB"):
        await attachments.store_upload(db, small, upload, OPERATOR)
    assert upload.read_bytes == (3 << 20) + 1
    assert stored_files(small) == []


# -- location ---------------------------------------------------------------------------------


def test_a_located_photo_is_served_without_its_place_unless_the_viewer_may_see_it(
    db: SessionFactory, settings: Settings
) -> None:
    data = located_photo()
    row = attachments.store(db, settings, data, "p.jpg", OPERATOR)
    assert row.clean_copy is True
    with session_scope(db) as session:
        stripped = attachments.locate(session, settings, row.sha256)
        original = attachments.locate(session, settings, row.sha256, exact_location=True)
        thumb = attachments.locate(session, settings, row.sha256, thumbnail=True)
    assert stripped is not None and original is not None and thumb is not None
    assert original[0].read_bytes() == data and gps_of(data)
    assert gps_of(stripped[0].read_bytes()) == {} and gps_of(thumb[0].read_bytes()) == {}
    assert pixels(stripped[0].read_bytes()) == pixels(data)
    assert stripped[1] == original[1] == "image/jpeg"


def test_a_photo_without_metadata_is_served_as_it_is(
    db: SessionFactory, settings: Settings
) -> None:
    row = attachments.store(db, settings, image_bytes("PNG"), "p.png", OPERATOR)
    assert row.clean_copy is False
    with session_scope(db) as session:
        served = attachments.locate(session, settings, row.sha256)
    assert served == (attachments.path_of(settings, row.sha256), "image/png")


def test_a_file_stored_before_clean_copies_gets_one_when_first_served(
    db: SessionFactory, settings: Settings
) -> None:
    row = attachments.store(db, settings, located_photo(), "p.jpg", OPERATOR)
    clean = attachments.path_of(settings, row.sha256, clean=True)
    clean.unlink()
    with session_scope(db) as session:
        legacy = session.get(Attachment, row.sha256)
        assert legacy is not None
        legacy.clean_copy = None  # as migration 0009 leaves the rows before it
        session.add(legacy)
    with session_scope(db) as session:
        served = attachments.locate(session, settings, row.sha256)
    assert served == (clean, "image/jpeg") and gps_of(clean.read_bytes()) == {}
    with session_scope(db) as session:
        assert attachments.get(session, row.sha256).clean_copy is True  # type: ignore[union-attr]


def test_an_image_past_the_decode_budget_is_refused_and_not_kept(
    db: SessionFactory, settings: Settings
) -> None:
    tight = settings.model_copy(update={"image_decode_pixels": 100_000})
    err = refused(db, tight, image_bytes("PNG", (400, 300), "P"), "p.png")
    assert "400×300 px cannot be thumbnailed" in err.reason


def test_a_broken_video_is_refused_and_not_kept(db: SessionFactory, settings: Settings) -> None:
    err = refused(db, settings, MP4[: len(MP4) // 2], "half.mp4")
    assert err.reason.startswith("the video is damaged or not a video")
