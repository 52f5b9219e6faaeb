"""The Prometheus text exposition the server renders."""

from __future__ import annotations

from ifmesh.signaling.metrics import Counter, Histogram, SignalingMetrics


def test_counter_with_labels_renders_sorted_escaped_samples() -> None:
    counter = Counter("x_total", "Things.", ["code"])
    counter.inc(code="b")
    counter.inc(2, code='a"\n')
    lines = list(counter.render())
    assert lines == [
        "# HELP x_total Things.",
        "# TYPE x_total counter",
        'x_total{code="a\\"\\n"} 2',
        'x_total{code="b"} 1',
    ]


def test_histogram_buckets_are_cumulative() -> None:
    histogram = Histogram("lat_seconds", "Latency.", [0.001, 0.01])
    for value in (0.0005, 0.005, 0.005, 2.0):
        histogram.observe(value)
    lines = list(histogram.render())
    assert 'lat_seconds_bucket{le="0.001"} 1' in lines
    assert 'lat_seconds_bucket{le="0.01"} 3' in lines
    assert 'lat_seconds_bucket{le="+Inf"} 4' in lines
    assert "lat_seconds_count 4" in lines
    assert "lat_seconds_sum 2.0105" in lines


def test_gauges_read_live_state_at_scrape_time() -> None:
    state = {"connections": 1}
    metrics = SignalingMetrics(
        connections=lambda: state["connections"], rooms=lambda: 0, peers=lambda: 0
    )
    assert "signaling_connections 1\n" in metrics.render()
    state["connections"] = 7
    text = metrics.render()
    assert "signaling_connections 7\n" in text
    assert "# TYPE signaling_relay_latency_seconds histogram" in text
