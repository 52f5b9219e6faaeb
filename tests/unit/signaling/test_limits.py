"""The token bucket meters frames by the `now` it is given; limits refuse nonsense values."""

from __future__ import annotations

import pytest

from ifmesh.signaling.config import ServerConfig, is_loopback
from ifmesh.signaling.errors import ConfigError
from ifmesh.signaling.limits import ServerLimits, TokenBucket


def test_bucket_allows_the_burst_then_the_rate() -> None:
    bucket = TokenBucket(rate=10.0, burst=5, now=100.0)
    assert [bucket.take(100.0) for _ in range(6)] == [True] * 5 + [False]
    assert bucket.retry_after() == pytest.approx(0.1)
    assert not bucket.take(100.05)
    assert bucket.take(100.125)  # refilled at `rate` tokens per second
    assert not bucket.take(100.125)


def test_bucket_refills_no_higher_than_the_burst() -> None:
    bucket = TokenBucket(rate=10.0, burst=3, now=0.0)
    for _ in range(3):
        assert bucket.take(0.0)
    assert [bucket.take(1000.0) for _ in range(4)] == [True, True, True, False]


def test_bucket_tolerates_a_clock_that_goes_back() -> None:
    bucket = TokenBucket(rate=1.0, burst=1, now=10.0)
    assert bucket.take(10.0)
    assert not bucket.take(5.0)
    assert bucket.take(11.0)


@pytest.mark.parametrize("field", ["max_frame_bytes", "rate", "burst", "max_peers", "max_rooms"])
def test_limits_must_be_positive(field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        ServerLimits(**{field: 0})


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.1.2.3", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("10.0.0.1", False), ("example.org", False)],
)  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_open_server_refuses_a_public_bind_unless_told() -> None:
    with pytest.raises(ConfigError, match="--insecure-bind-all"):
        ServerConfig(host="0.0.0.0")
    assert ServerConfig(host="0.0.0.0", insecure_bind_all=True).open
    assert not ServerConfig(host="0.0.0.0", secret=b"x" * 16).open
