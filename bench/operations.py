"""What operators see of a running stack: probe latency, scrape sizes, stop and crash times.

Starts `cityloop run` (demo data) in a temp dir on free ports, drives N cases through intake
and accept over the JSON API, then prints:

- `/healthz` and `/readyz` latency (median of 20), the web app's and the worker's `/metrics`
  size and scrape time (median of 10), and the projection lag the worker observed;
- how long `cityloop run` takes from SIGTERM to exit 0, and the worker's own drain time;
- after a second start, how long from SIGKILL of `cityloop run` until its three children are
  gone and every port is free.

    .venv/bin/python -m bench.operations --cases 20
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import select

from core.db import make_engine, session_factory, session_scope
from core.devstack import port_open
from core.lifeline import running
from core.models import User
from core.security.tokens import mint_token

ROOT = Path(__file__).resolve().parent.parent
CASE = {
    "title": "湖南路暴露垃圾",
    "category": "exposed_garbage",
    "location_unit_id": "gl-nhl-c1-g2",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stack_env(tmp: Path) -> dict[str, str]:
    data = yaml.safe_load((ROOT / "temporal-dev.yml").read_text(encoding="utf-8"))
    data.update(port=free_port(), ui_port=free_port(), db_file=str(tmp / "temporal.db"))
    (tmp / "temporal-dev.yml").write_text(yaml.safe_dump(data), encoding="utf-8")
    return {
        "CITYLOOP_DEV_STACK_FILE": str(tmp / "temporal-dev.yml"),
        "CITYLOOP_DATABASE_URL": f"sqlite:///{tmp / 'cityloop.db'}",
        "CITYLOOP_WEB_PORT": str(free_port()),
        "CITYLOOP_WORKER_METRICS_ADDRESS": f"127.0.0.1:{free_port()}",
        "CITYLOOP_ATTACHMENT_DIR": str(tmp / "attachments"),
        "CITYLOOP_ENV": "production",
    }


def ports(env: dict[str, str]) -> list[int]:
    data = yaml.safe_load(Path(env["CITYLOOP_DEV_STACK_FILE"]).read_text(encoding="utf-8"))
    worker = int(env["CITYLOOP_WORKER_METRICS_ADDRESS"].rsplit(":", 1)[1])
    return [data["port"], data["ui_port"], int(env["CITYLOOP_WEB_PORT"]), worker]


def start(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], list[int], float]:
    began = time.monotonic()
    with log.open("ab") as out:
        run = subprocess.Popen(
            [sys.executable, "-m", "core.cli.main", "run"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    web = f"http://127.0.0.1:{env['CITYLOOP_WEB_PORT']}"
    while not (ready(web) and port_open("127.0.0.1", ports(env)[3])):
        if run.poll() is not None:
            sys.exit(f"cityloop run exited with {run.returncode}; see {log}")
        time.sleep(0.2)
    children = [
        int(pid)
        for task in Path(f"/proc/{run.pid}/task").iterdir()
        for pid in (task / "children").read_text().split()
    ]
    return run, children, time.monotonic() - began


def ready(web: str) -> bool:
    try:
        return httpx.get(f"{web}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def median_ms(url: str, times: int) -> tuple[float, int]:
    """Median latency in ms and the body size of the last answer."""
    took, size = [], 0
    for _ in range(times):
        began = time.perf_counter()
        answer = httpx.get(url, timeout=10)
        took.append((time.perf_counter() - began) * 1000)
        size = len(answer.content)
    return statistics.median(took), size


def token(db_url: str, username: str) -> dict[str, str]:
    engine = make_engine(db_url)
    with session_scope(session_factory(engine)) as session:
        user = session.exec(select(User).where(User.username == username)).one()
        value = mint_token(session, user)
    engine.dispose()
    return {"Authorization": f"Bearer {value}"}


def drive(web: str, db_url: str, cases: int) -> None:
    op, handler = token(db_url, "operator1"), token(db_url, "handler_nhl")
    with httpx.Client(base_url=web, timeout=60) as http:
        for _ in range(cases):
            ticket = http.post("/api/v1/cases", json=CASE, headers=op).json()["ticket"]
            http.post(f"/api/v1/cases/{ticket}/actions/accept", json={}, headers=handler)


def lag(worker: str) -> str:
    text = httpx.get(f"http://{worker}/metrics", timeout=10).text
    found = {
        s.name: s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("cityloop_projection_lag_seconds_")
        and s.name != "cityloop_projection_lag_seconds_bucket"
    }
    count = found.get("cityloop_projection_lag_seconds_count", 0)
    mean = found.get("cityloop_projection_lag_seconds_sum", 0) / count if count else 0
    return f"{count:.0f} projections, mean lag {mean * 1000:.0f} ms"


def drain_s(log: Path) -> str:
    stopped = [line for line in log.read_text().splitlines() if '"worker_stopped"' in line]
    return json.loads(stopped[-1]).get("drain_s", "?") if stopped else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cityloop-ops-") as name:
        tmp = Path(name)
        env, log = stack_env(tmp), tmp / "run.log"
        web, worker = (
            f"http://127.0.0.1:{env['CITYLOOP_WEB_PORT']}",
            env["CITYLOOP_WORKER_METRICS_ADDRESS"],
        )
        run, children, took = start(env, log)
        print(f"cityloop run ready (demo data seeded) in {took:.1f} s, children {children}")
        drive(web, env["CITYLOOP_DATABASE_URL"], args.cases)
        for what, url in (
            ("/healthz", f"{web}/healthz"),
            ("/readyz", f"{web}/readyz"),
            ("web /metrics", f"{web}/metrics"),
            ("worker /metrics", f"http://{worker}/metrics"),
        ):
            ms, size = median_ms(url, 20 if "z" in what[-2:] else 10)
            print(f"{what:16} median {ms:6.1f} ms, {size} bytes")
        print(f"worker: {lag(worker)} after {args.cases} cases (intake + accept)")

        began = time.monotonic()
        run.send_signal(signal.SIGTERM)
        code = run.wait()
        took = time.monotonic() - began
        print(f"SIGTERM → exit {code} in {took:.1f} s (worker drain {drain_s(log)} s)")

        run, children, took = start(env, log)
        print(f"second start on the same files in {took:.1f} s")
        began = time.monotonic()
        run.kill()
        run.wait()
        while any(running(p) for p in children) or any(
            port_open("127.0.0.1", p) for p in ports(env)
        ):
            time.sleep(0.05)
        print(f"SIGKILL → 3 children gone, 4 ports free in {time.monotonic() - began:.1f} s")


if __name__ == "__main__":
    main()
