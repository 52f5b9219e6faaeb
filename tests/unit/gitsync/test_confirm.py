"""The git tier's rule: the first confirm record per (task, epoch) in first-parent order wins."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ifmesh.node.board.formats.status import StatusFile
from ifmesh.node.gitsync.confirm import ConfirmLedger, records_in
from ifmesh.node.protocol.messages import ClaimLost, TaskConfirmed


def record_file(session: str, task: str | None, epoch: int | None) -> tuple[str, StatusFile]:
    return f"STATUS-{session.upper()}.yaml", StatusFile(session=session, claiming=task, epoch=epoch)


def test_first_record_wins_and_later_ones_lose() -> None:
    ledger = ConfirmLedger()
    won = ledger.apply(records_in("c1", [record_file("session-b", "P0.5.2", 0)]))
    assert [r.session for r in won] == ["session-b"]
    assert ledger.apply(records_in("c2", [record_file("session-a", "P0.5.2", 0)])) == []
    verdict = ledger.verdict("P0.5.2", 0, "session-a")
    assert verdict is not None and not verdict.confirmed
    assert verdict.payload() == ClaimLost(task_id="P0.5.2", epoch=0, winner="session-b")
    mine = ledger.verdict("P0.5.2", 0, "session-b")
    assert mine is not None and mine.payload() == TaskConfirmed(
        task_id="P0.5.2", epoch=0, winner="session-b"
    )
    assert ledger.verdict("P0.5.2", 1, "session-a") is None  # a new epoch is open again


def test_records_without_an_epoch_are_epoch_zero_and_non_claims_are_not_records() -> None:
    files = [record_file("session-a", "P0.1.4", None), record_file("session-b", None, 3)]
    records = records_in("c1", files)
    assert [(r.task, r.epoch, r.session) for r in records] == [("P0.1.4", 0, "session-a")]


def test_two_records_in_one_commit_lowest_session_wins() -> None:
    ledger = ConfirmLedger()
    files = [record_file("session-c", "T1", 0), record_file("session-a", "T1", 0)]
    ledger.apply(records_in("c1", files))
    assert ledger.winner("T1", 0).session == "session-a"  # type: ignore[union-attr]


@given(
    st.lists(
        st.lists(
            st.tuples(
                st.sampled_from(["session-a", "session-b", "session-c"]),
                st.sampled_from(["T1", "T2"]),
                st.integers(0, 2),
            ),
            max_size=3,
        ),
        max_size=12,
    )
)
def test_every_reader_of_the_same_history_gets_the_same_single_winner(
    history: list[list[tuple[str, str, int]]],
) -> None:
    # A commit holds at most one STATUS file per session: the last one written.
    commits = [list({s: (s, t, e) for s, t, e in commit}.values()) for commit in history]

    def fold() -> dict[tuple[str, int], str]:
        ledger = ConfirmLedger()
        for index, commit in enumerate(commits):
            ledger.apply(records_in(f"c{index}", [record_file(s, t, e) for s, t, e in commit]))
        return {key: r.session for key, r in ledger.winners().items()}

    first, second = fold(), fold()
    assert first == second
    for (task, epoch), winner in first.items():
        earliest = next(
            sorted(s for s, t, e in commit if (t, e) == (task, epoch))[0]
            for commit in commits
            if any((t, e) == (task, epoch) for _, t, e in commit)
        )
        assert winner == earliest
