"""Copies of photos and videos without where they were taken or what took them.

A phone writes the place of a photo into its EXIF (GPS tags) and often XMP, with the camera's
make, model and serial and the owner's name; a phone video carries the place in its `udta`
or `meta` boxes. Whoever may not see a case's exact location gets a copy without them.

The copies are made losslessly, at the container level: the picture's own bytes are kept as
they are, only metadata segments, chunks or boxes are dropped (and for videos, blanked in
place so that every offset into the media data stays right). What decoding needs stays: JFIF,
ICC colour profiles, Adobe colour transforms, PNG colour and transparency chunks. An EXIF
orientation, which turns the picture upright, is kept alone in a minimal EXIF of its own.
Anything after the image's end (a phone's "motion photo" video, vendor trailers) is dropped.

`strip` returns None when a file holds nothing to drop, so no second copy is kept of it.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable

from PIL import Image

from core.attachments import containers

ORIENTATION = 0x0112
# JPEG segments that decoding needs: APP0 (JFIF), APP2 (ICC profile; MPF is told apart by its
# identifier), APP14 (Adobe colour transform) and the coding segments (DQT, DHT, SOFn, DRI…).
_JPEG_DROPPED = frozenset({0xE1, *range(0xE3, 0xEE), 0xEF, 0xFE})  # APP1, APP3-13, APP15, COM
_PNG_KEPT = frozenset(
    {b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"iCCP", b"sBIT", b"bKGD", b"pHYs", b"hIST", b"sPLT"}
    | {b"acTL", b"fcTL", b"fdAT", b"cICP", b"mDCV", b"cLLI", b"mDCv", b"cLLi"}
)
_WEBP_KEPT = frozenset({b"VP8X", b"VP8 ", b"VP8L", b"ALPH", b"ANIM", b"ANMF", b"ICCP"})
_WEBP_METADATA_FLAGS = 0x08 | 0x04  # EXIF and XMP present
_GIF_KEPT_APPS = (b"NETSCAPE2.0", b"ANIMEXTS1.0", b"ICCRGBG1012")
# Boxes that hold user data and metadata in ISO media (QuickTime keeps its location in udta,
# MP4 in udta/loci or meta/ilst, XMP in a uuid box); Matroska keeps it in Tags.
_ISO_METADATA = frozenset({b"udta", b"meta", b"uuid", b"XMP_"})
_ISO_CONTAINERS = frozenset({b"moov", b"trak", b"mdia", b"minf"})
_MKV_TAGS = 0x1254C367
_MKV_VOID = 0xEC


class Unstrippable(ValueError):
    """The file's structure could not be walked, so no clean copy can be made of it."""


def strip(data: bytes, content_type: str) -> bytes | None:
    """A copy of `data` without location and identifying metadata; None if it holds none.

    Raises:
        Unstrippable: the container is damaged past the point where it can be walked.
    """
    stripper = _STRIPPERS.get(content_type)
    if stripper is None:
        return None
    try:
        clean = stripper(data)
    except (IndexError, struct.error, ValueError) as err:
        raise Unstrippable(f"{content_type}: {err}") from None
    return None if clean == data else clean


# -- JPEG -------------------------------------------------------------------------------------


def _jpeg(data: bytes) -> bytes:
    out = [data[:2]]  # SOI
    pos = 2
    while True:
        pos = _next_marker(data, pos)
        code = data[pos + 1]
        if code == 0xD9:  # EOI: the first picture ends; an MPO's others and trailers go
            out.append(data[pos : pos + 2])
            return b"".join(out)
        if 0xD0 <= code <= 0xD7 or code == 0x01:  # markers without a length
            out.append(data[pos : pos + 2])
            pos += 2
            continue
        (length,) = struct.unpack_from(">H", data, pos + 2)
        end = pos + 2 + length
        if end > len(data) or length < 2:
            raise ValueError(f"segment {code:#x} at {pos} runs past the end")
        out.append(_jpeg_segment(code, data[pos:end]))
        pos = _entropy_end(data, end) if code == 0xDA else end
        if code == 0xDA:
            out.append(data[end:pos])


def _next_marker(data: bytes, pos: int) -> int:
    pos = data.index(b"\xff", pos)  # stray bytes before a marker are skipped, as decoders do
    while data[pos + 1] == 0xFF:  # fill bytes
        pos += 1
    return pos


def _entropy_end(data: bytes, pos: int) -> int:
    """Where the coded data after a scan header ends: the next marker that is not a restart."""
    while True:
        pos = data.index(b"\xff", pos)
        following = data[pos + 1]
        if following == 0 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            pos += 1
            continue
        return pos


def _jpeg_segment(code: int, segment: bytes) -> bytes:
    body = segment[4:]
    if code == 0xE1 and body.startswith(b"Exif\x00\x00"):
        return _minimal_exif_segment(body)
    if code in _JPEG_DROPPED or (code == 0xE2 and body.startswith(b"MPF\x00")):
        return b""
    return segment


def _minimal_exif_segment(exif_body: bytes) -> bytes:
    kept = _minimal_exif(exif_body)
    return b"\xff\xe1" + struct.pack(">H", len(kept) + 2) + kept if kept else b""


def _minimal_exif(exif_body: bytes) -> bytes:
    """An EXIF block (with its "Exif\\0\\0" header) holding only the orientation, if it turns."""
    exif = Image.Exif()
    try:
        exif.load(exif_body)
        orientation = exif.get(ORIENTATION, 1)
    except Exception:  # an unreadable EXIF holds no orientation worth keeping
        return b""
    if orientation not in range(2, 9):
        return b""
    kept = Image.Exif()
    kept[ORIENTATION] = orientation
    return kept.tobytes()


# -- PNG --------------------------------------------------------------------------------------


def _png(data: bytes) -> bytes:
    out, pos = [data[:8]], 8
    while True:
        length, kind = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if end > len(data):
            raise ValueError(f"chunk {kind!r} at {pos} runs past the end")
        if kind == b"eXIf":
            out.append(
                _png_chunk(kind, _minimal_exif(b"Exif\x00\x00" + data[pos + 8 : end - 4])[6:])
            )
        elif kind[0] < 0x60 or kind in _PNG_KEPT:  # critical chunks (upper case) all stay
            out.append(data[pos:end])
        pos = end
        if kind == b"IEND":
            return b"".join(out)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    if not body:
        return b""
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


# -- WebP -------------------------------------------------------------------------------------


def _webp(data: bytes) -> bytes:
    (riff_size,) = struct.unpack_from("<I", data, 4)
    end = 8 + riff_size
    if end > len(data):
        raise ValueError("RIFF size runs past the end")
    out, pos = [], 12
    while pos < end:
        kind, size = struct.unpack_from("<4sI", data, pos)
        chunk_end = pos + 8 + size + (size & 1)  # chunks are padded to even sizes
        if chunk_end > end:
            raise ValueError(f"chunk {kind!r} at {pos} runs past the end")
        chunk = data[pos:chunk_end]
        if kind == b"VP8X":  # the header's flags say which metadata chunks follow
            chunk = chunk[:8] + bytes([chunk[8] & ~_WEBP_METADATA_FLAGS & 0xFF]) + chunk[9:]
        if kind in _WEBP_KEPT:
            out.append(chunk)
        pos = chunk_end
    body = b"WEBP" + b"".join(out)
    return b"RIFF" + struct.pack("<I", len(body)) + body


# -- GIF --------------------------------------------------------------------------------------


def _gif(data: bytes) -> bytes:
    pos = 13 + _color_table(data[10])  # header, screen descriptor, global colour table
    out = [data[:pos]]
    while True:
        introducer = data[pos]
        if introducer == 0x3B:  # trailer
            out.append(b";")
            return b"".join(out)
        if introducer == 0x2C:  # an image: descriptor, local colour table, LZW code size
            start = pos
            pos = _sub_blocks(data, pos + 10 + _color_table(data[pos + 9]) + 1)
            out.append(data[start:pos])
        elif introducer == 0x21:
            start, label = pos, data[pos + 1]
            pos = _sub_blocks(data, pos + 2)
            if _gif_extension_kept(label, data[start + 2 : start + 14]):
                out.append(data[start:pos])
        else:
            raise ValueError(f"unknown GIF block {introducer:#x} at {pos}")


def _color_table(flags: int) -> int:
    return 3 << ((flags & 0x07) + 1) if flags & 0x80 else 0


def _sub_blocks(data: bytes, pos: int) -> int:
    """The position after a chain of sub-blocks (each a length byte and data; 0 ends)."""
    while data[pos]:
        pos += data[pos] + 1
    return pos + 1


def _gif_extension_kept(label: int, head: bytes) -> bool:
    # Frame timing and plain text stay; comments go; application blocks stay only for looping
    # and the colour profile (XMP rides in one, "XMP DataXMP").
    if label == 0xFF:
        return head[0] == 11 and head[1:12] in _GIF_KEPT_APPS
    return label != 0xFE


# -- videos -----------------------------------------------------------------------------------


def _iso_media(data: bytes) -> bytes:
    """Metadata boxes blanked in place into `free` boxes: every media offset stays right."""
    out = bytearray(data)
    _blank_boxes(out, 0, len(out))
    return bytes(out)


def _blank_boxes(out: bytearray, start: int, end: int) -> None:
    for box in containers.iso_boxes(memoryview(out), start, end):
        if box.kind in _ISO_METADATA:  # (a 64-bit size stays as it is: the type names it)
            out[box.body : box.end] = bytes(box.end - box.body)
            out[box.start + 4 : box.start + 8] = b"free"
        elif box.kind in _ISO_CONTAINERS:
            _blank_boxes(out, box.body, box.end)


def _matroska(data: bytes) -> bytes:
    """Tags (where a recorder may put its place) overwritten by a Void element of equal size."""
    out = bytearray(data)
    for element in containers.matroska_top_level(memoryview(out)):
        if element.id == _MKV_TAGS and element.end is not None:
            out[element.start : element.end] = containers.void_element(element.end - element.start)
    return bytes(out)


_STRIPPERS: dict[str, Callable[[bytes], bytes]] = {
    "image/jpeg": _jpeg,
    "image/png": _png,
    "image/webp": _webp,
    "image/gif": _gif,
    "video/mp4": _iso_media,
    "video/quicktime": _iso_media,
    "video/webm": _matroska,
    "video/x-matroska": _matroska,
}
