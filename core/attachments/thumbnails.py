"""Thumbnails made within a memory bound.

What a thumbnail costs is the image decoded: Pillow keeps every decoded pixel, 1 byte each in
palette and grey images, 4 in colour ones. A 6 KB palette PNG of 7000×7000 px decodes to 49 MB,
and converting it to RGBA before shrinking it (as this module once did) added 196 MB more. So:

- a JPEG decodes at a reduced scale (`draft`: 1/2, 1/4 or 1/8 of each side), still at least
  twice the thumbnail; a progressive JPEG is counted at full size all the same, because the
  decoder buffers the coefficients of the whole image;
- every other format decodes in full, in its own mode; whatever would decode to more than
  `image_decode_pixels` pixels is refused from its header, before a pixel is decoded;
- nothing is widened or copied whole before it is reduced: the image is shrunk a strip at a
  time, and palette, 1-bit and 16-bit grey strips are converted to colour one by one;
- a process decodes at most `thumbnail_workers` images at a time.

`bench/uploads.py` measures the peak memory of the old and the new way side by side.
"""

from __future__ import annotations

import io
import math
import threading
from functools import lru_cache

from PIL import Image, JpegImagePlugin

from core.errors import CaseError

THUMBNAIL_SIZE = 320  # px, the longer side
STRIP_PIXELS = 1 << 20  # pixels converted at a time when a mode must be widened first
ORIENTATION = 0x0112  # the EXIF tag
# reduce() cannot average these: a palette index is no colour, and Pillow has no reducer for
# 1-bit or 16-bit grey. They are converted to RGB(A) first, strip by strip.
_CONVERT_FIRST = frozenset({"1", "P", "PA", "L;16", "I;16", "I;16B", "I;16L", "I;16N"})
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def render(img: Image.Image, *, decode_pixels: int, workers: int = 2) -> bytes:
    """The JPEG thumbnail (at most 320 px a side) of `img`, opened but not yet decoded.

    Args:
        img: an image whose header has been read (`Image.open`); it is decoded here.
        decode_pixels: the most pixels the decoder may produce.
        workers: how many images the process may decode at once; callers beyond wait.

    Raises:
        CaseError: 422 on `file` when the image would decode to more than `decode_pixels`.
        Exception: whatever the decoder raises for a damaged image.
    """
    target = fit(img.size)
    _plan_decode(img, target, decode_pixels)
    with _decoding(workers):
        img.load()
        # Read after load(): a PNG may carry its EXIF after the pixels.
        orientation = img.getexif().get(ORIENTATION, 1)
        small = reduced(img, factor(img.size, target)).resize(target, Image.Resampling.LANCZOS)
    if orientation in _TRANSPOSE:
        small = small.transpose(_TRANSPOSE[orientation])
    flat = flattened(small)
    # Pillow writes some of `info` back (a JPEG comment, XMP): the thumbnail carries none of it.
    flat.info.clear()
    out = io.BytesIO()
    flat.save(out, "JPEG", quality=80, optimize=True)
    return out.getvalue()


def fit(size: tuple[int, int], box: int = THUMBNAIL_SIZE) -> tuple[int, int]:
    """`size` shrunk to fit a `box`-pixel square, keeping its aspect (never enlarged)."""
    width, height = size
    if width <= box and height <= box:
        return width, height
    if width >= height:
        return box, max(1, round(height * box / width))
    return max(1, round(width * box / height)), box


def factor(size: tuple[int, int], target: tuple[int, int]) -> int:
    """The box-filter reduction that leaves at least twice `target`, for a smooth resize after."""
    return max(1, int(min(size[0] / target[0], size[1] / target[1]) / 2))


def reduced(img: Image.Image, by: int) -> Image.Image:
    """`img` shrunk `by` times each side, a strip at a time: never a second full-size copy.

    (Pillow's own reduce() of an RGBA image premultiplies a copy of all of it first.)
    """
    if by == 1 and img.mode not in _CONVERT_FIRST:
        return img
    mode = img.mode
    if mode in _CONVERT_FIRST:
        mode = "RGBA" if has_alpha(img) else "RGB"
    width, height = img.size
    rows = max(1, STRIP_PIXELS // width // by) * by  # whole reduction boxes per strip
    out = Image.new(mode, (math.ceil(width / by), math.ceil(height / by)))
    for top in range(0, height, rows):
        strip = img.crop((0, top, width, min(top + rows, height)))
        strip = strip if strip.mode == mode else strip.convert(mode)
        out.paste(strip.reduce(by) if by > 1 else strip, (0, top // by))
    return out


def flattened(img: Image.Image) -> Image.Image:
    """`img` in RGB, any transparency laid on white (JPEG has none)."""
    if has_alpha(img):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return img if img.mode == "RGB" else img.convert("RGB")


def has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        img.mode == "P" and "transparency" in img.info
    )


def _plan_decode(img: Image.Image, target: tuple[int, int], budget: int) -> None:
    """Set a JPEG to decode at reduced scale; refuse what would still decode past `budget`."""
    declared = decoded = img.size
    if isinstance(img, JpegImagePlugin.JpegImageFile):
        img.draft(None, (2 * target[0], 2 * target[1]))
        # draft() shrinks the output, but a progressive JPEG's decoder holds every coefficient
        # of the whole image: it costs its full size.
        decoded = declared if img.info.get("progressive") else img.size
    pixels = decoded[0] * decoded[1]
    if pixels > budget:
        raise CaseError(
            422,
            f"image of {declared[0]}×{declared[1]} px cannot be thumbnailed: it would decode"
            f" to {pixels / 1e6:.1f} megapixels, at most {budget / 1e6:g} are allowed",
            "file",
            code="image_pixels",
        )


@lru_cache
def _slots(workers: int) -> threading.BoundedSemaphore:
    return threading.BoundedSemaphore(max(1, workers))


class _decoding:
    """At most `workers` decodes at a time in this process (a context manager)."""

    def __init__(self, workers: int) -> None:
        self._slots = _slots(workers)

    def __enter__(self) -> None:
        self._slots.acquire()

    def __exit__(self, *exc: object) -> None:
        self._slots.release()
