"""The event log: total order, late arrivals re-folded, duplicates, forks, canonical bytes."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ifmesh.node.board.canonical import canonical_bytes
from ifmesh.node.board.errors import ForkedLog
from ifmesh.node.board.log import KEEP_DECODED, EventLog
from ifmesh.node.protocol import messages as m
from tests.unit.board.helpers import Stamper, at, chain_board, claim, complete, progress


def scenario(ev: Stamper | None = None) -> list[m.Envelope]:
    """Three sessions racing, releasing, blocking and completing along the A ← B ← C chain."""
    ev = ev or Stamper()
    return [
        ev("s1", claim("A", "s1"), lamport=1, when=at(0)),
        ev("s2", claim("A", "s2"), lamport=1, when=at(0)),
        ev("s3", claim("F", "s3"), lamport=1, when=at(1)),
        ev(
            "s3",
            m.Blocker(swarm_id="s3", task_id="F", blocked_on=["B"], detected_at=at(1)),
            lamport=2,
        ),
        ev("s1", progress("A", percent=50), lamport=3, when=at(2)),
        ev("s2", progress("A", percent=25), lamport=3, when=at(2)),
        ev("s1", complete("A"), lamport=4, when=at(3)),
        ev("s2", claim("B", "s2"), lamport=5, when=at(4)),
        ev("s2", m.TaskRelease(task_id="B", epoch=0), lamport=6, when=at(5)),
        ev("s1", claim("B", "s1", epoch=1), lamport=7, when=at(6)),
        ev("s1", m.TaskConfirmed(task_id="B", epoch=1, winner="s1"), lamport=8, when=at(6)),
        ev("s1", complete("B", epoch=1), lamport=9, when=at(7)),
        ev("s3", m.LeaseRenew(task_ids=["F"]), lamport=10, when=at(8)),
    ]


def folded(
    events: list[m.Envelope], checkpoint_every: int = 4, keep_decoded: int = KEEP_DECODED
) -> EventLog:
    log = EventLog(chain_board(), checkpoint_every=checkpoint_every, keep_decoded=keep_decoded)
    for event in events:
        log.add(event)
    return log


def test_in_order_fold_reaches_the_expected_board() -> None:
    board = folded(scenario()).board
    assert board.tasks["A"].owner == "s1" and board.tasks["A"].percent == 100
    assert board.tasks["B"].owner == "s1" and board.tasks["B"].epoch == 1
    assert board.tasks["C"].status.value == "AVAILABLE"
    assert board.tasks["F"].status.value == "CLAIMED"  # s3's blocker on B resolved
    assert board.folded == 13


@settings(max_examples=60)
@given(st.permutations(range(13)), st.sampled_from([1, 3, 64]))
def test_any_arrival_order_gives_byte_identical_boards(order: list[int], every: int) -> None:
    events = scenario()
    reference = canonical_bytes(folded(events).board)
    assert canonical_bytes(folded([events[i] for i in order], every).board) == reference


@given(st.lists(st.integers(0, 12), min_size=1, max_size=30))
def test_duplicates_are_no_ops(again: list[int]) -> None:
    events = scenario()
    log = folded(events)
    before = canonical_bytes(log.board)
    for i in again:
        assert log.add(events[i]).new is False
    assert canonical_bytes(log.board) == before and len(log) == 13


def test_a_late_event_refolds_only_from_the_checkpoint_before_it() -> None:
    events = scenario()
    log = folded(events[1:], checkpoint_every=4)
    added = log.add(events[0])
    assert added.new and added.refolded == 12  # inserted first: everything after it
    log = folded(events[:-2] + events[-1:], checkpoint_every=4)
    added = log.add(events[-2])
    assert added.refolded == 4  # from the checkpoint after 8 events: 8, 9, 10 and 12


def test_a_second_writer_under_one_session_is_a_forked_log() -> None:
    events = scenario()
    log = folded(events)
    impostor = m.make_message(
        m.LeaseRenew(task_ids=[]),
        source="s1",
        timestamp=at(9),
        seq=events[0].seq,
        lamport=99,
        incarnation="other-host",
    )
    with pytest.raises(ForkedLog, match="other-host"):
        log.add(impostor)
    assert len(log) == 13  # nothing already accepted is lost


def test_frontier_and_catching_up_a_peer() -> None:
    events = scenario()
    full, partial = folded(events), folded(events[:5])
    missing = full.missing_for(partial.frontier())
    assert len(missing) == 8
    partial.extend(missing)
    assert canonical_bytes(partial.board) == canonical_bytes(full.board)
    assert full.last_of("s1") == (6, 9) and full.last_of("nobody") == (0, 0)
    assert full.max_lamport() == 10


def long_scenario(renewals: int) -> list[m.Envelope]:
    """The scenario, then ``renewals`` lease renewals: a log long enough to thin checkpoints."""
    ev = Stamper()
    head = scenario(ev)
    tail = [
        ev("s3", m.LeaseRenew(task_ids=["F"]), lamport=11 + i, when=at(9 + i))
        for i in range(renewals)
    ]
    return head + tail


@settings(max_examples=40)
@given(st.permutations(range(13)), st.integers(0, 12))
def test_a_batch_folds_late_events_once_to_the_same_board(order: list[int], cut: int) -> None:
    events = scenario()
    reference = EventLog(chain_board(), checkpoint_every=4)
    in_order = [e for event in events for e in reference.add(event).effects]
    log = folded([events[i] for i in order[:cut]])
    told = []
    with log.batch() as effects:
        for i in order[cut:]:
            added = log.add(events[i])
            assert added.new and added.refolded == 0  # nothing re-folded before the end
            told.extend(added.effects)
    assert canonical_bytes(log.board) == canonical_bytes(reference.board)
    # Effects come from folds in the final order (or from appends before a late event), and a
    # one-by-one arrival tells at least as much.
    one_by_one = folded([events[i] for i in order[:cut]])
    each = [e for i in order[cut:] for e in one_by_one.add(events[i]).effects]
    assert set(effects) <= set(in_order)
    assert set(told) <= set(each)


def test_checkpoints_thin_with_age_and_very_late_events_still_fold_right() -> None:
    events = long_scenario(400)
    log = folded(events, checkpoint_every=1)
    kept = [index for index, _ in log._checkpoints]
    assert len(kept) < 120  # 413 events, one checkpoint each before thinning
    assert kept[-16:] == list(range(413 - 15, 414))  # the newest are all there
    assert kept[0] == 0
    reference = canonical_bytes(log.board)
    for late in (0, 5, 200, 390):  # re-inserted at every age
        log = folded(events[:late] + events[late + 1 :], checkpoint_every=1)
        log.add(events[late])
        assert canonical_bytes(log.board) == reference


def test_a_checkpoint_holds_only_the_tasks_that_changed() -> None:
    """A checkpoint copies only the tasks that are not the starting board's (a full copy of a
    20,000-task board is 0.4 MB); a re-fold from one restores the rest (the tests above)."""
    from dataclasses import replace
    from types import MappingProxyType

    from ifmesh.node.board.state import Task

    board = chain_board()
    untouched = {f"Z{i}": Task(f"Z{i}", title="nobody claims it") for i in range(20)}
    log = EventLog(replace(board, tasks=MappingProxyType({**board.tasks, **untouched})),
                   checkpoint_every=1)  # fmt: skip
    for event in long_scenario(40):
        log.add(event)
    start = log._initial.tasks
    assert len(log._checkpoints[0][1][0].tasks) == 0, "nothing changed before the first event"
    for _, (board, _) in log._checkpoints:
        assert all(start.get(key) is not task for key, task in board.tasks.items())
    newest = log._checkpoints[-1][1][0].tasks
    assert 0 < len(newest) < len(start)
    assert {**start, **newest} == dict(log.board.tasks)


def test_old_events_kept_encoded_fold_and_read_as_decoded_ones() -> None:
    """Past the newest few, events are held encoded; re-folds that reach them (a very late
    event, inserted among them), iteration, recent_of and catch-up decode them."""
    events = long_scenario(400)
    plain = folded(events, checkpoint_every=1)
    reference = canonical_bytes(plain.board)
    encoded = folded(events, checkpoint_every=1, keep_decoded=8)
    assert sum(isinstance(e, int) for e in encoded._events) >= 256
    assert canonical_bytes(encoded.board) == reference
    assert list(encoded) == list(plain) == events
    assert encoded.recent_of("s1", 100) == plain.recent_of("s1", 100)
    assert encoded.missing_for({"s1": 2, "s3": 30}) == plain.missing_for({"s1": 2, "s3": 30})
    for late in (0, 5, 200, 390):  # re-inserted among the encoded ones and after them
        log = folded(events[:late] + events[late + 1 :], checkpoint_every=1, keep_decoded=8)
        log.add(events[late])
        assert canonical_bytes(log.board) == reference
        assert list(log) == events


def test_a_batch_keeps_its_events_decoded_until_it_is_folded() -> None:
    """A batch (a start-up's read of every log) re-folds once at its end, maybe from far
    back: encoding its events before that would only mean decoding them again."""
    events = long_scenario(400)
    log = EventLog(chain_board(), checkpoint_every=1, keep_decoded=8)
    with log.batch():
        for event in reversed(events):  # every one late but the first
            log.add(event)
        assert not any(isinstance(e, int) for e in log._events)
    assert sum(isinstance(e, int) for e in log._events) >= 256
    assert canonical_bytes(log.board) == canonical_bytes(folded(events).board)
    assert list(log) == events


@pytest.mark.parametrize("dense", [4, 9, 16])
def test_a_thinned_checkpoint_is_never_needed_again(dense: int) -> None:
    """The kept set only shrinks as the log grows: a checkpoint dropped once would otherwise
    be missing when a later one expects it."""
    from ifmesh.node.board.log import _keeps

    for index in range(1, 600):
        dropped = False
        for newest in range(index, 2000):
            keeps = _keeps(index, newest, dense)
            assert not (dropped and keeps)
            dropped = dropped or not keeps


def test_recent_of_gives_a_sessions_last_events_oldest_first() -> None:
    events = long_scenario(20)
    log = folded(events)
    s3 = [e for e in events if e.source == "s3"]
    assert log.recent_of("s3", 5) == s3[-5:]
    assert log.recent_of("s1", 100) == [e for e in events if e.source == "s1"]
    assert log.recent_of("nobody", 3) == []


def test_the_digest_is_the_boards_and_changes_only_with_it() -> None:
    import hashlib

    events = scenario()
    log = folded(events[:-1])
    first = log.digest()
    assert first == hashlib.sha256(canonical_bytes(log.board)).hexdigest()
    assert log.digest() == first
    log.add(events[-1])
    assert log.digest() == hashlib.sha256(canonical_bytes(log.board)).hexdigest() != first


def test_a_board_read_inside_a_batch_is_not_kept_past_its_late_fold() -> None:
    events = scenario()
    log = folded(events[1:])
    with log.batch():
        log.add(events[0])  # late: folded at the end of the batch
        stale = log.board
    assert canonical_bytes(log.board) == canonical_bytes(folded(events).board)
    assert log.board is not stale


def test_checkpoints_space_out_on_a_big_board() -> None:
    """Each checkpoint copies every task: a 4,096-task board checkpoints every 128 events, a
    1,000-task board every 31, a small one every 8 (a late event re-folds from the last)."""
    from types import MappingProxyType

    from ifmesh.node.board.state import Board, Task

    tasks = {f"T{i}": Task(f"T{i}", title="t") for i in range(4096)}
    big = EventLog(Board(tasks=MappingProxyType(tasks)))
    assert big._every == 128 and big._dense == 8  # fewer kept densely: each copies 4,096 tasks
    assert EventLog(Board(tasks=MappingProxyType(dict(list(tasks.items())[:1000]))))._every == 31
    assert EventLog(chain_board())._every == 8 and EventLog(chain_board())._dense == 16


def test_late_events_inserted_among_encoded_ones_are_encoded_too() -> None:
    """A start-up folds its own log first, then the other sessions' from git, nearly all of
    them late and among its own encoded events: those must leave memory as well (a node on
    8 logs of 20,000 events held 134,000 of them decoded)."""
    events = long_scenario(400)
    own = [e for e in events if e.source == "s1"]
    others = [e for e in events if e.source != "s1"]
    log = EventLog(chain_board(), checkpoint_every=1, keep_decoded=8)
    with log.batch():
        for event in own:
            log.add(event)
    with log.batch():
        for event in others:
            log.add(event)
    decoded = [i for i, e in enumerate(log._events) if not isinstance(e, int)]
    window = 8 + log._every  # keep_decoded and a checkpoint's worth
    assert decoded == list(range(len(events) - window, len(events)))
    assert list(log) == events
    assert canonical_bytes(log.board) == canonical_bytes(folded(events).board)
    for event in reversed(others[:20]):  # late one by one, outside a batch: each encoded too
        log.add(event)  # already held: a no-op
    late = EventLog(chain_board(), checkpoint_every=1, keep_decoded=8)
    for event in own + others[::-1]:
        late.add(event)
    assert [i for i, e in enumerate(late._events) if not isinstance(e, int)] == decoded
    assert list(late) == events
