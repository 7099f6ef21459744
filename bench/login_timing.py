"""Login timing: does the time a failed login takes tell an unknown user from a known one?

Run as ``.venv/bin/python -m bench.login_timing [--rounds 30]``. It prints its figures and
asserts nothing.

On a fresh SQLite demo database it times `core.security.authenticate` for a known user with a
wrong password, an unknown user, and a known user with the right password, interleaved round
by round so machine load falls on all three alike. For comparison it also times what an
unknown user cost before the dummy-hash check (the user lookup alone).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlmodel import select

from core.db import make_engine, session_factory, session_scope
from core.demo.seed import prepare_demo_database
from core.models import User
from core.security import tokens as security


def timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        prepare_demo_database(url)
        engine = make_engine(url)
        sessions = session_factory(engine)
        security.dummy_hash()  # as the app's lifespan does

        def attempt(username: str, password: str) -> Callable[[], object]:
            def run() -> object:
                with session_scope(sessions) as session:
                    return security.authenticate(session, username, password)

            return run

        def lookup_only() -> object:
            with session_scope(sessions) as session:
                return session.exec(select(User).where(User.username == "nobody")).first()

        cases = {
            "known user, wrong password": attempt("handler_nhl", "wrong"),
            "unknown user": attempt("nobody", "wrong"),
            "known user, right password": attempt("handler_nhl", "demo1234"),
            "unknown user before (lookup only)": lookup_only,
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, run in cases.items():
                times[name].append(timed(run))
        engine.dispose()
    print(f"authenticate(), {args.rounds} rounds, seconds (median, p90):")
    for name, samples in times.items():
        p90 = statistics.quantiles(samples, n=10)[-1]
        print(f"  {name:36s} {statistics.median(samples):.4f}  {p90:.4f}")
    known = statistics.median(times["known user, wrong password"])
    unknown = statistics.median(times["unknown user"])
    print(f"unknown / known (wrong password): {unknown / known:.2f}")


if __name__ == "__main__":
    main()
