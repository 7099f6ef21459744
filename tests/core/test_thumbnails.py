"""Thumbnails within a memory bound: what is decoded, what is refused, and that the picture is
right. Memory itself is measured by bench/uploads.py, not here."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageStat

from core.attachments import thumbnails
from core.errors import CaseError

BUDGET = 1_000_000  # pixels: small, so that refusals are cheap to show


def encoded(img: Image.Image, fmt: str, **kw: object) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **kw)
    return out.getvalue()


def thumbnail_of(data: bytes, budget: int = BUDGET) -> Image.Image:
    with Image.open(io.BytesIO(data)) as img:
        thumb = thumbnails.render(img, decode_pixels=budget)
    return Image.open(io.BytesIO(thumb))


def palette(size: tuple[int, int], transparent: bool = False) -> Image.Image:
    """A palette image of four coloured quarters."""
    img = Image.new("P", size, 0)
    img.putpalette([255, 255, 255, 200, 30, 30, 30, 160, 60, 20, 40, 200] + [0] * 756)
    w, h = size
    img.paste(1, (0, 0, w // 2, h // 2))
    img.paste(2, (w // 2, 0, w, h // 2))
    img.paste(3, (0, h // 2, w // 2, h))
    if transparent:
        img.info["transparency"] = 0
    return img


def test_a_palette_image_past_the_budget_is_refused_from_its_header() -> None:
    data = encoded(palette((1200, 1000)), "PNG")  # a few KB that decode to 1.2 MP
    with Image.open(io.BytesIO(data)) as img:
        with pytest.raises(CaseError) as caught:
            thumbnails.render(img, decode_pixels=BUDGET)
        assert img.tile  # its pixels are still to be decoded
    err = caught.value
    assert (err.status, err.field) == (422, "file")
    assert "1200×1000 px cannot be thumbnailed" in err.reason and "at most 1 are" in err.reason


def test_a_large_baseline_jpeg_decodes_at_reduced_scale_and_passes() -> None:
    # 3000×2000 px is 6 MP, six times the budget; at 1/4 scale it decodes to 0.375 MP.
    data = encoded(Image.new("RGB", (3000, 2000), (10, 120, 200)), "JPEG")
    thumb = thumbnail_of(data)
    assert thumb.size == (320, 213)
    assert ImageStat.Stat(thumb).mean == pytest.approx([10, 120, 200], abs=3)


def test_a_progressive_jpeg_counts_at_full_size() -> None:
    # Its decoder buffers every coefficient of the whole image, whatever the output scale.
    data = encoded(Image.new("RGB", (3000, 2000), "gray"), "JPEG", progressive=True)
    with Image.open(io.BytesIO(data)) as img, pytest.raises(CaseError, match="3000×2000"):
        thumbnails.render(img, decode_pixels=BUDGET)
    assert thumbnail_of(data, budget=6_000_000).size == (320, 213)


@pytest.mark.parametrize("transparent", [False, True])
def test_palette_images_are_widened_strip_by_strip_to_the_same_result(
    monkeypatch: pytest.MonkeyPatch, transparent: bool
) -> None:
    # Small strips force many of them, the last one partial, over a width not a multiple of 3.
    monkeypatch.setattr(thumbnails, "STRIP_PIXELS", 4_000)
    img = palette((1001, 700), transparent=transparent)
    whole = img.convert("RGBA" if transparent else "RGB").reduce(3)
    strips = thumbnails.reduced(img, 3)
    assert strips.mode == whole.mode and strips.size == whole.size == (334, 234)
    assert ImageChops.difference(strips, whole).getbbox() is None


@pytest.mark.parametrize("mode", ["RGBA", "RGB", "L", "LA", "CMYK"])
def test_other_modes_are_reduced_strip_by_strip_to_the_same_result(
    monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setattr(thumbnails, "STRIP_PIXELS", 4_000)
    img = Image.linear_gradient("L").resize((1001, 700)).convert(mode)
    if "A" in mode:
        img.putalpha(Image.linear_gradient("L").rotate(90).resize((1001, 700)))
    strips = thumbnails.reduced(img, 3)
    assert strips.mode == mode
    assert ImageChops.difference(strips, img.reduce(3)).getbbox() is None


@pytest.mark.parametrize(
    ("img", "fmt"),
    [
        (palette((900, 600)), "PNG"),
        (palette((900, 600)), "GIF"),
        (Image.new("1", (900, 600), 1), "PNG"),
        (Image.new("I;16", (900, 600), 40_000), "PNG"),
        (Image.new("LA", (900, 600), (90, 255)), "PNG"),
        (Image.new("RGBA", (900, 600), (0, 90, 0, 255)), "WEBP"),
        (Image.new("CMYK", (900, 600), (0, 0, 0, 0)), "JPEG"),
        (Image.new("L", (900, 600), 128), "JPEG"),
    ],
    ids=["P-png", "P-gif", "1-png", "I16-png", "LA-png", "RGBA-webp", "CMYK-jpeg", "L-jpeg"],
)
def test_every_mode_gives_an_rgb_jpeg_thumbnail(img: Image.Image, fmt: str) -> None:
    thumb = thumbnail_of(encoded(img, fmt))
    assert (thumb.format, thumb.mode, thumb.size) == ("JPEG", "RGB", (320, 213))


def test_the_palette_thumbnail_keeps_its_colours_and_lays_transparency_on_white() -> None:
    thumb = thumbnail_of(encoded(palette((1200, 800), transparent=True), "PNG"))
    assert thumb.size == (320, 213)
    # The quarters keep their colour; the transparent one (index 0) shows white.
    for (x, y), colour in {
        (40, 40): (200, 30, 30),
        (280, 40): (30, 160, 60),
        (40, 170): (20, 40, 200),
        (280, 170): (255, 255, 255),
    }.items():
        assert thumb.getpixel((x, y)) == pytest.approx(colour, abs=12)


def test_orientation_turns_the_thumbnail_of_a_png_too() -> None:
    exif = Image.Exif()
    exif[thumbnails.ORIENTATION] = 8
    thumb = thumbnail_of(encoded(Image.new("RGB", (640, 480)), "PNG", exif=exif))
    assert thumb.size == (240, 320)


def test_a_thumbnail_carries_no_metadata() -> None:
    exif = Image.Exif()
    exif[0x010F] = "Apple"
    exif[0x8825] = {1: "N", 2: (32.0, 3.0, 37.0)}
    data = encoded(Image.new("RGB", (800, 600), "red"), "JPEG", exif=exif, comment="王小明")
    thumb = thumbnail_of(data)
    assert dict(thumb.getexif()) == {} and "comment" not in thumb.info
    assert b"Exif" not in encoded_bytes(thumb) and "王小明".encode() not in encoded_bytes(thumb)


def encoded_bytes(img: Image.Image) -> bytes:
    assert img.fp is not None
    img.fp.seek(0)
    return img.fp.read()


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((1000, 500), (320, 160)),
        ((480, 640), (240, 320)),
        ((100, 50), (100, 50)),
        ((9000, 10), (320, 1)),
    ],
)
def test_fit_keeps_the_aspect_and_never_enlarges(
    size: tuple[int, int], expected: tuple[int, int]
) -> None:
    assert thumbnails.fit(size) == expected
