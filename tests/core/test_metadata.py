"""Copies without location: the GPS and identifying metadata go, the picture stays as it was."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import ExifTags, Image, ImageCms

from core.attachments import containers, metadata
from tests.media import XMP, gps_of, located_exif, located_photo, picture, pixels, video

IDENTIFYING = (b"Apple", b"iPhone", "王小明".encode(), b"GPSLatitude", b"13912345678")


def assert_clean(clean: bytes | None) -> bytes:
    assert clean is not None
    assert gps_of(clean) == {}
    for text in IDENTIFYING:
        assert text not in clean
    return clean


@pytest.mark.parametrize(
    ("fmt", "content_type", "kw"),
    [
        ("JPEG", "image/jpeg", {}),
        ("JPEG", "image/jpeg", {"progressive": True}),
        ("PNG", "image/png", {}),
        ("WEBP", "image/webp", {"lossless": True}),
    ],
    ids=["jpeg", "progressive-jpeg", "png", "webp"],
)
def test_the_located_photo_loses_its_place_and_keeps_its_pixels(
    fmt: str, content_type: str, kw: dict[str, object]
) -> None:
    data = located_photo(fmt, **kw)
    assert gps_of(data)  # the test photo does carry its place
    clean = assert_clean(metadata.strip(data, content_type))
    assert pixels(clean) == pixels(data)
    with Image.open(io.BytesIO(clean)) as img:
        assert img.format == fmt and "xmp" not in img.info


@pytest.mark.parametrize(("fmt", "content_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png")])
def test_the_orientation_alone_is_kept(fmt: str, content_type: str) -> None:
    clean = assert_clean(metadata.strip(located_photo(fmt, orientation=6), content_type))
    with Image.open(io.BytesIO(clean)) as img:
        assert dict(img.getexif()) == {ExifTags.Base.Orientation: 6}


def test_a_jpeg_keeps_its_colour_profile() -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    clean = assert_clean(metadata.strip(located_photo(icc_profile=icc), "image/jpeg"))
    with Image.open(io.BytesIO(clean)) as img:
        assert img.info["icc_profile"] == icc


def test_what_follows_the_picture_goes() -> None:
    # A "motion photo": a phone appends a video, with its own place, after the JPEG.
    data = located_photo() + video("clip-gps.mov")
    clean = assert_clean(metadata.strip(data, "image/jpeg"))
    assert clean.endswith(b"\xff\xd9") and b"ftyp" not in clean
    assert pixels(clean) == pixels(data)


def test_an_mpo_keeps_its_first_picture_only() -> None:
    out = io.BytesIO()
    first, second = picture(), picture().rotate(180)
    first.save(out, "MPO", save_all=True, append_images=[second], exif=located_exif())
    data = out.getvalue()
    clean = assert_clean(metadata.strip(data, "image/jpeg"))
    with Image.open(io.BytesIO(clean)) as img:
        assert img.format == "JPEG" and getattr(img, "n_frames", 1) == 1
    assert pixels(clean) == pixels(data)


def test_a_gif_loses_comments_and_xmp_and_keeps_its_frames_and_loop() -> None:
    frames = [picture(mode="RGB").convert("P"), picture(mode="RGB").rotate(180).convert("P")]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], loop=0, comment="王小明")
    data = _with_xmp_extension(out.getvalue())
    clean = metadata.strip(data, "image/gif")
    assert clean is not None and "王小明".encode() not in clean and b"XMP DataXMP" not in clean
    with Image.open(io.BytesIO(data)) as before, Image.open(io.BytesIO(clean)) as after:
        assert after.n_frames == before.n_frames == 2 and after.info["loop"] == 0
        for index in range(2):
            before.seek(index)
            after.seek(index)
            assert after.convert("RGB").tobytes() == before.convert("RGB").tobytes()


def _with_xmp_extension(gif: bytes) -> bytes:
    """`gif` with an XMP application extension after its global colour table."""
    table = 3 << ((gif[10] & 0x07) + 1) if gif[10] & 0x80 else 0
    at = 13 + table
    blocks = b"".join(
        bytes([len(XMP[i : i + 255])]) + XMP[i : i + 255] for i in range(0, len(XMP), 255)
    )
    extension = b"\x21\xff\x0bXMP DataXMP" + blocks + b"\x00"
    return gif[:at] + extension + gif[at:]


@pytest.mark.parametrize(
    ("fmt", "content_type", "kw"),
    [
        ("PNG", "image/png", {}),
        ("WEBP", "image/webp", {"lossless": True}),
        ("GIF", "image/gif", {}),
    ],
)
def test_a_file_without_metadata_needs_no_copy(
    fmt: str, content_type: str, kw: dict[str, object]
) -> None:
    out = io.BytesIO()
    picture().save(out, fmt, **kw)
    assert metadata.strip(out.getvalue(), content_type) is None


@pytest.mark.parametrize("name", ["clip-gps.mov", "clip-gps.mp4"])
def test_a_video_loses_its_place_and_keeps_every_media_byte(name: str) -> None:
    data = video(name)
    assert b"+32.0603+118.7969" in data or b"loci" in data
    clean = metadata.strip(data, containers.check_video(data))
    assert clean is not None and len(clean) == len(data)
    assert b"+32.0603+118.7969" not in clean and b"loci" not in clean and b"\xa9xyz" not in clean
    mdat = {b.kind: b for b in containers.iso_boxes(memoryview(data), 0, len(data))}[b"mdat"]
    assert clean[mdat.start : mdat.end] == data[mdat.start : mdat.end]
    assert containers.check_video(clean) == containers.check_video(data)


@pytest.mark.parametrize("name", ["clip.webm", "clip.mkv"])
def test_a_matroska_file_loses_its_tags(name: str) -> None:
    data = video(name)
    assert b"ENCODER" in data
    clean = metadata.strip(data, containers.check_video(data))
    assert clean is not None and len(clean) == len(data) and b"ENCODER" not in clean
    assert containers.check_video(clean) == containers.check_video(data)


def test_stray_bytes_between_jpeg_segments_are_skipped_as_decoders_do() -> None:
    data = located_photo()
    app0_end = 4 + struct.unpack_from(">H", data, 4)[0]
    sloppy = data[:app0_end] + b"\x00junk\x00" + data[app0_end:]
    assert pixels(sloppy) == pixels(data)  # Pillow reads it
    clean = assert_clean(metadata.strip(sloppy, "image/jpeg"))
    assert b"junk" not in clean and pixels(clean) == pixels(data)


def test_a_jpeg_whose_segments_cannot_be_walked_is_unstrippable() -> None:
    data = located_photo()
    broken = data[:4] + struct.pack(">H", len(data)) + data[6:]  # APP0 runs past the end
    with pytest.raises(metadata.Unstrippable):
        metadata.strip(broken, "image/jpeg")


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (located_photo("JPEG"), "image/jpeg"),
        (located_photo("PNG"), "image/png"),
        (located_photo("WEBP", lossless=True), "image/webp"),
        (video("clip-gps.mov"), "video/quicktime"),
        (video("clip.webm"), "video/webm"),
    ],
    ids=["jpeg", "png", "webp", "mov", "webm"],
)
def test_any_truncation_is_a_clean_refusal(data: bytes, content_type: str) -> None:
    outcomes = set()
    for cut in range(1, len(data), max(1, len(data) // 97)):
        try:
            metadata.strip(data[:cut], content_type)
            outcomes.add("copy")
        except metadata.Unstrippable:
            outcomes.add("refused")
    # Nothing else escapes (an IndexError would fail the test), and truncations are noticed.
    assert "refused" in outcomes
