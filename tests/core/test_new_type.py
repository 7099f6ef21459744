"""`cityloop new-type NAME` in a copy of the repository: a bad or taken name is refused with
exit 2 and nothing changed; a fresh name gets a type whose own lifecycle test passes at once
(API start, deadline, the generic action route, its pages), and no file outside its own
folders but the registry changes."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working tree's tracked files, copied (the venv is this interpreter's)."""
    target = tmp_path_factory.mktemp("repo")
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file() and not source.is_symlink():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(source.read_bytes())
    return target


def run(root: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [sys.executable, *args], cwd=root, env=env, capture_output=True, text=True, timeout=timeout
    )


def new_type(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run(root, "-m", "core.cli.main", "new-type", *args)


def digests(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): _digest(p) for p in _files(root)}


def _files(root: Path) -> Iterator[Path]:
    return (p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("RoadClosure", "not a type name"),
        ("road-closure", "not a type name"),
        ("9lives", "not a type name"),
        ("class", "not a type name"),
        ("major_event", "exists already"),
        ("cases", "would overwrite or shadow"),  # core/cases/, web/cases/
        ("login", "serves already"),  # /login is a page of the app
    ],
)
def test_a_bad_or_taken_name_is_refused_and_nothing_changes(
    copy: Path, name: str, says: str
) -> None:
    before = digests(copy)
    done = new_type(copy, name)
    assert done.returncode == 2, done.stdout + done.stderr
    assert says in done.stderr
    assert digests(copy) == before


def test_a_clashing_ticket_prefix_is_refused(copy: Path) -> None:
    before = digests(copy)
    done = new_type(copy, "mass_evacuation", "--ticket-prefix", "ME-")  # major_event's ME
    assert done.returncode == 2 and "--ticket-prefix" in done.stderr
    assert digests(copy) == before


def test_a_scaffolded_type_runs_its_lifecycle_at_once(copy: Path) -> None:
    name = f"probe_{uuid.uuid4().hex[:6]}"
    before = digests(copy)
    done = new_type(copy, name, "--label", "探测")
    assert done.returncode == 0, done.stdout + done.stderr

    after = digests(copy)
    changed = {p for p in after if before.get(p) != after[p]}
    outside = {p for p in changed if not _own(p, name)}
    assert outside == {"workflows/registry.py"}
    test = f"tests/workflows/test_{name}.py"
    assert test in changed

    tested = run(copy, "-m", "pytest", "-q", "-p", "no:cacheprovider", test, timeout=300)
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-3000:]
    assert "1 passed" in tested.stdout


def _own(path: str, name: str) -> bool:
    """A file in the new type's own folders (or its own module and test)."""
    folders = (f"workflows/{name}/", f"core/{name}/", f"web/{name}/")
    return path.startswith(folders) or path in (
        f"activities/{name}.py",
        f"tests/workflows/test_{name}.py",
    )
