"""Prometheus metrics of the signaling server, rendered in the text exposition format 0.0.4.

Hand-written (counters, gauges, one histogram) to avoid a dependency for ~100 lines. Gauges
that mirror live state (connections, rooms, peers) are read through callables at scrape time,
so they can never drift from the state they describe.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

__all__ = ["Counter", "Gauge", "Histogram", "Registry", "SignalingMetrics"]

Labels = tuple[tuple[str, str], ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Labels, extra: Labels = ()) -> str:
    pairs = labels + extra
    if not pairs:
        return ""
    return "{" + ",".join(f'{key}="{_escape(value)}"' for key, value in pairs) + "}"


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


class Counter:
    def __init__(self, name: str, help_text: str, label_names: Sequence[str] = ()) -> None:
        self.name = name
        self.help = help_text
        self.label_names = tuple(label_names)
        self._values: dict[Labels, float] = {}
        if not self.label_names:
            self._values[()] = 0.0

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = tuple((name, labels[name]) for name in self.label_names)
        self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        return self._values.get(tuple((name, labels[name]) for name in self.label_names), 0.0)

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} counter"
        for key, value in sorted(self._values.items()):
            yield f"{self.name}{_labels(key)} {_number(value)}"


class Gauge:
    """A value read at scrape time from the state it describes."""

    def __init__(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        self.name = name
        self.help = help_text
        self._read = read

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} gauge"
        yield f"{self.name} {_number(self._read())}"


class Histogram:
    def __init__(self, name: str, help_text: str, buckets: Sequence[float]) -> None:
        self.name = name
        self.help = help_text
        self.bounds = tuple(sorted(buckets))
        self._counts = [0] * len(self.bounds)
        self._sum = 0.0
        self._count = 0

    def observe(self, value: float) -> None:
        self._sum += value
        self._count += 1
        for index, bound in enumerate(self.bounds):
            if value <= bound:
                self._counts[index] += 1
                break

    @property
    def count(self) -> int:
        return self._count

    def render(self) -> Iterable[str]:
        yield f"# HELP {self.name} {self.help}"
        yield f"# TYPE {self.name} histogram"
        cumulative = 0
        for bound, count in zip(self.bounds, self._counts, strict=True):
            cumulative += count
            yield f"{self.name}_bucket{_labels((('le', _number(bound)),))} {cumulative}"
        yield f'{self.name}_bucket{{le="+Inf"}} {self._count}'
        yield f"{self.name}_sum {_number(self._sum)}"
        yield f"{self.name}_count {self._count}"


_M = TypeVar("_M", Counter, Gauge, Histogram)


class Registry:
    def __init__(self) -> None:
        self._metrics: list[Counter | Gauge | Histogram] = []

    def add(self, metric: _M) -> _M:
        self._metrics.append(metric)
        return metric

    def render(self) -> str:
        return "\n".join(line for metric in self._metrics for line in metric.render()) + "\n"


class SignalingMetrics:
    """The server's metrics; live gauges read the server's state through the callables."""

    def __init__(
        self,
        *,
        connections: Callable[[], float],
        rooms: Callable[[], float],
        peers: Callable[[], float],
    ) -> None:
        self.registry = Registry()
        add = self.registry.add
        add(Gauge("signaling_connections", "Open WebSocket connections.", connections))
        add(Gauge("signaling_rooms", "Rooms with members on this instance.", rooms))
        add(Gauge("signaling_peers", "Joined members on this instance.", peers))
        self.connections_total = add(
            Counter("signaling_connections_total", "WebSocket connections accepted.")
        )
        self.joins = add(Counter("signaling_joins_total", "Successful joins."))
        self.leaves = add(
            Counter("signaling_leaves_total", "Members that left, by reason.", ["reason"])
        )
        self.frames = add(Counter("signaling_frames_received_total", "Frames received."))
        self.relays = add(
            Counter("signaling_relays_total", "Frames relayed, by frame type.", ["type"])
        )
        self.errors = add(
            Counter("signaling_errors_total", "Error frames sent, by error code.", ["code"])
        )
        self.relay_latency = add(
            Histogram(
                "signaling_relay_latency_seconds",
                "Time from receiving a relay frame to handing it to the recipient's socket.",
                [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0],
            )
        )

    def render(self) -> str:
        return self.registry.render()
