"""Peak memory of making one thumbnail: the code before issue 10 against the code now.

Run as ``.venv/bin/python -m bench.uploads [--old-commit e6db3c2] [--cases issue,palette16]``.
It prints its figures and asserts nothing.

Each measurement runs in a fresh interpreter: it imports the thumbnailer, reads the image from
a file, notes its peak resident set so far (`VmHWM` in /proc/self/status, so Linux only), makes
the thumbnail once, and notes the peak again. The difference is what making the thumbnail took
at its worst. Pillow's and libjpeg's buffers are allocated outside Python's heap, so tracemalloc
would not see them; and `ru_maxrss` would not do either: Linux carries it over from the parent
through fork and exec, and the parent has just built the test images.

"old" is `core/attachments/store.py` as it was at ``--old-commit`` (read with `git show`), "new"
is the working tree's, with the default settings (16 MP decode budget). A case the new code refuses
(422) shows "refused": refusing from the header is the point of the budget.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
OLD_COMMIT = "e6db3c2"  # the migration placeholders: the last commit before this work
MIB = 1024 * 1024

# The child: (old|new, module source file or "", image file, content type) -> JSON figures.
CHILD = r"""
import gc, json, sys, time, types
def peak_kib():  # VmHWM: this process's peak resident set (ru_maxrss would carry the parent's)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
which, source, path, content_type = sys.argv[1:5]
from PIL import Image
if which == "old":
    module = types.ModuleType("old_attachments")
    module.__file__ = source
    exec(compile(open(source).read(), source, "exec"), module.__dict__)
    make = lambda data: module._thumbnail(data, content_type)
else:
    from core import attachments
    from core.config import Settings
    settings = Settings()
    make = lambda data: attachments._thumbnail(settings, data, content_type)
from core.errors import CaseError
data = open(path, "rb").read()
gc.collect()
before = peak_kib()
start = time.perf_counter()
try:
    outcome = "%d B thumbnail" % len(make(data))
except CaseError as err:
    outcome = "refused: %s" % err.reason
seconds = time.perf_counter() - start
after = peak_kib()
figures = {"before_kib": before, "after_kib": after, "seconds": seconds, "outcome": outcome}
print(json.dumps(figures))
"""


def _palette(size: tuple[int, int]) -> Image.Image:
    img = Image.new("P", size, 0)
    img.putpalette([255, 255, 255, 200, 30, 30] + [0] * 762)
    img.paste(1, (0, 0, size[0] // 2, size[1] // 2))
    return img


def _photo(size: tuple[int, int]) -> Image.Image:
    """Noise: like a photo, every block of it has detail (a flat image would flatter JPEG)."""
    return Image.effect_noise(size, 60).convert("RGB")


def _encoded(make: Callable[[], Image.Image], fmt: str, **kw: object) -> bytes:
    out = io.BytesIO()
    make().save(out, fmt, **kw)
    return out.getvalue()


# name -> (what it is, builder of its bytes, content type)
CASES: dict[str, tuple[str, Callable[[], bytes], str]] = {
    "issue": (
        "palette PNG 7000×7000 (issue 10)",
        # Transparent, as in the issue: the old code converted it to RGBA whole.
        lambda: _encoded(lambda: _palette((7000, 7000)), "PNG", optimize=True, transparency=0),
        "image/png",
    ),
    "palette16": (
        "palette PNG 4000×4000 (16 MP)",
        lambda: _encoded(lambda: _palette((4000, 4000)), "PNG", optimize=True),
        "image/png",
    ),
    "gif16": (
        "GIF 4000×4000 (16 MP)",
        lambda: _encoded(lambda: _palette((4000, 4000)), "GIF"),
        "image/gif",
    ),
    "rgba16": (
        "RGBA PNG 4000×4000 (16 MP)",
        lambda: _encoded(lambda: Image.new("RGBA", (4000, 4000), (0, 90, 0, 200)), "PNG"),
        "image/png",
    ),
    "jpeg48": (
        "baseline JPEG 8000×6000 (48 MP)",
        lambda: _encoded(lambda: _photo((8000, 6000)), "JPEG", quality=85),
        "image/jpeg",
    ),
    "progressive12": (
        "progressive JPEG 4000×3000 (12 MP)",
        lambda: _encoded(lambda: _photo((4000, 3000)), "JPEG", quality=85, progressive=True),
        "image/jpeg",
    ),
    "progressive24": (
        "progressive JPEG 6000×4000 (24 MP)",
        lambda: _encoded(lambda: _photo((6000, 4000)), "JPEG", quality=85, progressive=True),
        "image/jpeg",
    ),
}


def measure(which: str, source: str, path: Path, content_type: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-c", CHILD, which, source, str(path), content_type],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )
    if run.returncode != 0:
        return {"error": run.stderr.strip().splitlines()[-1]}
    figures: dict[str, object] = json.loads(run.stdout.strip().splitlines()[-1])
    return figures


def old_source(commit: str, into: Path) -> Path:
    text = subprocess.run(
        ["git", "show", f"{commit}:core/attachments/store.py"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    ).stdout
    path = into / "old_attachments.py"
    path.write_text(text)
    return path


def peak_mib(figures: dict[str, object]) -> float | None:
    if "error" in figures:
        return None
    return (int(str(figures["after_kib"])) - int(str(figures["before_kib"]))) / 1024


def report(name: str, size: int, old: dict[str, object], new: dict[str, object]) -> None:
    old_mib, new_mib = peak_mib(old), peak_mib(new)
    ratio = (
        f"{old_mib / max(new_mib, 0.1):.1f}×"
        if old_mib is not None and new_mib is not None
        else "-"
    )
    print(
        f"{name:<36} {size / 1024:>8.1f} KiB"
        f"  old {_mib(old_mib)} {float(str(old.get('seconds', 0))):5.2f} s"
        f"  new {_mib(new_mib)} {float(str(new.get('seconds', 0))):5.2f} s"
        f"  old/new {ratio:>7}"
    )
    for label, figures in (("old", old), ("new", new)):
        print(f"    {label}: {figures.get('outcome') or figures.get('error')}")


def _mib(value: float | None) -> str:
    return f"{value:7.1f} MiB" if value is not None else "  error    "


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-commit", default=OLD_COMMIT)
    parser.add_argument(
        "--cases", default=",".join(CASES), help="comma-separated: " + ", ".join(CASES)
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-uploads-") as tmp:
        old = old_source(args.old_commit, Path(tmp))
        print(f"peak memory of one thumbnail (VmHWM rise); old = {args.old_commit}, new = tree")
        for name in args.cases.split(","):
            label, build, content_type = CASES[name]
            path = Path(tmp) / name
            path.write_bytes(build())
            old_figures = measure("old", str(old), path, content_type)
            new_figures = measure("new", "", path, content_type)
            report(label, path.stat().st_size, old_figures, new_figures)


if __name__ == "__main__":
    main()
