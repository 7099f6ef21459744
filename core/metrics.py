"""Prometheus metrics: the app's own, and the Temporal SDK's (its Runtime telemetry).

The web app serves `/metrics` from prometheus_client's registry: case actions and intake by
outcome, action latency, and the Temporal client's own metrics (`temporal_request`,
`temporal_request_latency` …), which the SDK's Runtime records into a MetricBuffer that
:class:`TemporalClientMetrics` drains into the registry. The worker serves its own endpoint
from the SDK's Prometheus exporter (worker metrics: task slots, poll and execution latencies)
plus `cityloop_projection_lag_seconds`, recorded through the same Runtime.
"""

from __future__ import annotations

import asyncio
import bisect
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, wraps
from itertools import accumulate
from typing import Any, TypeVar

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString
from temporalio import activity
from temporalio.runtime import (
    BUFFERED_METRIC_KIND_COUNTER,
    BUFFERED_METRIC_KIND_GAUGE,
    MetricBuffer,
    MetricBufferDurationFormat,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
)

from core.errors import CaseError, IntakePending
from core.logs import get_logger
from workflows.contracts import Action, CaseEvent

# Seconds: a case action answers in tens of milliseconds; a slow routing or a stalled
# server shows in the upper buckets. Temporal's long polls last up to a minute.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
PROJECTION_LAG = "cityloop_projection_lag_seconds"

ACTIONS = Counter(
    "cityloop_actions",
    "Case actions (workflow updates) answered, by outcome",
    ["action", "outcome"],
)
ACTION_SECONDS = Histogram(
    "cityloop_action_seconds",
    "Time to answer a case action, refusals included",
    ["action", "outcome"],
    buckets=LATENCY_BUCKETS,
)
INTAKE = Counter(
    "cityloop_intake", "Reports taken in, by channel and outcome", ["channel", "outcome"]
)
_ACTION_NAMES = frozenset(a.value for a in Action)
log = get_logger("cityloop.metrics")


def outcome_of(err: BaseException) -> str:
    """`refused` (the caller's fault), `unavailable` (a dependency down), `pending` (started,
    routing not answered yet: 202), `cancelled` (the caller went away) or `error`."""
    if isinstance(err, IntakePending):
        return "pending"
    if isinstance(err, asyncio.CancelledError):
        return "cancelled"
    if isinstance(err, CaseError):
        return "unavailable" if err.status == 503 else "refused" if err.status < 500 else "error"
    return "error"


@contextmanager
def action(name: str) -> Iterator[None]:
    """Count and time one case action by its outcome."""
    label = name if name in _ACTION_NAMES else "unknown"  # a client's typo adds no series
    started, outcome = time.perf_counter(), "ok"
    try:
        yield
    except BaseException as err:
        outcome = outcome_of(err)
        raise
    finally:
        ACTIONS.labels(label, outcome).inc()
        ACTION_SECONDS.labels(label, outcome).observe(time.perf_counter() - started)


R = TypeVar("R")
Submit = Callable[..., Coroutine[Any, Any, R]]


def counted_intake(submit: Submit[R]) -> Submit[R]:
    """Decorate `IntakeService.submit`: count each report by channel and outcome."""

    @wraps(submit)
    async def counted(service: Any, actor: Any, req: Any, **options: Any) -> R:
        try:
            result = await submit(service, actor, req, **options)
        except BaseException as err:
            INTAKE.labels(req.channel, outcome_of(err)).inc()
            raise
        INTAKE.labels(req.channel, "merged" if getattr(result, "merged", False) else "opened").inc()
        return result

    return counted


def projection_lag(events: Sequence[CaseEvent]) -> None:
    """In the projection activity: observe now − the newest projected event's time."""
    if not events or not activity.in_activity():
        return
    lag = (datetime.now(UTC) - max(e.at for e in events)).total_seconds()
    histogram = activity.metric_meter().create_histogram_float(
        PROJECTION_LAG, "Time from a case event to its row in the read model", "s"
    )
    histogram.record(max(lag, 0.0))


def worker_runtime(bind_address: str) -> Runtime | None:
    """The worker's Temporal runtime: SDK metrics and the projection lag on `bind_address`.

    None without an address, or when it is taken (a second worker on the machine, say): the
    worker then runs without an endpoint rather than not at all, and says so in the log.
    """
    if not bind_address:
        return None
    prometheus = PrometheusConfig(
        bind_address=bind_address,
        counters_total_suffix=True,  # as prometheus_client names them on the web app's /metrics
        durations_as_seconds=True,
        histogram_bucket_overrides={PROJECTION_LAG: list(LAG_BUCKETS)},
    )
    try:
        return Runtime(telemetry=TelemetryConfig(metrics=prometheus))
    except ValueError as err:  # the exporter could not bind
        log.error("worker_metrics_unavailable", address=bind_address, error=str(err))
        return None


@cache
def client_runtime() -> Runtime:
    """The web process's Temporal runtime, its client metrics bridged into `/metrics`.

    One per process: a Runtime owns a thread pool, and the collector registers once.
    """
    buffer = MetricBuffer(100_000, MetricBufferDurationFormat.SECONDS)
    runtime = Runtime(telemetry=TelemetryConfig(metrics=buffer))
    bridge = TemporalClientMetrics(buffer)
    REGISTRY.register(bridge)
    # Drained between scrapes too: a full buffer drops updates (the SDK logs an error).
    threading.Thread(target=bridge.drain_forever, name="temporal-metrics", daemon=True).start()
    return runtime


Labels = tuple[tuple[str, str], ...]


@dataclass
class _Histogram:
    buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    total: float = 0.0

    def observe(self, value: float) -> None:
        self.buckets[bisect.bisect_left(LATENCY_BUCKETS, value)] += 1
        self.total += value

    def cumulative(self) -> list[tuple[str, float]]:
        bounds = [*map(floatToGoString, LATENCY_BUCKETS), "+Inf"]
        return list(zip(bounds, accumulate(self.buckets), strict=True))


class TemporalClientMetrics(Collector):
    """The Temporal SDK's buffered metric updates, kept as Prometheus counters/gauges/histograms.

    The buffer holds deltas (counters) and single observations (histograms); Prometheus wants
    running totals, kept here per metric and label set. Label sets differ within one metric
    (`GetSystemInfo` has no namespace), which Prometheus allows: an absent label is empty.
    """

    def __init__(self, buffer: MetricBuffer, *, every: float = 1.0) -> None:
        self._buffer, self._every = buffer, every
        self._lock = threading.Lock()
        self._kinds: dict[str, tuple[int, str]] = {}  # name -> (kind, help)
        self._values: dict[str, dict[Labels, float]] = {}
        self._histograms: dict[str, dict[Labels, _Histogram]] = {}

    def drain(self) -> None:
        with self._lock:
            for update in self._buffer.retrieve_updates():
                metric = update.metric
                labels = tuple(sorted((k, str(v)) for k, v in update.attributes.items()))
                self._kinds.setdefault(metric.name, (metric.kind, metric.description or ""))
                if metric.kind == BUFFERED_METRIC_KIND_COUNTER:
                    series = self._values.setdefault(metric.name, {})
                    series[labels] = series.get(labels, 0.0) + update.value
                elif metric.kind == BUFFERED_METRIC_KIND_GAUGE:
                    self._values.setdefault(metric.name, {})[labels] = update.value
                else:
                    series_h = self._histograms.setdefault(metric.name, {})
                    series_h.setdefault(labels, _Histogram()).observe(update.value)

    def drain_forever(self) -> None:
        while True:
            time.sleep(self._every)
            self.drain()

    def collect(self) -> Iterable[Metric]:
        self.drain()
        with self._lock:
            return list(self._families())

    def _families(self) -> Iterator[Metric]:
        for name, (kind, doc) in self._kinds.items():
            if kind == BUFFERED_METRIC_KIND_COUNTER:
                yield _family(CounterMetricFamily, name, doc, self._values[name].items())
            elif kind == BUFFERED_METRIC_KIND_GAUGE:
                yield _family(GaugeMetricFamily, name, doc, self._values[name].items())
            else:
                family = HistogramMetricFamily(name, doc)
                for labels, hist in self._histograms[name].items():
                    for bound, count in hist.cumulative():
                        family.add_sample(name + "_bucket", {**dict(labels), "le": bound}, count)
                    family.add_sample(name + "_count", dict(labels), sum(hist.buckets))
                    family.add_sample(name + "_sum", dict(labels), hist.total)
                yield family


def _family(
    kind: type[CounterMetricFamily] | type[GaugeMetricFamily],
    name: str,
    doc: str,
    series: Iterable[tuple[Labels, float]],
) -> Metric:
    family = kind(name, doc)
    suffix = "_total" if kind is CounterMetricFamily else ""
    for labels, value in series:
        family.add_sample(name + suffix, dict(labels), value)
    return family
