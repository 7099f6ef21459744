"""What the benchmarks share: an embedded Temporal server on fresh ports, a seeded read model,
and memory readings from /proc.
"""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

from core.db import make_engine, migrate, session_factory, session_scope
from core.demo import seed_demo
from core.devstack import DevStackConfig

ROOT = Path(__file__).resolve().parent.parent


def free_ports(host: str, count: int) -> list[int]:
    """Ports nobody listens on right now (held open together so they are distinct)."""
    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def embedded_config(tmp: Path) -> DevStackConfig:
    """temporal-dev.yml with fresh ports and the database in ``tmp`` (pragmas etc. kept)."""
    base = DevStackConfig.load(ROOT / "temporal-dev.yml")
    port, ui_port = free_ports(base.ip, 2)
    return dataclasses.replace(base, port=port, ui_port=ui_port, db_file=tmp / "temporal.db")


def prepare_read_model(url: str) -> None:
    migrate(url)
    engine = make_engine(url)
    with session_scope(session_factory(engine)) as session:
        seed_demo(session)
    engine.dispose()


def rss_mib(pid: int | None) -> float:
    """Resident memory of a process, in MiB (0 if it is gone)."""
    if pid is None:
        return 0.0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
