"""The distance the duplicate check measures with."""

from __future__ import annotations

import math

from core.intake.dedup import distance_m


def test_distance_is_metric_within_a_city() -> None:
    north = 32.0 + 100 / 111_195  # 100 m north of (32.0, 118.8)
    assert math.isclose(distance_m(32.0, 118.8, north, 118.8), 100, rel_tol=1e-3)
    east = 118.8 + 100 / (111_195 * math.cos(math.radians(32.0)))
    assert math.isclose(distance_m(32.0, 118.8, 32.0, east), 100, rel_tol=1e-3)
    assert distance_m(32.0, 118.8, 32.0, 118.8) == 0
