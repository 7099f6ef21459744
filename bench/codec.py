"""The payload codec alone: microseconds to encrypt and decrypt one payload, by size.

Run as ``.venv/bin/python -m bench.codec [--repeat 2000]``. It prints figures and asserts
nothing. The lifecycle bench (``bench.lifecycle --codec on|off``) measures the codec inside the
whole stack, where on a shared host its share drowns in other load; this isolates it. Each
figure is the best of five batches (the least disturbed by other processes), per payload.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter

from core.config import Settings
from core.temporal.codec import codec_from_settings

SIZES_KB = (0.5, 2, 8, 32)


def payload_of(kb: float) -> Payload:
    """A json/plain payload of about `kb` KiB, Chinese text like a case's description."""
    text = "井盖缺失来电人反映" * int(kb * 1024 / 60)
    [payload] = DataConverter.default.payload_converter.to_payloads([{"description": text}])
    return payload


async def best_us(op: object, payloads: list[Payload]) -> float:
    """Best of five batches, in microseconds per payload."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        await op(payloads)  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best / len(payloads) * 1e6


async def main(repeat: int) -> None:
    codec = codec_from_settings(Settings())
    print(f"payload codec (AES-256-GCM), best of 5 batches of {repeat} payloads")
    print(f"  {'payload':>10} {'encrypt µs':>11} {'decrypt µs':>11} {'MiB/s enc+dec':>14}")
    for kb in SIZES_KB:
        plain = payload_of(kb)
        sealed = await codec.encode([plain])
        enc = await best_us(codec.encode, [plain] * repeat)
        dec = await best_us(codec.decode, sealed * repeat)
        rate = plain.ByteSize() / (enc + dec) / 1.048576
        size = f"{plain.ByteSize() / 1024:.1f} KiB"
        print(f"  {size:>10} {enc:>11.1f} {dec:>11.1f} {rate:>14.0f}")
    small = payload_of(0.5)
    added = (await codec.encode([small]))[0].ByteSize() - small.ByteSize()
    print(f"  bytes added per payload: {added} (new metadata, 12-byte nonce, 16-byte tag)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.codec", description=__doc__)
    parser.add_argument("--repeat", type=int, default=2000, help="payloads per batch")
    asyncio.run(main(parser.parse_args().repeat))
