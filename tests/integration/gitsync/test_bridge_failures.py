"""One bridge against a real bare remote when things go wrong: the remote disappears, history is
force-pushed, other sessions' files are corrupt, a hook refuses, two processes share a session.
"""

from __future__ import annotations

import json
import shutil
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ifmesh.node.gitsync.bridge import GitSync
from ifmesh.node.gitsync.confirm import Verdict
from ifmesh.node.gitsync.errors import (
    BoardUnparseable,
    BranchMissing,
    HistoryRewritten,
    IncarnationConflict,
    MalformedLogLine,
    PushRejected,
    RemoteUnreachable,
    StateDirLocked,
)
from ifmesh.node.protocol.messages import TaskClaim, TaskProgress
from tests.conftest import require_tool
from tests.integration.gitsync.support import (
    BRANCH,
    Stamper,
    config,
    git,
    log_text,
    opened,
    pump,
    show,
    started,
)

pytestmark = pytest.mark.integration


def claim(bridge: GitSync, stamp: Stamper, task: str, epoch: int = 0) -> str:
    event = stamp(
        TaskClaim(task_id=task, epoch=epoch, swarm_id=stamp.session, timestamp=datetime.now(UTC))
    )
    now = datetime.now(UTC).timestamp()
    bridge.submit(event, now)
    bridge.write_confirm_record(task, epoch, now)
    return event.id


def log_ids(remote: Path, session: str) -> list[str]:
    text = log_text(remote, session)
    return [json.loads(line)["id"] for line in text.splitlines()]


def push_file(root: Path, remote: Path, path: str, text: str, message: str) -> None:
    """Another person's commit on the coordination branch, made with plain git."""
    work = root / "hand"
    if not work.exists():
        git("clone", "--quiet", "--branch", BRANCH, str(remote), str(work))
    git("pull", "--quiet", "--rebase", "origin", BRANCH, cwd=work)
    target = work / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    git("add", path, cwd=work)
    git("commit", "--quiet", "-m", message, cwd=work)
    git("push", "--quiet", "origin", f"HEAD:{BRANCH}", cwd=work)


def test_events_are_committed_offline_and_pushed_when_the_remote_returns(
    tmp_path: Path, remote: Path
) -> None:
    bridge = started(tmp_path, "session-a", remote)
    stamp = Stamper("session-a")
    first = claim(bridge, stamp, "P0.1.4")
    pump([bridge], lambda: "P0.1.4" in show(remote, "STATUS-SESSION-A.yaml"))

    away = remote.with_name("away.git")
    remote.rename(away)
    second = claim(bridge, stamp, "F2.1")
    progress = stamp(TaskProgress(task_id="P0.1.4", epoch=0, percent=50, milestone="half"))
    bridge.submit(progress, datetime.now(UTC).timestamp())
    pump([bridge], lambda: bridge.state().last_error_code == "remote_unreachable")
    pump([bridge], lambda: bridge.state().pending_commits >= 2)
    state = bridge.state()
    assert "events stay committed locally" in (state.last_error or "")
    outputs = bridge.take_outputs()
    assert any(isinstance(e, RemoteUnreachable) for e in outputs.errors)
    assert not [v for v in outputs.verdicts if v.task == "F2.1"], "no verdict without git"

    away.rename(remote)
    pump([bridge], lambda: bridge.state().pending_commits == 0, timeout=30)
    assert log_ids(remote, "session-a") == [first, second, progress.id]
    verdicts = []
    pump([bridge], lambda: bool(verdicts.extend(bridge.take_outputs().verdicts) or verdicts))
    assert [(v.task, v.confirmed) for v in verdicts] == [("F2.1", True)]
    assert bridge.state().last_error is None


def test_force_push_is_recovered_by_re_appending_own_events(tmp_path: Path, remote: Path) -> None:
    a = started(tmp_path, "session-a", remote)
    b = started(tmp_path, "session-b", remote)
    stamp_a, stamp_b = Stamper("session-a"), Stamper("session-b")
    ids_a = [claim(a, stamp_a, "P0.1.4")]
    ids_b = [claim(b, stamp_b, "F2.1")]
    pump(
        [a, b],
        lambda: (
            a.chain.pending() == b.chain.pending() == 0 and len(log_ids(remote, "session-b")) == 1
        ),
    )
    root_commit = git("--git-dir", str(remote), "rev-list", "--max-parents=0", BRANCH).strip()

    # Someone rewrites the branch: back to the first commit, plus a commit of their own.
    work = tmp_path / "rewriter"
    git("clone", "--quiet", "--branch", BRANCH, str(remote), str(work))
    git("reset", "--quiet", "--hard", root_commit, cwd=work)
    (work / "NOTES.md").write_text("rewritten\n")
    git("add", "NOTES.md", cwd=work)
    git("commit", "--quiet", "-m", "rewrite", cwd=work)
    git("push", "--quiet", "--force", "origin", f"HEAD:{BRANCH}", cwd=work)
    assert log_text(remote, "session-a") == ""

    ids_a.append(claim(a, stamp_a, "F2.2"))
    pump(
        [a, b],
        lambda: log_ids(remote, "session-a") == ids_a and log_ids(remote, "session-b") == ids_b,
        timeout=30,
    )
    assert show(remote, "NOTES.md") == "rewritten\n", "the rewrite itself is kept"
    errors = a.take_outputs().errors + b.take_outputs().errors
    assert any(isinstance(e, HistoryRewritten) for e in errors)

    # The ledger was rebuilt from the new history, where each owner wrote its record again.
    def winners() -> dict[tuple[str, int], str]:
        return {key: r.session for key, r in a.reader.ledger.winners().items()}

    expected = {("P0.1.4", 0): "session-a", ("F2.1", 0): "session-b", ("F2.2", 0): "session-a"}
    pump([a, b], lambda: winners() == expected)


def test_corrupt_status_and_log_of_another_session_are_reported_and_skipped(
    tmp_path: Path, remote: Path
) -> None:
    bridge = started(tmp_path, "session-a", remote)
    push_file(
        tmp_path,
        remote,
        "STATUS-SESSION-9-HAND.yaml",
        "session: session-9-hand\nclaiming: [oops\n",
        "hand edit",
    )
    good = Stamper("session-9-hand")(TaskProgress(task_id="P0.1.4", epoch=0, percent=25))
    push_file(
        tmp_path,
        remote,
        ".ifmesh/log/session-9-hand.jsonl",
        good.model_dump_json() + "\n{not json\n",
        "hand-written log",
    )
    bridge.request_fetch(datetime.now(UTC).timestamp())
    errors: list[Exception] = []
    events = []

    def collect() -> bool:
        outputs = bridge.take_outputs()
        errors.extend(outputs.errors)
        events.extend(outputs.events)
        return any(isinstance(e, MalformedLogLine) for e in errors) and bool(
            bridge.reader.problems.get("STATUS-SESSION-9-HAND.yaml")
        )

    pump([bridge], collect)
    # The STATUS file is read as far as it goes, and what broke is reported with its line.
    [partly] = bridge.reader.problems["STATUS-SESSION-9-HAND.yaml"]
    assert partly.path.startswith("STATUS-SESSION-9-HAND.yaml") and partly.line == 2
    assert bridge.reader.statuses["session-9-hand"].claiming is None
    malformed = next(e for e in errors if isinstance(e, MalformedLogLine))
    assert malformed.line == 2 and "session-9-hand.jsonl" in malformed.path
    assert [e.id for e in events] == [good.id], "the good line still counts"

    # The bridge keeps going: its own claim is confirmed as usual.
    claim(bridge, Stamper("session-a"), "P0.1.4")
    verdicts = []
    pump([bridge], lambda: bool(verdicts.extend(bridge.take_outputs().verdicts) or verdicts))
    assert verdicts[0].confirmed


def test_unparseable_board_is_reported_and_left_alone(tmp_path: Path, remote: Path) -> None:
    bridge = started(tmp_path, "session-a", remote)
    push_file(tmp_path, remote, "PHASE-0-TASK-BOARD.md", "# no table any more\n", "oops")
    claim(bridge, Stamper("session-a"), "P0.1.4")
    errors: list[Exception] = []
    pump(
        [bridge],
        lambda: bool(
            errors.extend(bridge.take_outputs().errors)
            or any(isinstance(e, BoardUnparseable) for e in errors)
        ),
    )
    assert show(remote, "PHASE-0-TASK-BOARD.md") == "# no table any more\n"
    assert bridge.chain.pending() == 0


def test_the_scribe_renders_into_the_board_as_edited_by_hand(tmp_path: Path, remote: Path) -> None:
    """The scribe keeps the board file as it last read it, until the file changes: a hand
    edit pushed meanwhile is read again, kept, and rendered into."""
    board = "PHASE-0-TASK-BOARD.md"
    bridge = started(tmp_path, "session-a", remote)
    stamp = Stamper("session-a")

    def row(task: str) -> str:
        return next(line for line in show(remote, board).splitlines() if f"| {task} |" in line)

    claim(bridge, stamp, "P0.1.4")
    pump([bridge], lambda: "| session-a |" in row("P0.1.4"))
    edited = show(remote, board).replace("Circuit breakers", "Circuit breakers, by hand")
    push_file(tmp_path, remote, board, edited, "a hand edit")
    claim(bridge, stamp, "P0.2.4")
    pump([bridge], lambda: "| session-a |" in row("P0.2.4"))
    assert "Circuit breakers, by hand" in row("P0.2.4")
    assert "| session-a |" in row("P0.1.4")


def test_a_node_keeps_the_read_board_only_while_it_is_the_scribe(
    tmp_path: Path, remote: Path
) -> None:
    """What a render needs of the board file (megabytes on a big board) is dropped once a
    session with a lower id takes the scribe's place."""
    later = started(tmp_path, "session-b", remote)
    claim(later, Stamper("session-b"), "P0.1.4")
    pump([later], lambda: "| session-b |" in show(remote, "PHASE-0-TASK-BOARD.md"))
    assert later.scribe._board is not None  # it is the scribe, alone in the room
    first = started(tmp_path, "session-a", remote)
    claim(first, Stamper("session-a"), "P0.2.4")
    pump([later, first], lambda: later.scribe._board is None)


def test_rejected_push_is_reported_and_retried(tmp_path: Path, remote: Path) -> None:
    hook = remote / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'protected branch' >&2\nexit 1\n")
    hook.chmod(hook.stat().st_mode | stat.S_IEXEC)
    bridge = started(tmp_path, "session-a", remote)
    event_id = claim(bridge, Stamper("session-a"), "P0.1.4")
    pump([bridge], lambda: bridge.state().last_error_code == "push_rejected")
    assert any(isinstance(e, PushRejected) for e in bridge.take_outputs().errors)
    assert bridge.state().pending_commits >= 1
    hook.unlink()
    pump([bridge], lambda: bridge.state().pending_commits == 0, timeout=30)
    assert log_ids(remote, "session-a") == [event_id]


def test_missing_branch_is_a_typed_error_or_created_when_asked(
    tmp_path: Path, remote: Path
) -> None:
    with pytest.raises(BranchMissing, match="--create-branch"):
        started(tmp_path, "session-a", remote, branch="no-such-branch")
    bridge = started(tmp_path, "session-b", remote, branch="fresh-branch", create_branch=True)
    assert "| ID | Task | Status | Owner |" in show(remote, "PHASE-0-TASK-BOARD.md", "fresh-branch")
    bridge.close()


def test_unreachable_remote_with_an_empty_state_dir_is_a_typed_error(tmp_path: Path) -> None:
    require_tool("git")
    with pytest.raises(RemoteUnreachable, match="check the URL"):
        started(tmp_path, "session-a", tmp_path / "nowhere.git")


def test_resume_from_git_with_an_empty_state_dir(tmp_path: Path, remote: Path) -> None:
    bridge = started(tmp_path, "session-a", remote)
    stamp = Stamper("session-a", seq=40, lamport=90)
    claim(bridge, stamp, "P0.1.4")
    claim(bridge, stamp, "F2.1")
    pump([bridge], lambda: len(log_ids(remote, "session-a")) == 2)
    bridge.close()
    shutil.rmtree(tmp_path / "state" / "session-a")
    again = opened(GitSync(config(tmp_path, "session-a", remote)))
    resume = again.start(datetime.now(UTC).timestamp())
    assert (resume.seq, resume.lamport, resume.events) == (42, 92, 2)
    assert resume.incarnations == (stamp.incarnation,)


def test_a_second_process_for_one_session_stops_the_bridge(tmp_path: Path, remote: Path) -> None:
    first = started(tmp_path, "session-a", remote, incarnation="first-host")
    claim(first, Stamper("session-a"), "P0.1.4")
    pump([first], lambda: first.chain.pending() == 0 and bool(log_ids(remote, "session-a")))
    second = opened(
        GitSync(
            config(
                tmp_path,
                "session-a",
                remote,
                incarnation="second-host",
                state_dir=tmp_path / "elsewhere",
            )
        )
    )
    second.start(datetime.now(UTC).timestamp())
    stamp = Stamper("session-a", seq=5, lamport=5)
    stamp.incarnation = "second-host"
    claim(second, stamp, "F2.1")
    pump([second], lambda: len(log_ids(remote, "session-a")) == 2)
    first.request_fetch(datetime.now(UTC).timestamp())
    with pytest.raises(IncarnationConflict) as raised:
        pump([first], lambda: False, timeout=10)
    assert "first-host" in str(raised.value) and "second-host" in str(raised.value)
    assert first.get_timer() is None and first.state().stopped


def test_state_dir_is_locked_to_one_process(tmp_path: Path, remote: Path) -> None:
    bridge = started(tmp_path, "session-a", remote)
    with pytest.raises(StateDirLocked, match="another --state-dir"):
        started(tmp_path, "session-a", remote)
    bridge.close()


def test_events_close_together_share_one_commit(tmp_path: Path, remote: Path) -> None:
    bridge = started(tmp_path, "session-a", remote, batch_window=0.5)
    stamp = Stamper("session-a")
    now = datetime.now(UTC).timestamp()
    for percent in (25, 50, 75):
        bridge.submit(stamp(TaskProgress(task_id="P0.1.4", epoch=0, percent=percent)), now)
    pump([bridge], lambda: len(log_ids(remote, "session-a")) == 3)
    subjects = git("--git-dir", str(remote), "log", "--format=%s", BRANCH).splitlines()
    assert subjects[0] == "progress: P0.1.4 25%; progress: P0.1.4 50%; progress: P0.1.4 75%"


def test_claims_queued_behind_a_lost_race_land_in_one_commit_with_every_record(
    tmp_path: Path, remote: Path
) -> None:
    a = started(tmp_path, "session-a", remote)
    stamp = Stamper("session-a")
    push_file(tmp_path, remote, "notes.md", "moved\n", "docs: someone else pushes first")
    ids = [claim(a, stamp, task) for task in ("P0.1.4", "F2.1", "F2.2")]
    verdicts: list[Verdict] = []
    pump([a], lambda: bool(verdicts.extend(a.take_outputs().verdicts)) or len(verdicts) == 3)
    assert a.state().lost_races >= 1  # its first push was built on a stale tip
    assert sorted((v.task, v.confirmed) for v in verdicts) == [
        ("F2.1", True),
        ("F2.2", True),
        ("P0.1.4", True),
    ]
    assert log_ids(remote, "session-a") == ids
    subjects = git("--git-dir", str(remote), "log", "--format=%s", BRANCH).splitlines()
    assert subjects[0] == "claim: P0.1.4; claim: F2.1; claim: F2.2"
    assert subjects[1] == "docs: someone else pushes first"
    status = show(remote, "STATUS-SESSION-A.yaml")
    assert "claiming: F2.2" in status and "- P0.1.4@0" in status and "- F2.1@0" in status
    # Any other reader of the branch reaches the same verdicts from git alone.
    b = started(tmp_path, "session-b", remote)
    winners = {task: b.reader.ledger.winner(task, 0) for task in ("P0.1.4", "F2.1", "F2.2")}
    assert {task: w.session if w else None for task, w in winners.items()} == {
        "P0.1.4": "session-a",
        "F2.1": "session-a",
        "F2.2": "session-a",
    }


def test_a_writer_that_lost_twice_running_pushes_without_waiting_for_its_turn(
    tmp_path: Path, remote: Path
) -> None:
    """A writer the others do not count yet gets no turn in their rings; after two lost races
    in a row it stops waiting for one (seen: a joining writer starved for 4 s)."""
    bridge = started(tmp_path, "session-5", remote)
    now = datetime.now(UTC).timestamp()
    tip = git("--git-dir", str(remote), "rev-parse", BRANCH).strip()
    others = [f"session-{n}" for n in (1, 2, 3, 4, 7, 8, 6)]  # session-6 landed the tip
    bridge._turns.observe("0" * 40, [], now - 1.0)
    bridge._turns.observe(tip, others, now)  # the ring as this writer sees it
    assert bridge._turns.wait(now) > 0  # six writers before this one
    event = claim(bridge, Stamper("session-5"), "P0.5.2")
    for _ in range(2):
        bridge._sched.push_lost_race(now, 0.0, busy=True)
    bridge.handle_timer(datetime.now(UTC).timestamp())  # commits the claim, pushes at once
    assert event in log_ids(remote, "session-5")
