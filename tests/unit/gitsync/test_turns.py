"""Writers of a busy branch take turns, read from the branch alone (a token ring)."""

from __future__ import annotations

from ifmesh.node.gitsync.turns import Turns

WRITERS = [f"session-{n}" for n in range(1, 9)]


def turns(session: str, unit: float = 0.1) -> Turns:
    return Turns(session, unit=unit, window=10.0)


def test_one_writer_alone_never_waits() -> None:
    t = turns("session-1")
    t.observe("a" * 40, ["session-1"], 1000.0)
    assert not t.busy(1000.0)
    assert t.wait(1000.0) == 0.0


def test_the_next_writer_after_the_tips_lander_goes_at_once_the_others_in_order() -> None:
    views = {s: turns(s) for s in WRITERS}
    for view in views.values():
        view.observe("a" * 40, WRITERS, 999.0)  # everyone has landed once
        view.observe("b" * 40, ["session-3"], 1000.0)  # session-3 landed the tip
    waits = {s: round(view.wait(1000.0), 6) for s, view in views.items()}
    assert waits["session-4"] == 0.0
    assert waits["session-5"] == 0.1 and waits["session-2"] == 0.6
    assert waits["session-3"] == 0.7  # the lander goes last
    assert sorted(waits.values()) == [round(0.1 * d, 6) for d in range(8)]  # one at a time


def test_a_writer_whose_predecessors_had_nothing_to_push_goes_once_their_turns_passed() -> None:
    t = turns("session-5")
    t.observe("a" * 40, WRITERS, 999.9)
    t.observe("b" * 40, ["session-3"], 1000.0)  # the branch moves every 0.1 s
    assert abs(t.wait(1000.05) - 0.05) < 1e-9
    t.observe("b" * 40, [], 1000.1)  # fetched again: the tip has not moved yet
    # session-4 may still be pushing, and this one is next: it looks again soon
    assert abs(t.wait(1000.1) - 0.02) < 1e-9
    t.observe("b" * 40, [], 1000.31)
    assert t.wait(1000.31) == 0.0  # three turns' time and no move: session-4 had nothing
    t.observe("c" * 40, ["session-4"], 1000.32)  # it moved: counted from its lander
    assert t.wait(1000.32) == 0.0


def test_a_newcomer_takes_its_sorted_place_and_writers_gone_quiet_leave_the_ring() -> None:
    t = turns("session-5")
    t.observe("a" * 40, ["session-1", "session-9"], 1000.0)
    assert t.ring(1000.0) == ["session-1", "session-5", "session-9"]
    assert abs(t.wait(1000.0) - 0.1) < 1e-9  # session-9 landed: session-1, then this one
    assert t.ring(1011.0) == ["session-5"]
    assert t.wait(1011.0) == 0.0


def test_writers_of_a_slow_branch_are_not_taken_for_idle_too_soon() -> None:
    t = turns("session-5")
    t.observe("a" * 40, WRITERS, 990.0)
    for n in range(1, 31):  # the branch moves every 0.4 s, one writer after the other
        t.observe(f"{n:040x}", [WRITERS[n % 8]], 990.0 + 0.4 * n)
    t.observe("f" * 40, ["session-3"], 1002.4)
    assert abs(t.wait(1002.4) - 0.1) < 1e-9  # looks soon: session-4 may be fast
    assert abs(t.wait(1002.6) - 0.02) < 1e-9  # then often: it is next once session-4 lands
    assert t.wait(1003.5) > 0  # but session-4 is not idle before 3 turns of 0.4 s
    assert t.wait(1003.7) == 0.0


def test_the_turn_follows_the_measured_push_time_never_below_the_unit() -> None:
    t = turns("session-1", unit=0.05)
    t.measured(0.01)
    assert t.unit == 0.05
    for _ in range(20):
        t.measured(0.3)
    assert 0.29 < t.unit <= 0.3


def test_writers_further_back_look_at_a_turns_pace_the_next_but_one_often() -> None:
    views = {s: turns(s) for s in WRITERS}
    for view in views.values():
        view.observe("a" * 40, WRITERS, 999.0)
        view.observe("b" * 40, ["session-3"], 1000.0)  # session-4 is pushing now
    # Past the time they would look: session-5 is next once session-4 lands, session-6 after.
    assert abs(views["session-5"].wait(1000.15) - 0.02) < 1e-9
    assert abs(views["session-6"].wait(1000.25) - 0.1) < 1e-9
    assert views["session-1"].cycle(1000.0) == 0.8  # eight writers, a turn of 0.1 s each


def test_a_landing_hint_hands_the_turn_to_the_next_writer_before_any_fetch() -> None:
    views = {s: turns(s) for s in WRITERS}
    for view in views.values():
        view.observe("a" * 40, WRITERS, 999.9)
        view.observe("b" * 40, ["session-2"], 1000.0)  # session-3 is next
        view.landed_elsewhere("session-3", "c" * 40, 1000.05)  # says it has landed
    assert views["session-4"].wait(1000.05) == 0.0
    assert views["session-4"].tip == "c" * 40
    # While hints flow, writers further back do not look: they wait to be told, or until
    # the writers before them have been idle too long (IDLE turns each).
    five = views["session-5"]
    assert five.hinted(1000.05)
    assert abs(five.wait(1000.05) - 0.3) < 1e-9  # one writer before it: 3 turns of 0.1 s
    assert five.wait(1000.35) == 0.0
    assert not five.hinted(1011.0)  # no hint for a ring window: it looks as before


def test_a_waiting_hint_puts_a_writer_that_never_landed_into_the_ring() -> None:
    t = turns("session-5")
    t.observe("a" * 40, ["session-1", "session-4"], 1000.0)
    assert t.ring(1000.0) == ["session-1", "session-4", "session-5"]
    t.waiting_elsewhere("session-2", 1000.1)
    assert t.ring(1000.1) == ["session-1", "session-2", "session-4", "session-5"]
    t.landed_elsewhere("session-1", "b" * 40, 1000.2)
    assert t.wait(1000.2) > 0  # session-2, then session-4 go first
