"""What the personal-information scrubber costs: every log line passes `for_log`, and every
published Open311 request passes `published`.

    .venv/bin/python -m bench.privacy            # 20,000 of each
    .venv/bin/python -m bench.privacy --n 100000

Prints microseconds per call for typical inputs; nothing is asserted.
"""

from __future__ import annotations

import argparse
import timeit

from core.privacy.scrub import for_log, published, redact_log

LOG_EVENTS = {
    "plain": {"event": "case_projected", "ticket": "CL20261202-000123", "seq": "7"},
    "with a phone": {"event": "report_received", "note": "caller 13812345678 at 10:30"},
    "traceback": {"event": "x", "exception": "Traceback\n" + "  File 'core/x.py', line 12\n" * 40},
}
TEXTS = {
    "short description": "宁海路口垃圾堆放两天未清运，气味很大",
    "the issue's sample": "来电人王小明(身份证320102199001011234)投诉楼上住户，颐和路12号3栋502室，"
    "请回复 wang@example.cn 或 13812345678",
    "2,000 characters": "市民反映颐和路路面破损，" * 180,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    n = parser.parse_args().n
    print(f"{'call':<40}{'µs/call':>10}")
    for name, event in LOG_EVENTS.items():
        seconds = timeit.timeit(lambda e=event: redact_log(None, "info", dict(e)), number=n)
        print(f"{'redact_log: ' + name:<40}{seconds / n * 1e6:>10.1f}")
    for name, text in TEXTS.items():
        seconds = timeit.timeit(lambda t=text: published(t), number=n)
        print(f"{'published: ' + name:<40}{seconds / n * 1e6:>10.1f}")
        seconds = timeit.timeit(lambda t=text: for_log(t), number=n)
        print(f"{'for_log: ' + name:<40}{seconds / n * 1e6:>10.1f}")


if __name__ == "__main__":
    main()
