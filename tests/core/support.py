"""Helpers for tests that run the stack's real processes on free ports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
REAL_YML = REPO_ROOT / "temporal-dev.yml"
# Generous: every wait ends as soon as its condition holds, and a loaded 2-core machine
# starting a Temporal server, a worker and a web app can take a while.
PATIENCE = 120.0


def free_port() -> int:
    """Ask the OS for a currently unused TCP port on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_yml(tmp_path: Path, **overrides: object) -> Path:
    """Copy the real config into ``tmp_path`` with ``overrides`` applied."""
    data = yaml.safe_load(REAL_YML.read_text(encoding="utf-8"))
    data.update(overrides)
    path = tmp_path / "temporal-dev.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def wait_for(condition: Callable[[], object], what: str, timeout: float = PATIENCE) -> None:
    """Poll ``condition`` until it is true; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def children_of(pid: int) -> list[int]:
    """The direct children of ``pid`` (Linux)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def cmdline(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


def cityloop(part: str, env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    """Start ``cityloop PART`` from the checkout under test, its output going to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "core.cli.main", part, *args],
            cwd=REPO_ROOT,
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    """Make sure a process a test started is gone (cleanup after a failed assertion)."""
    if process.poll() is None:
        process.kill()
    process.wait()
