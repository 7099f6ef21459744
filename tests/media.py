"""Test media: real short videos (tests/data/video) and photos that carry a location.

The videos were made once with ffmpeg 7 (testsrc, 32×24 px, 0.6 s), e.g.
`ffmpeg -f lavfi -i testsrc=size=32x24:rate=5 -t 0.6 -pix_fmt yuv420p -c:v libx264 clip.mp4`;
`clip-fragmented.mp4` with `-movflags frag_keyframe+empty_moov`, the WebM ones with libvpx
(`clip-live.webm` with `-live 1`: a Segment of unknown size), and `clip-gps.*` with
`-metadata location="+32.0603+118.7969/"` (QuickTime's ©xyz, MP4's 3GPP loci box).
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import ExifTags, Image

VIDEOS = Path(__file__).parent / "data" / "video"
LAT, LON = (32.0, 3.0, 37.08), (118.0, 47.0, 48.84)  # 颐和路, as degrees, minutes, seconds
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
    b'syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude='
    b'"32,3.618N" exif:GPSLongitude="118,47.814E"/></rdf:RDF></x:xmpmeta>'
)


def video(name: str) -> bytes:
    return (VIDEOS / name).read_bytes()


def located_exif(orientation: int = 1) -> Image.Exif:
    """EXIF as a phone writes it: where, with what, by whom."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Apple"
    exif[ExifTags.Base.Model] = "iPhone 15"
    exif[ExifTags.Base.Artist] = "王小明"
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: LAT, 3: "E", 4: LON}
    return exif


def picture(size: tuple[int, int] = (96, 64), mode: str = "RGB") -> Image.Image:
    """A picture with detail in it, so that a changed pixel would show."""
    img = Image.linear_gradient("L").resize(size).convert(mode)
    img.paste((200, 30, 30) if mode.startswith("RGB") else 90, (4, 4, size[0] // 2, size[1] // 3))
    return img


def located_photo(fmt: str = "JPEG", *, orientation: int = 1, **kw: object) -> bytes:
    """A photo whose EXIF (and XMP) say where it was taken."""
    out = io.BytesIO()
    extra: dict[str, object] = {"exif": located_exif(orientation), **kw}
    if fmt in ("JPEG", "WEBP"):
        extra["xmp"] = XMP
    if fmt == "JPEG":
        extra["comment"] = "王小明 13912345678"
    picture().save(out, fmt, **extra)
    return out.getvalue()


def gps_of(data: bytes) -> dict[int, object]:
    with Image.open(io.BytesIO(data)) as img:
        return dict(img.getexif().get_ifd(ExifTags.IFD.GPSInfo))


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        return img.convert("RGBA").tobytes()
