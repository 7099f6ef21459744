"""What the monthly sums (`case_fact_months`, core/measures/rollup.py) cost the projection.

Run as ``.venv/bin/python -m bench.projection [--cases 300] [--database-url URL]``. It prints
figures and asserts nothing. On a seeded database (a fresh SQLite file unless a URL is given)
it projects each case's intake batch (receive, register, dispatch) through
`CaseActivities.write_case` and then writes the same case again (a re-projection, as a retry or
the next batch does), once with the monthly sums kept and once with them switched off,
alternating the two so that both see the same load and the same table sizes.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

from activities.case import CaseActivities
from bench.notify import batch, summary, timed
from core.db import make_engine, session_factory
from core.demo.seed import prepare_demo_database
from core.measures import rollup


def project(url: str, cases: int) -> tuple[list[float], list[float]]:
    """ms per write (first and again) with the sums, and without."""
    acts = CaseActivities(session_factory(make_engine(url)))
    of_cases, apply = rollup.of_cases, rollup.apply
    with_ms: list[float] = []
    without_ms: list[float] = []
    for n in range(cases):
        inp = batch(n)
        if n % 2:
            rollup.of_cases = lambda *_a, **_k: {}  # type: ignore[assignment]
            rollup.apply = _nothing  # type: ignore[assignment]
            without_ms += [timed(acts.write_case, inp), timed(acts.write_case, inp)]
            rollup.of_cases, rollup.apply = of_cases, apply  # type: ignore[assignment]
        else:
            with_ms += [timed(acts.write_case, inp), timed(acts.write_case, inp)]
    return with_ms, without_ms


def _nothing(*_a: Any, **_k: Any) -> None:
    return None


def main(cases: int, url: str) -> None:
    if not url:
        url = f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-projection-')) / 'bench.db'}"
    prepare_demo_database(url)
    with_ms, without_ms = project(url, cases)
    print(f"projection writes (intake batch, then again), {cases} cases, {url.split(':')[0]}")
    print(summary("with sums", with_ms))
    print(summary("without sums", without_ms))
    print(f"  ratio of medians {statistics.median(with_ms) / statistics.median(without_ms):.2f}")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=300)
    p.add_argument("--database-url", default="")
    args = p.parse_args()
    main(args.cases, args.database_url)
