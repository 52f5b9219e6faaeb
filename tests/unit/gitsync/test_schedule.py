"""The bridge's timers, with time as a parameter: batching, backoff, fetch and refresh cadence."""

from __future__ import annotations

from ifmesh.node.gitsync.schedule import ANSWERED_DELAY, Action, Backoff, SyncSchedule


def schedule(now: float = 1000.0, **overrides: float) -> SyncSchedule:
    values = {"batch_window": 0.2, "fetch_interval": 30.0, "status_refresh_interval": 900.0}
    values.update(overrides)
    return SyncSchedule(backoff=Backoff(base=0.05, cap=1.0), now=now, **values)


def test_events_within_the_window_share_one_commit() -> None:
    s = schedule()
    s.fetched(1000.0)
    s.event_added(1000.0)
    s.event_added(1000.15)
    assert s.get_timer() == 1000.2
    assert s.due(1000.19) == []
    assert s.due(1000.2) == [Action.COMMIT, Action.PUSH]


def test_a_confirm_record_closes_the_window_at_once() -> None:
    s = schedule()
    s.fetched(1000.0)
    s.event_added(1000.0)
    s.event_added(1000.05, urgent=True)
    assert s.get_timer() == 1000.05
    assert s.due(1000.05) == [Action.COMMIT, Action.PUSH]


def test_lost_race_backs_off_with_full_jitter_growing_to_the_cap() -> None:
    s = schedule()
    s.fetched(1000.0)
    s.event_added(1000.0)
    s.committed(1000.2)
    delays = [s.push_lost_race(1000.2, draw=0.999) for _ in range(8)]
    assert delays == sorted(delays)
    assert delays[0] < 0.2 and max(delays) <= 1.0 and delays[-1] > 0.99
    assert s.push_lost_race(1000.2, draw=0.0) == 0.0
    s.push_lost_race(1000.2, draw=0.5)
    assert s.due(1000.2) == []  # waiting out the backoff
    assert Action.PUSH in s.due(1000.2 + 1.0)


def test_backoff_spreads_writers_by_their_draws() -> None:
    backoff = Backoff(base=0.05, cap=1.0)
    assert backoff.delay(3, 0.25) == 0.25 * 0.4
    assert backoff.delay(30, 0.5) == 0.5


def test_unreachable_remote_is_retried_no_later_than_the_fetch_interval() -> None:
    s = schedule(fetch_interval=2.0)
    s.fetched(1000.0)
    s.push_wanted(1000.0)
    for _ in range(20):
        delay = s.push_failed(1000.0, draw=0.999)
    assert delay <= 2.0
    assert s.pending_push


def test_landed_push_is_followed_by_a_fetch_and_clears_the_backoff() -> None:
    s = schedule()
    s.fetched(1000.0)
    s.push_wanted(1000.0)
    s.push_lost_race(1000.0, draw=0.5)
    s.push_landed(1000.5)
    assert not s.pending_push and s.push_attempt == 0
    assert s.due(1000.5) == [Action.FETCH]


def test_on_a_busy_branch_the_fetch_after_a_landed_push_waits_a_ring_cycle() -> None:
    s = schedule(fetch_interval=30.0)
    s.fetched(1000.0)
    s.push_wanted(1000.0)
    s.push_landed(1000.5, fetch_after=0.8)
    assert s.due(1000.5) == [] and s.get_timer() == 1001.3
    assert s.due(1001.3) == [Action.FETCH]
    s.fetched(1001.3)
    s.push_wanted(1001.3)
    s.push_landed(1001.5, fetch_after=60.0)  # never later than the regular fetch
    assert s.get_timer() == 1031.3


def test_fetch_every_interval() -> None:
    s = schedule(fetch_interval=30.0)
    s.fetched(1000.0)
    assert s.get_timer() == 1030.0
    assert s.due(1029.9) == []
    assert s.due(1030.0) == [Action.FETCH]


def test_status_refresh_at_most_once_per_interval_and_only_when_idle() -> None:
    s = schedule(status_refresh_interval=900.0, fetch_interval=30.0)
    now = 1000.0
    refreshes = 0
    while now < 1000.0 + 3600:
        s.fetched(now)
        if Action.REFRESH_STATUS in s.due(now):
            refreshes += 1
            s.committed(now)
            s.push_landed(now)
        now += 30.0
    assert refreshes == 3  # at 15, 30 and 45 minutes: never one per poll
    busy = schedule(status_refresh_interval=900.0)
    for minute in range(60):  # a commit every minute writes the STATUS anyway
        at = 1000.0 + 60 * minute
        busy.event_added(at)
        assert Action.REFRESH_STATUS not in busy.due(at + 0.2)
        busy.committed(at + 0.2)
        busy.push_landed(at + 0.2)


def test_a_push_that_is_not_its_turn_waits_and_a_busy_lost_race_asks_again_at_once() -> None:
    s = schedule()
    s.fetched(1000.0)
    s.push_wanted(1000.0)
    s.push_deferred(1000.3)
    assert s.get_timer() == 1000.3
    assert Action.PUSH not in s.due(1000.29)
    assert Action.PUSH in s.due(1000.3)
    assert s.push_lost_race(1000.3, draw=0.99, busy=True) == 0.0
    assert Action.PUSH in s.due(1000.3)


def test_a_lone_writer_pushes_at_once() -> None:
    s = schedule()
    s.fetched(1000.0)
    s.event_added(1000.0123, urgent=True)
    assert s.due(1000.0123) == [Action.COMMIT, Action.PUSH]


def test_wanting_a_push_never_drops_a_batch_waiting_for_its_commit() -> None:
    s = schedule()
    s.fetched(1000.0)
    s.event_added(1000.0)
    s.push_wanted(1000.1)  # a fetch found something to push meanwhile
    assert Action.COMMIT in s.due(1000.2)


def test_what_was_submitted_while_a_commit_was_written_is_committed_next() -> None:
    """The node submits from its loop while the worker thread writes a commit; ``committed``
    must not clear their due time (a reservation's record waited minutes for the next event)."""
    s = schedule()
    s.fetched(1000.0)
    s.event_added(1000.0, urgent=True)
    assert Action.COMMIT in s.due(1000.0)
    s.event_added(1000.01, urgent=True)  # while the commit is being written
    s.committed(1000.02, more=True)
    assert Action.COMMIT in s.due(1000.02)
    s.committed(1000.03)
    assert Action.COMMIT not in s.due(1000.5)


def test_a_record_of_a_claim_already_answered_is_committed_a_moment_later() -> None:
    """Its agent has the answer; the commit waits until that answer has been written."""
    s = schedule()
    s.fetched(1000.0)
    s.event_added(1000.0, urgent=True, after=ANSWERED_DELAY)
    assert s.due(1000.0) == []
    assert s.get_timer() == 1000.0 + ANSWERED_DELAY
    assert Action.COMMIT in s.due(1000.0 + ANSWERED_DELAY)
