"""Prometheus metrics of one server instance, in its own registry.

Each server has its own registry so that several can run in one process
(the desktop app hosting a room, the tests).
"""

import platform
from collections.abc import Callable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

disable_created_metrics()  # type: ignore[no-untyped-call] # the *_created series only add noise to a scrape

LATENCY_BUCKETS_S = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
"""From a tenth of a millisecond (a join or fan-out on a quiet server) to a second (a stalled disk)."""


class Metrics:
    def __init__(self, version: str) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)
        build = Gauge(
            "voxroom_build_info", "Always 1; what runs, in its labels", ["version", "python"], registry=r
        )
        build.labels(version, platform.python_version()).set(1)
        self.received = 0
        """WebSocket messages received: a plain count, bumped once per message (see ``_Tallies``)."""
        self.delivered = 0
        """Messages written to clients, one per recipient."""
        r.register(_Tallies(self))
        self.chats = Counter("voxroom_chats_persisted", "Chat messages committed and broadcast", registry=r)
        self.errors = Counter("voxroom_errors_sent", "Error messages sent, by code", ["code"], registry=r)
        self.store_failures = Counter("voxroom_store_failures", "Database operations that failed", registry=r)
        self.slow_consumers = Counter(
            "voxroom_slow_consumers_dropped", "Clients dropped for an unsent backlog", registry=r
        )
        self.join_seconds = Histogram(
            "voxroom_join_seconds",
            "From a join read to its joined written",
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.chat_commit_seconds = Histogram(
            "voxroom_chat_commit_seconds",
            "From a chat read to its commit in the database",
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self.fanout_seconds = Histogram(
            "voxroom_fanout_seconds",
            "From a chat's commit to its write to every member",
            buckets=LATENCY_BUCKETS_S,
            registry=r,
        )
        self._gauges: list[Gauge] = []

    def watch(self, name: str, doc: str, read: Callable[[], float]) -> None:
        """A gauge whose value is read when scraped."""
        gauge = Gauge(name, doc, registry=self.registry)
        gauge.set_function(read)
        self._gauges.append(gauge)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Tallies(Collector):
    """The per-message counts, read when scraped.

    ``Counter.inc`` takes a lock (~0.3 µs, twice per relayed signal, on the
    path before its write); these are bumped on the loop's thread only, which
    is also where a scrape reads them.
    """

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[CounterMetricFamily]:
        m = self._metrics
        yield CounterMetricFamily("voxroom_messages_received", "WebSocket messages received", m.received)
        yield CounterMetricFamily("voxroom_messages_delivered", "Messages written to clients", m.delivered)
