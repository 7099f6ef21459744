"""The bridge from the Temporal SDK's metric buffer to Prometheus, fed by a real Runtime."""

from __future__ import annotations

import socket

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from temporalio.runtime import MetricBuffer, MetricBufferDurationFormat, Runtime, TelemetryConfig

from core.metrics import TemporalClientMetrics, worker_runtime


def scrape(registry: CollectorRegistry) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_counters_add_up_gauges_keep_the_last_value_histograms_bucket() -> None:
    buffer = MetricBuffer(1000, MetricBufferDurationFormat.SECONDS)
    meter = Runtime(telemetry=TelemetryConfig(metrics=buffer)).metric_meter
    registry = CollectorRegistry()
    registry.register(TemporalClientMetrics(buffer))

    calls = meter.create_counter("temporal_request", "Calls")
    calls.add(2, {"operation": "Start"})
    calls.add(3, {"operation": "Start"})
    calls.add(1, {"operation": "Describe", "namespace": "cityloop"})
    meter.create_gauge("temporal_slots", "Slots").set(4, {"kind": "activity"})
    latency = meter.create_histogram_float("temporal_request_latency", "Latency", "s")
    latency.record(0.03, {"operation": "Start"})
    latency.record(7.0, {"operation": "Start"})
    first = scrape(registry)
    calls.add(1, {"operation": "Start"})
    meter.create_gauge("temporal_slots", "Slots").set(2, {"kind": "activity"})
    second = scrape(registry)

    sdk = ("service_name", "temporal-core-sdk")  # the SDK labels all its metrics
    start = (("operation", "Start"), sdk)
    assert first[("temporal_request_total", start)] == 5
    assert (
        first[
            ("temporal_request_total", (("namespace", "cityloop"), ("operation", "Describe"), sdk))
        ]
        == 1
    )
    assert first[("temporal_slots", (("kind", "activity"), sdk))] == 4
    assert first[("temporal_request_latency_bucket", (("le", "0.05"), *start))] == 1
    assert first[("temporal_request_latency_bucket", (("le", "10.0"), *start))] == 2
    assert first[("temporal_request_latency_bucket", (("le", "+Inf"), *start))] == 2
    assert first[("temporal_request_latency_count", start)] == 2
    assert abs(first[("temporal_request_latency_sum", start)] - 7.03) < 1e-9
    # A later scrape keeps the running totals: the buffer only holds what came since.
    assert second[("temporal_request_total", start)] == 6
    assert second[("temporal_slots", (("kind", "activity"), sdk))] == 2
    assert second[("temporal_request_latency_count", start)] == 2


def test_a_taken_address_leaves_the_worker_without_an_endpoint() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        assert worker_runtime(address) is None
    assert worker_runtime("") is None
