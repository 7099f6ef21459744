"""Proof that a video is the container it claims: a walk of its structure, in pure Python.

Magic bytes say only what a file claims to be. Decoding a video would need ffmpeg; walking its
container needs a few hundred lines and proves what a player relies on first:

- MP4 and QuickTime (ISO base media): an `ftyp` box first with a known video brand, then boxes
  whose sizes tile the file exactly, among them one `moov` (with a `mvhd` and at least one
  `trak`, each with `tkhd` and `mdia`, all tiling their parents) and at least one `mdat`;
- WebM and Matroska (EBML): an EBML header naming the DocType `webm` or `matroska`, then one
  Segment whose elements tile it, with Info, Tracks and at least one Cluster. A Segment or a
  Cluster of unknown size (as browsers record them) runs to the next element of its parent's
  level, or to the end.

The walk reads the bytes already in memory (an upload is capped before it gets here) through a
memoryview, copies nothing, and visits a bounded number of boxes or elements.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass

MAX_ELEMENTS = 200_000  # boxes or elements walked per file, all levels: far more than videos have
FTYP_MAX = 4096
EBML_HEADER_MAX = 4096
ISO_BRANDS: dict[bytes, str] = {
    **dict.fromkeys(
        [b"isom", b"iso2", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"M4V "],
        "video/mp4",
    ),
    **dict.fromkeys([b"mmp4", b"MSNV", b"dash"], "video/mp4"),
    b"qt  ": "video/quicktime",
}
DOC_TYPES = {"webm": "video/webm", "matroska": "video/x-matroska"}

# Matroska element ids (with their length marker, as written).
EBML, DOC_TYPE, EBML_READ_VERSION = 0x1A45DFA3, 0x4282, 0x42F7
SEGMENT, CLUSTER, INFO, TRACKS = 0x18538067, 0x1F43B675, 0x1549A966, 0x1654AE6B
VOID = 0xEC
# Elements that may follow a Cluster inside a Segment: one of them ends an unknown-size Cluster.
SEGMENT_CHILDREN = frozenset(
    {0x114D9B74, INFO, TRACKS, CLUSTER, 0x1C53BB6B, 0x1254C367, 0x1043A770, 0x1941A469}
)


class BrokenContainer(ValueError):
    """The file has the magic bytes of a video container but not its structure."""


class Walk:
    """The boxes or elements one file may still cost: every level of it counts."""

    def __init__(self, budget: int = MAX_ELEMENTS) -> None:
        self.left = budget

    def step(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise BrokenContainer(f"too many boxes or elements (more than {MAX_ELEMENTS})")


@dataclass(frozen=True)
class Box:
    """One ISO media box: `kind` is its four-character type; offsets are into the file."""

    kind: bytes
    start: int
    body: int
    end: int


@dataclass(frozen=True)
class Element:
    """One EBML element; `end` is None for an element of unknown size."""

    id: int
    start: int
    body: int
    end: int | None


def check_video(data: bytes) -> str:
    """The content type of a video whose container holds together.

    Raises:
        BrokenContainer: the structure is broken, truncated or not a known video container.
    """
    if data[4:8] == b"ftyp":
        return check_iso_media(data)
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return check_matroska(data)
    raise BrokenContainer("not an MP4, QuickTime, WebM or Matroska file")


# -- ISO base media (MP4, QuickTime) ----------------------------------------------------------


def check_iso_media(data: bytes) -> str:
    """The content type of an MP4 or QuickTime file whose boxes hold together."""
    buf, walk = memoryview(data), Walk()
    boxes = list(iso_boxes(buf, 0, len(buf), walk))
    ftyp = boxes[0]
    if ftyp.kind != b"ftyp" or not 16 <= ftyp.end - ftyp.start <= FTYP_MAX:
        raise BrokenContainer("the file does not start with a file type box")
    content_type = ISO_BRANDS.get(bytes(buf[ftyp.body : ftyp.body + 4]))
    if content_type is None:
        raise BrokenContainer("the file type names no video brand")
    kinds = [b.kind for b in boxes]
    if kinds.count(b"moov") != 1 or b"mdat" not in kinds or kinds.count(b"ftyp") != 1:
        raise BrokenContainer("an MP4 needs one ftyp, one moov and media data (mdat)")
    moov = boxes[kinds.index(b"moov")]
    children = _require(buf, walk, moov, {b"mvhd": 1}, b"trak")
    for trak in children:
        if trak.kind == b"trak":
            _require(buf, walk, trak, {b"tkhd": 1, b"mdia": 1}, None)
    return content_type


def iso_boxes(buf: memoryview, start: int, end: int, walk: Walk | None = None) -> Iterator[Box]:
    """The boxes that tile `buf[start:end]`, in order.

    Raises:
        BrokenContainer: a box is too small, runs past `end`, has an unprintable type, or
            `end` is not reached exactly; or `walk` is spent.
    """
    walk = walk or Walk()
    pos = start
    while pos < end:
        walk.step()
        if end - pos < 8:
            raise BrokenContainer(f"box at {pos} is cut off")
        size, kind = struct.unpack_from(">I4s", buf, pos)
        header = 8
        if size == 1:
            if end - pos < 16:
                raise BrokenContainer(f"box at {pos} is cut off")
            (size,) = struct.unpack_from(">Q", buf, pos + 8)
            header = 16
        elif size == 0:  # runs to the end of its parent
            size = end - pos
        if (
            size < header
            or pos + size > end
            or not all(0x20 <= c <= 0x7E or c == 0xA9 for c in kind)
        ):
            raise BrokenContainer(f"box {kind!r} at {pos} of {size} bytes does not fit")
        yield Box(kind, pos, pos + header, pos + size)
        pos += size


def _require(
    buf: memoryview, walk: Walk, parent: Box, once: dict[bytes, int], some: bytes | None
) -> list[Box]:
    """The children of `parent`, which must tile it and hold `once` exactly once, `some` ≥ 1."""
    children = list(iso_boxes(buf, parent.body, parent.end, walk))
    kinds = [c.kind for c in children]
    for kind in once:
        if kinds.count(kind) != 1:
            raise BrokenContainer(f"{parent.kind.decode()} needs one {kind.decode()}")
    if some is not None and some not in kinds:
        raise BrokenContainer(f"{parent.kind.decode()} holds no {some.decode()}")
    return children


# -- EBML (WebM, Matroska) --------------------------------------------------------------------


def check_matroska(data: bytes) -> str:
    """The content type of a WebM or Matroska file whose elements hold together."""
    buf = memoryview(data)
    header = _element(buf, 0, len(buf))
    if header.id != EBML or header.end is None or header.end - header.start > EBML_HEADER_MAX:
        raise BrokenContainer("the file does not start with an EBML header")
    content_type = DOC_TYPES.get(_doc_type(buf, header))
    if content_type is None:
        raise BrokenContainer("the EBML header names neither webm nor matroska")
    seen = {e.id for e in matroska_top_level(buf, Walk())}
    missing = [
        name
        for name, i in (("Info", INFO), ("Tracks", TRACKS), ("Cluster", CLUSTER))
        if i not in seen
    ]
    if missing:
        raise BrokenContainer(f"the segment holds no {', '.join(missing)}")
    return content_type


def matroska_top_level(buf: memoryview, walk: Walk | None = None) -> Iterator[Element]:
    """The elements directly inside the one Segment, which must tile it (or run to the end).

    Raises:
        BrokenContainer: the header or the Segment is missing, or an element does not fit.
    """
    header = _element(buf, 0, len(buf))
    if header.end is None:
        raise BrokenContainer("the EBML header has unknown size")
    segment = _element(buf, header.end, len(buf))
    end = len(buf) if segment.end is None else segment.end
    if segment.id != SEGMENT or end != len(buf):
        raise BrokenContainer("the EBML header must be followed by one Segment filling the file")
    yield from _sequence(buf, segment.body, end, walk or Walk())


def _sequence(buf: memoryview, pos: int, end: int, walk: Walk) -> Iterator[Element]:
    """The elements that follow one another from `pos` to `end`."""
    while pos < end:
        walk.step()
        element = _element(buf, pos, end)
        yield element
        pos = _cluster_end(buf, element, end, walk) if element.end is None else element.end


def _cluster_end(buf: memoryview, cluster: Element, end: int, walk: Walk) -> int:
    """Where a Cluster of unknown size ends: at the next Segment-level element, or the end."""
    if cluster.id != CLUSTER:
        raise BrokenContainer(f"element {cluster.id:#x} at {cluster.start} has unknown size")
    for element in _sequence(buf, cluster.body, end, walk):
        if element.id in SEGMENT_CHILDREN:
            return element.start
    return end


def _doc_type(buf: memoryview, header: Element) -> str:
    assert header.end is not None
    pos, doc_type = header.body, ""
    while pos < header.end:
        child = _element(buf, pos, header.end)
        if child.end is None:
            raise BrokenContainer("an EBML header element has unknown size")
        value = bytes(buf[child.body : child.end])
        if child.id == DOC_TYPE:
            doc_type = value.rstrip(b"\x00").decode("ascii", "replace")
        elif child.id == EBML_READ_VERSION and int.from_bytes(value, "big") != 1:
            raise BrokenContainer("the EBML header needs a reader newer than version 1")
        pos = child.end
    return doc_type


def _element(buf: memoryview, pos: int, end: int) -> Element:
    """The element at `pos`; its size must fit before `end` unless unknown."""
    element_id, id_length = _vint(buf, pos, end, max_length=4)
    size, size_length = _vint(buf, pos + id_length, end, max_length=8)
    body = pos + id_length + size_length
    element_id |= 1 << (7 * id_length)  # ids are written with their length marker
    if size == (1 << (7 * size_length)) - 1:  # all ones: unknown size
        return Element(element_id, pos, body, None)
    if body + size > end:
        raise BrokenContainer(f"element {element_id:#x} at {pos} of {size} bytes does not fit")
    return Element(element_id, pos, body, body + size)


def _vint(buf: memoryview, pos: int, end: int, *, max_length: int) -> tuple[int, int]:
    """An EBML variable-length integer at `pos`: its value (marker removed) and its length."""
    if pos >= end:
        raise BrokenContainer(f"an element at {pos} is cut off")
    first = buf[pos]
    length = 9 - first.bit_length()
    if first == 0 or length > max_length or pos + length > end:
        raise BrokenContainer(f"bad element header at {pos}")
    value = first & ((1 << (8 - length)) - 1)
    for byte in buf[pos + 1 : pos + length]:
        value = (value << 8) | byte
    return value, length


def void_element(length: int) -> bytes:
    """A Void element of exactly `length` bytes (at least 2), zeros inside."""
    if length < 2:
        raise ValueError("a Void element takes at least 2 bytes")
    size_length = 8 if length >= 9 else 1
    size = length - 1 - size_length
    size_field = (size | (1 << (7 * size_length))).to_bytes(size_length, "big")
    return bytes([VOID]) + size_field + bytes(size)
