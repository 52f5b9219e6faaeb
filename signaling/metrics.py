"""The signaling server's Prometheus metrics: every series it exposes, and the /metrics page.

The names, types, labels and help text here are an interface: the alert rules and the Grafana
dashboard in ``examples/deploy/`` query them, and ``tests/docs`` checks both against a real
scrape. prometheus-client writes the page (escaping, number formatting, the exposition
format), so a formatting slip cannot turn into a scrape that Prometheus refuses.

Everything is served by one custom collector, ``SignalingMetrics``, whose ``collect()`` builds
the metric families at scrape time:

- the gauges (connections, rooms, peers) are read from the server's live state through a
  ``Census`` callable, so they can never drift from what they describe;
- the counters and the histogram are plain numbers bumped on the event loop (one thread: no
  lock). prometheus-client's own ``Counter`` and ``Histogram`` would add a ``_created`` series
  to each unless that is switched off for the whole process, and its ``Counter``
  ``signaling_connections_total`` and ``Gauge`` ``signaling_connections`` refuse to share a
  registry (both claim the name ``signaling_connections``).

Each server has its own ``CollectorRegistry``, so several servers in one process (the tests
run many) keep separate counts, and the default registry's process and GC series stay out.

The page is always the text format 0.0.4, whatever the scraper's ``Accept`` asks for: in
OpenMetrics a counter's family name drops ``_total``, so ``signaling_connections_total``
would be a second ``signaling_connections`` family next to the gauge.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import CollectorRegistry
from prometheus_client.utils import floatToGoString

__all__ = ["CONTENT_TYPE", "Census", "Counter", "Histogram", "SignalingMetrics"]

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

# Relay latency is sub-millisecond on one host; the upper buckets catch a stalled event loop.
RELAY_LATENCY_BUCKETS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0,
)  # fmt: skip


@dataclass(frozen=True)
class Census:
    """What this instance holds right now."""

    connections: int
    rooms: int
    peers: int


class Counter:
    """A count per combination of label values."""

    def __init__(self, name: str, help_text: str, label_names: Sequence[str] = ()) -> None:
        self.name = name
        self.help = help_text
        self.label_names = tuple(label_names)
        # An unlabelled counter is exposed from the start, at 0; a labelled one per value seen.
        self._values: dict[tuple[str, ...], float] = {} if self.label_names else {(): 0.0}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        return self._values.get(self._key(labels), 0.0)

    def family(self) -> CounterMetricFamily:
        family = CounterMetricFamily(self.name, self.help, labels=self.label_names)
        for key, value in sorted(self._values.items()):
            family.add_metric(key, value)
        return family

    def _key(self, labels: dict[str, str]) -> tuple[str, ...]:
        return tuple(labels[name] for name in self.label_names)


class Histogram:
    """Observations counted into fixed buckets, with their sum."""

    def __init__(self, name: str, help_text: str, buckets: Sequence[float]) -> None:
        self.name = name
        self.help = help_text
        self.bounds = tuple(sorted(buckets))
        self._counts = [0] * (len(self.bounds) + 1)  # the last one: above every bound
        self._sum = 0.0

    def observe(self, value: float) -> None:
        self._counts[bisect.bisect_left(self.bounds, value)] += 1
        self._sum += value

    def family(self) -> HistogramMetricFamily:
        buckets: list[tuple[str, float]] = []
        cumulative = 0
        for bound, count in zip((*self.bounds, math.inf), self._counts, strict=True):
            cumulative += count
            # The bound written as prometheus-client's own Histogram writes it (1.0, +Inf).
            le: str = floatToGoString(bound)  # type: ignore[no-untyped-call]  # untyped upstream
            buckets.append((le, cumulative))
        return HistogramMetricFamily(self.name, self.help, buckets=buckets, sum_value=self._sum)


class SignalingMetrics:
    """The server's metrics, and the collector that exposes them in its own registry."""

    def __init__(self, census: Callable[[], Census]) -> None:
        self._census = census
        self.connections_total = Counter(
            "signaling_connections_total", "WebSocket connections accepted."
        )
        self.joins = Counter("signaling_joins_total", "Successful joins.")
        self.leaves = Counter("signaling_leaves_total", "Members that left, by reason.", ["reason"])
        self.frames = Counter("signaling_frames_received_total", "Frames received.")
        self.relays = Counter("signaling_relays_total", "Frames relayed, by frame type.", ["type"])
        self.errors = Counter(
            "signaling_errors_total", "Error frames sent, by error code.", ["code"]
        )
        self.relay_latency = Histogram(
            "signaling_relay_latency_seconds",
            "Time from receiving a relay frame to handing it to the recipient's socket.",
            RELAY_LATENCY_BUCKETS,
        )
        self.registry = CollectorRegistry()
        self.registry.register(self)

    def collect(self) -> Iterator[Metric]:
        census = self._census()
        yield GaugeMetricFamily(
            "signaling_connections", "Open WebSocket connections.", census.connections
        )
        yield GaugeMetricFamily(
            "signaling_rooms", "Rooms with members on this instance.", census.rooms
        )
        yield GaugeMetricFamily("signaling_peers", "Joined members on this instance.", census.peers)
        for counter in (
            self.connections_total, self.joins, self.leaves, self.frames, self.relays, self.errors,
        ):  # fmt: skip
            yield counter.family()
        yield self.relay_latency.family()

    def render(self) -> bytes:
        """The /metrics page, in the text format ``CONTENT_TYPE`` names."""
        return generate_latest(self.registry)
