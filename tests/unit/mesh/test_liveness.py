"""Liveness with time as a parameter: pings each interval, suspect at 3 s, dead at 5 s, RTT."""

from __future__ import annotations

import pytest

from ifmesh.node.mesh.liveness import Liveness, LivenessConfig, PingDue, Presence, PresenceChanged


def run_until(liveness: Liveness, end: float) -> list[tuple[float, object]]:
    """Drives the timer like the mesh does, recording (time, event)."""
    seen: list[tuple[float, object]] = []
    while (timer := liveness.get_timer()) is not None and timer <= end:
        seen.extend((timer, event) for event in liveness.handle_timer(timer))
    return seen


def test_silent_peer_pinged_every_second_then_suspect_then_dead() -> None:
    liveness = Liveness(LivenessConfig(), now=100.0)
    events = run_until(liveness, 110.0)
    pings = [t for t, e in events if isinstance(e, PingDue)]
    assert pings == [100.0, 101.0, 102.0, 103.0, 104.0]
    changes = [(t, e.new) for t, e in events if isinstance(e, PresenceChanged)]
    assert changes == [(103.0, Presence.SUSPECT), (105.0, Presence.DEAD)]
    assert liveness.get_timer() is None
    assert liveness.handle_timer(200.0) == []


def test_hearing_from_a_peer_keeps_it_up_and_revives_a_suspect() -> None:
    liveness = Liveness(LivenessConfig(), now=0.0)
    run_until(liveness, 3.5)
    assert liveness.presence is Presence.SUSPECT
    change = liveness.heard(3.6)
    assert change == PresenceChanged(Presence.SUSPECT, Presence.UP, 0.0)
    assert liveness.heard(3.7) is None
    run_until(liveness, 6.5)
    assert liveness.presence is Presence.UP, "3 s since 3.6 not yet reached"
    run_until(liveness, 9.0)
    assert liveness.presence is Presence.DEAD


def test_pong_gives_rtt_and_smooths_it() -> None:
    liveness = Liveness(LivenessConfig(), now=0.0)
    [ping] = liveness.handle_timer(0.0)
    assert isinstance(ping, PingDue) and ping.rtt is None
    assert liveness.pong(ping.seq, ping.sent, 0.010) == pytest.approx(0.010)
    [ping2] = liveness.handle_timer(1.0)
    assert isinstance(ping2, PingDue) and ping2.rtt == pytest.approx(0.010)
    assert liveness.pong(ping2.seq, ping2.sent, 1.090) == pytest.approx(0.090)
    assert liveness.rtt == pytest.approx(0.090)
    assert liveness.smoothed_rtt == pytest.approx(0.010 + 0.125 * 0.080)


def test_forged_or_replayed_pongs_give_no_sample() -> None:
    liveness = Liveness(LivenessConfig(), now=0.0)
    [ping] = liveness.handle_timer(0.0)
    assert isinstance(ping, PingDue)
    assert liveness.pong(ping.seq + 5, ping.sent, 0.01) is None
    assert liveness.pong(ping.seq, ping.sent - 1.0, 0.01) is None  # wrong echo
    assert liveness.pong(ping.seq, ping.sent, 0.01) is None  # consumed by the wrong echo
    assert liveness.rtt is None


def test_late_timer_sends_one_ping_not_a_burst() -> None:
    liveness = Liveness(LivenessConfig(), now=0.0)
    liveness.handle_timer(0.0)
    liveness.heard(2.0)
    events = liveness.handle_timer(2.5)  # the loop stalled through the 1.0 and 2.0 pings
    assert [type(e) for e in events] == [PingDue]
    assert liveness.get_timer() == pytest.approx(3.5)


def test_channel_close_counts_as_dead_at_once() -> None:
    liveness = Liveness(LivenessConfig(), now=0.0)
    assert liveness.closed() == PresenceChanged(Presence.UP, Presence.DEAD, 0.0)
    assert liveness.closed() is None


def test_configurable_thresholds_are_checked() -> None:
    with pytest.raises(ValueError):
        LivenessConfig(ping_interval=1.0, suspect_after=5.0, dead_after=3.0)
    fast = Liveness(LivenessConfig(0.1, 0.3, 0.5), now=0.0)
    events = run_until(fast, 1.0)
    assert [(round(t, 3), e.new) for t, e in events if isinstance(e, PresenceChanged)] == [
        (0.3, Presence.SUSPECT),
        (0.5, Presence.DEAD),
    ]


def test_a_large_room_stretches_the_interval_and_both_thresholds() -> None:
    config = LivenessConfig()  # 10 pings a second to the whole room, at most
    assert config.stretch_for(7) == 1.0
    assert config.stretch_for(10) == 1.0
    assert config.stretch_for(31) == pytest.approx(3.1)
    liveness = Liveness(config, now=0.0)
    liveness.stretch = config.stretch_for(20)
    events = run_until(liveness, 20.0)
    assert [t for t, e in events if isinstance(e, PingDue)] == [0.0, 2.0, 4.0, 6.0, 8.0]
    changes = [(t, e.new) for t, e in events if isinstance(e, PresenceChanged)]
    assert changes == [(6.0, Presence.SUSPECT), (10.0, Presence.DEAD)]


def test_a_room_that_grows_moves_the_next_ping_not_the_one_already_due() -> None:
    liveness = Liveness(LivenessConfig(), now=0.0)
    run_until(liveness, 1.0)  # pings at 0 and 1, each a second apart
    liveness.stretch = 3.0
    liveness.heard(1.0)
    events = run_until(liveness, 8.0)
    assert [t for t, e in events if isinstance(e, PingDue)] == [2.0, 5.0, 8.0]


def test_a_ping_budget_of_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="pings_per_second"):
        LivenessConfig(pings_per_second=0)
