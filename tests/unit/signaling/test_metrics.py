"""The /metrics page: the series the alert rules and the dashboard read, and their values."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ifmesh.signaling.metrics import Census, SignalingMetrics

# The families as a scraper sees them (# TYPE name type, # HELP name text). Renaming one breaks
# the alert rules and the Grafana dashboard in examples/deploy/.
FAMILIES = {
    "signaling_connections": ("gauge", "Open WebSocket connections."),
    "signaling_rooms": ("gauge", "Rooms with members on this instance."),
    "signaling_peers": ("gauge", "Joined members on this instance."),
    "signaling_connections_total": ("counter", "WebSocket connections accepted."),
    "signaling_joins_total": ("counter", "Successful joins."),
    "signaling_leaves_total": ("counter", "Members that left, by reason."),
    "signaling_frames_received_total": ("counter", "Frames received."),
    "signaling_relays_total": ("counter", "Frames relayed, by frame type."),
    "signaling_errors_total": ("counter", "Error frames sent, by error code."),
    "signaling_relay_latency_seconds": (
        "histogram",
        "Time from receiving a relay frame to handing it to the recipient's socket.",
    ),
}

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def _metrics() -> SignalingMetrics:
    return SignalingMetrics(lambda: Census(connections=0, rooms=0, peers=0))


def _families(page: str) -> dict[str, tuple[str, str]]:
    types, helps = {}, {}
    for line in page.splitlines():
        if line.startswith("# TYPE "):
            name, kind = line.removeprefix("# TYPE ").split(" ", 1)
            types[name] = kind
        elif line.startswith("# HELP "):
            name, text = line.removeprefix("# HELP ").split(" ", 1)
            helps[name] = text
    assert types.keys() == helps.keys()
    return {name: (types[name], helps[name]) for name in types}


def _samples(metrics: SignalingMetrics) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(metrics.render().decode())
        for sample in family.samples
    }


def test_the_page_exposes_the_families_the_deploy_examples_read() -> None:
    metrics = _metrics()
    metrics.leaves.inc(reason="left")
    metrics.relays.inc(type="offer")
    metrics.errors.inc(code="bad_json")
    metrics.relay_latency.observe(0.001)
    page = metrics.render().decode()
    assert _families(page) == FAMILIES
    # Counters keep their _total names, and no _created series is added beside them.
    assert {name for name, _ in _samples(metrics)} == {
        name for name, (kind, _) in FAMILIES.items() if kind != "histogram"
    } | {f"signaling_relay_latency_seconds{suffix}" for suffix in ("_bucket", "_sum", "_count")}


def test_counters_count_per_label_value_and_escape_it() -> None:
    metrics = _metrics()
    metrics.errors.inc(code="rate_limited")
    metrics.errors.inc(2, code='odd"\n\\')
    metrics.joins.inc()
    samples = _samples(metrics)
    assert samples["signaling_errors_total", frozenset({("code", "rate_limited")})] == 1
    assert samples["signaling_errors_total", frozenset({("code", 'odd"\n\\')})] == 2
    assert samples["signaling_joins_total", frozenset()] == 1
    assert samples["signaling_frames_received_total", frozenset()] == 0  # there before any frame
    assert metrics.errors.value(code="rate_limited") == 1
    assert metrics.errors.value(code="never_sent") == 0


def test_histogram_buckets_are_cumulative() -> None:
    metrics = _metrics()
    for value in (0.00005, 0.005, 0.005, 2.0):
        metrics.relay_latency.observe(value)
    samples = _samples(metrics)

    def bucket(le: str) -> float:
        return samples["signaling_relay_latency_seconds_bucket", frozenset({("le", le)})]

    assert (bucket("0.0001"), bucket("0.005"), bucket("1.0"), bucket("+Inf")) == (1, 3, 3, 4)
    assert samples["signaling_relay_latency_seconds_count", frozenset()] == 4
    assert samples["signaling_relay_latency_seconds_sum", frozenset()] == pytest.approx(2.01005)


def test_gauges_read_live_state_at_scrape_time() -> None:
    state = {"connections": 1}
    metrics = SignalingMetrics(lambda: Census(state["connections"], rooms=2, peers=3))
    assert _samples(metrics)["signaling_connections", frozenset()] == 1
    state["connections"] = 7
    samples = _samples(metrics)
    assert samples["signaling_connections", frozenset()] == 7
    assert samples["signaling_rooms", frozenset()] == 2
    assert samples["signaling_peers", frozenset()] == 3


def test_servers_in_one_process_keep_their_own_counts() -> None:
    first, second = _metrics(), _metrics()
    first.joins.inc(3)
    assert _samples(first)["signaling_joins_total", frozenset()] == 3
    assert _samples(second)["signaling_joins_total", frozenset()] == 0
