"""What the benchmarks share: an embedded Temporal server on fresh ports, and memory readings
from /proc. (The read model is prepared by core.demo.prepare_demo_database.)
"""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

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
