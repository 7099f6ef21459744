"""Videos are walked far enough to prove their container: real files pass, broken ones do not."""

from __future__ import annotations

import struct

import pytest

from core.attachments import containers
from core.attachments.containers import BrokenContainer
from tests.media import video

CLIPS = {
    "clip.mp4": "video/mp4",
    "clip-fragmented.mp4": "video/mp4",
    "clip-gps.mp4": "video/mp4",
    "clip.mov": "video/quicktime",
    "clip-gps.mov": "video/quicktime",
    "clip.webm": "video/webm",
    "clip-live.webm": "video/webm",
    "clip.mkv": "video/x-matroska",
}


@pytest.mark.parametrize(("name", "content_type"), CLIPS.items())
def test_real_videos_pass_with_their_content_type(name: str, content_type: str) -> None:
    assert containers.check_video(video(name)) == content_type


def boxes(data: bytes) -> dict[bytes, containers.Box]:
    return {b.kind: b for b in containers.iso_boxes(memoryview(data), 0, len(data))}


def renamed(data: bytes, box: containers.Box, kind: bytes) -> bytes:
    return data[: box.start + 4] + kind + data[box.start + 8 :]


def mp4_broken_ways() -> dict[str, bytes]:
    mp4 = video("clip.mp4")
    top = boxes(mp4)
    moov = top[b"moov"]
    mvhd = next(containers.iso_boxes(memoryview(mp4), moov.body, moov.end))
    oversized = (
        mp4[: moov.start] + struct.pack(">I", moov.end - moov.start + 1) + mp4[moov.start + 4 :]
    )
    return {
        # The fake the attachment tests once used: magic bytes and nothing behind them.
        "magic only": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
        + b"\x00\x00\x00\x08free" * 4,
        "truncated": mp4[:-100],
        "garbage after": mp4 + b"\x00\x01",
        "box past the end": oversized,
        "no moov": renamed(mp4, moov, b"free"),
        "no mdat": renamed(mp4, top[b"mdat"], b"free"),
        "two moov": mp4 + mp4[moov.start : moov.end],
        "moov without mvhd": renamed(mp4, mvhd, b"free"),
        "box too small": mp4[:32] + struct.pack(">I4s", 4, b"free") + mp4[40:],
        "ftyp not first": mp4[32:40] + mp4[:32] + mp4[40:],
        "unprintable type": renamed(mp4, top[b"free"], b"\x00\x01\x02\x03"),
    }


@pytest.mark.parametrize(("case", "data"), mp4_broken_ways().items())
def test_broken_iso_media_is_refused(case: str, data: bytes) -> None:
    with pytest.raises(BrokenContainer):
        containers.check_video(data)


def test_a_track_needs_its_header() -> None:
    mp4 = video("clip.mp4")
    at = mp4.index(b"tkhd")
    with pytest.raises(BrokenContainer, match="trak needs one tkhd"):
        containers.check_video(mp4[:at] + b"free" + mp4[at + 4 :])


def test_a_file_of_endless_tiny_boxes_is_refused_without_walking_it_all() -> None:
    mp4 = video("clip.mp4")
    tiny = struct.pack(">I4s", 8, b"free") * (containers.MAX_ELEMENTS + 10)
    with pytest.raises(BrokenContainer, match="too many"):
        containers.check_video(mp4 + tiny)


def test_the_walk_is_bounded_across_levels_too() -> None:
    # A browser-style WebM (Segment of unknown size) ending in an unknown-size Cluster of
    # empty Void elements: each level alone is short of the bound, not the file.
    webm = video("clip-live.webm")
    cluster = b"\x1f\x43\xb6\x75\xff" + b"\xec\x80" * (containers.MAX_ELEMENTS // 2)
    assert containers.check_video(webm + cluster) == "video/webm"
    with pytest.raises(BrokenContainer, match="too many"):
        containers.check_video(webm + cluster + cluster)


def elements(data: bytes) -> dict[int, containers.Element]:
    return {e.id: e for e in containers.matroska_top_level(memoryview(data))}


def with_unknown_size(data: bytes, element: containers.Element) -> bytes:
    """`element`'s size field, of its length, set to all ones: unknown size."""
    id_length = 4  # Segment-level ids are four bytes
    size_length = element.body - element.start - id_length
    ones = (1 << (7 * size_length)) - 1 | (1 << (7 * size_length))
    field = ones.to_bytes(size_length, "big")
    start = element.start + id_length
    return data[:start] + field + data[start + size_length :]


def test_a_cluster_of_unknown_size_ends_at_the_next_segment_element() -> None:
    webm = video("clip.webm")  # Cues follow its one Cluster
    cluster = elements(webm)[containers.CLUSTER]
    assert containers.check_video(with_unknown_size(webm, cluster)) == "video/webm"


def webm_broken_ways() -> dict[str, bytes]:
    webm = video("clip.webm")
    top = elements(webm)
    info, tracks, cues = top[containers.INFO], top[containers.TRACKS], top[0x1C53BB6B]
    segment = containers._element(memoryview(webm), 0, len(webm)).end
    assert segment is not None and cues.body - cues.start == 5  # a one-byte size
    doc_type = webm.index(b"\x42\x82")
    return {
        "truncated": webm[:-50],
        "garbage after": webm + b"\xec\x80",
        "not webm": webm[: doc_type + 3] + b"abcd" + webm[doc_type + 7 :],
        "no segment": webm[:segment] + b"\x1a\x1a\x1a\x1a" + webm[segment + 4 :],
        "no tracks": webm[: tracks.start] + b"\x1b\x1b\x1b\x1b" + webm[tracks.start + 4 :],
        "info of unknown size": with_unknown_size(webm, info),
        "last element past the end": webm[: cues.start + 4] + b"\xfe" + webm[cues.body :],
        "zero byte id": webm[: info.start] + b"\x00" + webm[info.start + 1 :],
    }


@pytest.mark.parametrize(("case", "data"), webm_broken_ways().items())
def test_broken_matroska_is_refused(case: str, data: bytes) -> None:
    with pytest.raises(BrokenContainer):
        containers.check_video(data)


def test_void_elements_fill_exactly_the_room_given() -> None:
    for length in (2, 5, 8, 9, 130, 5000):
        void = containers.void_element(length)
        assert len(void) == length
        element = containers._element(memoryview(void), 0, length)
        assert (element.id, element.end) == (containers.VOID, length)
