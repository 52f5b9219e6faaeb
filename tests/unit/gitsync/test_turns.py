"""Writers of a busy branch take turns, read from the branch alone (a token ring)."""

from __future__ import annotations

from ifmesh.node.gitsync.turns import IDLE, PACE_CAP, Turns

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
    for n in range(1, 31):  # the branch moves every 0.2 s, one writer after the other
        t.observe(f"{n:040x}", [WRITERS[(n + 2) % 8]], 990.0 + 0.2 * n)
    t.observe("f" * 40, ["session-3"], 996.2)
    assert abs(t.wait(996.2) - 0.1) < 1e-9  # looks soon: session-4 may be fast
    assert abs(t.wait(996.4) - 0.02) < 1e-9  # then often: it is next once session-4 lands
    assert t.wait(996.75) > 0  # but session-4 is not idle before 3 turns of 0.2 s
    assert t.wait(996.8) == 0.0


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
        for waiting in ("session-4", "session-5"):  # they wait for their turns, and say so
            if waiting == view.session:
                view.waiting_here(999.9)
            else:
                view.waiting_elsewhere(waiting, 999.9)
        view.landed_elsewhere("session-3", "c" * 40, 1000.05)  # says it has landed
    assert views["session-4"].wait(1000.05) == 0.0
    assert views["session-4"].tip == "c" * 40
    # While hints flow, writers further back do not look: they wait to be told, or until
    # the writers before them that said they wait have been idle too long (IDLE turns each).
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
    t.waiting_here(1000.2)
    assert t.wait(1000.3) > 0  # session-2 goes first


# --- who waits: only writers with something to push are waited for -------------------------


def recently_busy(session: str, hinted: bool) -> Turns:
    """A writer of a room where all 8 landed within the window, the last landing (session-3's)
    an idle gap after the one before; nobody says it waits."""
    t = turns(session)
    t.observe("0" * 40, WRITERS, 992.0)
    for n, lander in enumerate(["session-5", "session-1", "session-7"]):
        t.observe(f"{n + 1:040x}", [lander], 993.0 + 2.0 * n)  # a claim every 2 s or so
    t.observe("a" * 40, ["session-2", "session-6"], 999.0)
    if hinted:
        t.landed_elsewhere("session-3", "b" * 40, 1000.0)
    else:
        t.observe("b" * 40, ["session-3"], 1000.0)
    assert t.ring(1000.0) == WRITERS
    return t


def test_with_hints_a_writer_with_nobody_waiting_before_it_pushes_at_once() -> None:
    # session-2 is 7 places after the lander; the 6 writers between landed a few seconds ago
    # but have nothing to push now. It used to wait 6 x IDLE turns of the (idle) pace: seconds.
    t = recently_busy("session-2", hinted=True)
    assert t.wait(1000.0) == 0.1  # it says it waits, and gives the peers a floor to hear it
    assert t.waiting_here(1000.0)
    assert t.wait(1000.1) == 0.0  # nobody else said so: it goes


def test_without_hints_idle_gaps_do_not_stretch_the_wait_for_idle_writers() -> None:
    # No hints: session-2 cannot know the 6 writers before it are idle, so it gives each IDLE
    # turns of its own push time (0.1 s), not of the seconds between the room's claims.
    t = recently_busy("session-2", hinted=False)
    assert t.wait(1001.79) > 0
    assert t.wait(1001.8) == 0.0


def test_the_pace_counts_turns_handed_on_and_at_most_pace_cap_units_each() -> None:
    t = turns("session-5")
    t.observe("a" * 40, WRITERS, 990.0)
    for n in range(1, 30):  # one writer after the other, but 0.4 s apart: 4 units
        t.observe(f"{n:040x}", [WRITERS[(n + 2) % 8]], 990.0 + 0.4 * n)
    t.observe("f" * 40, ["session-3"], 1002.0)  # session-4 next: taken for idle after 3 turns
    assert t.wait(1002.0 + 3 * PACE_CAP * 0.1 - 0.01) > 0  # of at most PACE_CAP units
    assert t.wait(1002.0 + 3 * PACE_CAP * 0.1) == 0.0


def test_with_hints_only_the_writers_that_said_they_wait_are_waited_for() -> None:
    views = {s: recently_busy(s, hinted=True) for s in ("session-2", "session-5", "session-8")}
    for view in views.values():
        for waiting in ("session-5", "session-8"):
            if waiting != view.session:
                view.waiting_elsewhere(waiting, 1000.01)
        view.waiting_here(1000.01)
    assert views["session-5"].wait(1000.11) == 0.0  # the first after session-3 that waits
    two = views["session-2"]
    assert abs(two.wait(1000.11) - (2 * IDLE * 0.1 - 0.1)) < 1e-9  # 5 and 8 go first
    for view in views.values():
        view.landed_elsewhere("session-5", "c" * 40, 1000.2)
    assert views["session-8"].wait(1000.2) == 0.0
    assert two.wait(1000.2) > 0
    for view in views.values():
        view.landed_elsewhere("session-8", "d" * 40, 1000.3)
    assert two.wait(1000.3) == 0.0


def test_with_hints_writers_that_get_work_at_the_same_moment_go_one_at_a_time() -> None:
    views = {s: recently_busy(s, hinted=True) for s in WRITERS}
    for view in views.values():  # all 8 have something at 1002.0, long after the last landing
        assert view.wait(1002.0) > 0  # each says so first
        assert view.waiting_here(1002.0)
        for other in WRITERS:
            if other != view.session:
                view.waiting_elsewhere(other, 1002.01)
    assert [s for s, view in views.items() if view.wait(1002.1) == 0.0] == ["session-4"]


def test_under_contention_with_hints_the_writers_land_one_at_a_time_in_ring_order() -> None:
    views = {s: turns(s) for s in WRITERS}
    for view in views.values():
        view.observe("a" * 40, WRITERS, 999.0)
        view.landed_elsewhere("session-3", "b" * 40, 999.9)
        if view.session == "session-3":
            view.observe("b" * 40, ["session-3"], 999.9)
        for other in WRITERS:  # everyone has something to push, and says so
            if other == view.session:
                assert view.waiting_here(999.8)
            else:
                view.waiting_elsewhere(other, 999.8)
    landed: list[str] = []
    for step in range(16):
        now = 1000.0 + 0.1 * step
        going = [s for s, view in views.items() if view.wait(now) == 0.0]
        assert len(going) == 1  # one at a time
        lander = going[0]
        landed.append(lander)
        tip = f"{step + 1:040x}"
        for view in views.values():
            if view.session == lander:
                view.observe(tip, [lander], now)
                assert view.waiting_here(now + 0.01)  # it has more to push already
            else:
                view.landed_elsewhere(lander, tip, now)
                view.waiting_elsewhere(lander, now + 0.01)
    assert landed == [*WRITERS[3:], *WRITERS[:3]] * 2


def test_a_writer_that_starts_waiting_after_another_chose_lets_that_one_land() -> None:
    t = recently_busy("session-4", hinted=True)  # session-3 landed at 1000.0
    t.waiting_elsewhere("session-6", 1000.0)  # nobody else waits: it chose at 1000.1, to go
    t.waiting_here(1000.2)  # then this writer has something, though before it in the ring
    assert t.wait(1000.3) > 0
    t.landed_elsewhere("session-6", "c" * 40, 1000.4)
    assert t.wait(1000.4) == 0.0  # nobody else waits


def test_a_writer_that_says_it_waits_but_does_not_land_is_skipped_after_idle_turns() -> None:
    t = recently_busy("session-6", hinted=True)
    t.waiting_elsewhere("session-4", 1000.0)  # but it crashed, or had nothing after all
    t.waiting_here(1000.0)
    assert t.wait(1000.29) > 0
    assert t.wait(1000.3) == 0.0


def test_a_writer_says_it_waits_once_per_wait_and_again_while_it_lasts() -> None:
    t = recently_busy("session-6", hinted=True)
    assert t.waiting_here(1000.1)
    assert not t.waiting_here(1000.2)
    assert not t.waiting_here(1002.5)
    assert t.waiting_here(1002.6)  # a quarter window: the others count it on
    t.observe("c" * 40, ["session-6"], 1002.7)  # its push landed: that wait is over
    assert t.waiting_here(1002.8)


def test_a_wait_no_longer_said_holds_nobody_back() -> None:
    t = recently_busy("session-6", hinted=True)
    t.waiting_elsewhere("session-4", 999.0)  # its landing hint was lost, or it has gone
    t.landed_elsewhere("session-3", "c" * 40, 1004.5)
    t.waiting_here(1004.5)
    assert t.wait(1004.6) == 0.0  # half a window since it said it waits
    t.waiting_elsewhere("session-4", 1004.6)  # says so again
    assert t.wait(1004.6) > 0


def test_a_fetch_showing_a_landing_late_does_not_end_the_wait_said_after_it() -> None:
    t = recently_busy("session-6", hinted=True)
    t.landed_elsewhere("session-4", "c" * 40, 1000.1)
    t.waiting_elsewhere("session-4", 1000.15)  # landed, and has more to push
    # This writer's own push lands; the bridge reads the branch after it pushes, so what it
    # reads then still shows session-4's landing before it.
    t.observe("d" * 40, ["session-4", "session-6"], 1000.3)
    t.waiting_here(1000.3)
    assert t.wait(1000.4) > 0  # session-6 landed last: session-4 goes first
