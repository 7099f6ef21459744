"""Every module of the app imports on its own, in an interpreter that has imported nothing of
the project before it: an import cycle shows up here as an ImportError, not in production's
first entry point that happens to import another module first.

One interpreter per module would take minutes; instead one fresh interpreter imports the
third-party libraries only, then forks a child per module. A child starts with none of the
project's modules loaded, as a fresh interpreter would, and pays only for the project's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("workflows", "activities", "api", "web", "core")
# Alembic runs these as scripts, by path, inside its own context.
PARALLEL = max(2, min(4, os.cpu_count() or 2))
SKIPPED = ("core.migrations.env", "core.migrations.versions.")

# Runs in the fresh interpreter: warm up third-party code, then import each module in a fork.
FORK_SERVER = r"""
import importlib, json, os, signal, sys, traceback
for lib in ("temporalio.client", "temporalio.worker", "temporalio.workflow", "temporalio.testing",
            "fastapi", "sqlmodel", "sqlalchemy", "pydantic", "pydantic_settings", "structlog",
            "jinja2", "jinja2_fragments", "PIL.Image", "typer", "httpx", "starlette", "yaml"):
    try:
        importlib.import_module(lib)
    except ImportError:
        pass
assert not [m for m in sys.modules if m.split(".")[0] in LAYERS], "the server imported the app"
failures, running, queue = {}, {}, list(reversed(sys.argv[1:]))


def start(name):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        signal.alarm(60)  # an import that hangs fails by itself, not the whole test
        try:
            importlib.import_module(name)
            message = b""
        except BaseException:
            message = traceback.format_exc(limit=6).encode()
        os.write(write, message[-4000:])  # within a pipe's buffer: never blocks
        os._exit(0)
    os.close(write)
    running[pid] = (name, read)


while queue or running:
    while queue and len(running) < PARALLEL:
        start(queue.pop())
    pid, status = os.wait()
    name, read = running.pop(pid)
    with os.fdopen(read, "rb") as pipe:
        message = pipe.read()
    if message or status:
        failures[name] = message.decode(errors="replace") or f"exit status {status}"
print(json.dumps(failures))
"""


def modules() -> list[str]:
    found = []
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            if not name.startswith(SKIPPED):
                found.append(name)
    return found


def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    names = modules()
    assert len(names) > 100
    code = f"LAYERS = {LAYERS!r}\nPARALLEL = {PARALLEL}\n{FORK_SERVER}"
    done = subprocess.run(
        [sys.executable, "-c", code, *names],
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=600,  # a guard against a hang, not a speed check: a loaded machine is slow
        check=True,
    )
    failures = json.loads(done.stdout.strip().splitlines()[-1])
    assert failures == {}, "\n\n".join(f"{name}:\n{tb}" for name, tb in failures.items())
