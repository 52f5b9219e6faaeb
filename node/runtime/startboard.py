"""The board a room starts from, read from the coordination branch.

Every node must fold the same events over the same starting board, or boards diverge. The
board file on the branch changes as the scribe re-renders its Status and Owner cells, so the
start is the file as it was *first committed* (the first commit in first-parent history that
has it): the same for every node however late it joins. Later changes reach the board as
events. The task overlay (``.ifmesh/tasks.yaml``) and the room's policy
(``.ifmesh/policy.yaml``) are read at the branch tip.
"""

from __future__ import annotations

from dataclasses import dataclass

from ifmesh.node.board.formats.overlay import TaskOverlay, parse_overlay
from ifmesh.node.board.formats.problems import ReadProblem
from ifmesh.node.board.formats.status import load_status_files
from ifmesh.node.board.formats.taskboard import parse_task_board
from ifmesh.node.board.seed import seed_board
from ifmesh.node.board.state import Board
from ifmesh.node.gitsync.clone import Clone
from ifmesh.node.gitsync.errors import GitSyncError
from ifmesh.node.gitsync.paths import BOARD_PATH

OVERLAY_PATH = ".ifmesh/tasks.yaml"
POLICY_PATH = ".ifmesh/policy.yaml"


class NoTaskBoard(GitSyncError):
    code = "no_task_board"


@dataclass(frozen=True)
class RoomFiles:
    board: Board
    board_commit: str
    policy_text: str | None
    # What the board and the STATUS files at that commit could not fully say.
    problems: tuple[ReadProblem, ...] = ()


def read_room(clone: Clone) -> RoomFiles:
    tip = clone.ref(clone.remote_ref) or clone.ref(clone.local_ref)
    if tip is None:
        raise NoTaskBoard(
            f"branch {clone.branch} has no commits yet; start a node with --create-branch"
        )
    touching = clone.repo.git.rev_list("--first-parent", "--reverse", tip, "--", BOARD_PATH)
    first = touching.split()[0] if touching.strip() else None
    text = clone.read(first, BOARD_PATH) if first is not None else None
    if first is None or text is None:
        raise NoTaskBoard(
            f"branch {clone.branch} has no {BOARD_PATH}; add one (see examples/phase0/) "
            "or start a node with --create-branch for a starter board"
        )
    # What sessions wrote is read as far as it goes: never a reason not to start.
    document = parse_task_board(text.decode("utf-8", errors="replace"), BOARD_PATH)
    # The owners of rows the file shows as claimed: their STATUS files as of that same commit
    # date those claims (a claim with no STATUS is stale at once and may be stolen).
    status_texts = {
        str(blob.path): blob.data_stream.read().decode("utf-8", errors="replace")
        for blob in clone.repo.commit(first).tree.blobs
        if str(blob.path).startswith("STATUS-") and str(blob.path).endswith(".yaml")
    }
    statuses, status_problems = load_status_files(status_texts)
    overlay: dict[str, TaskOverlay] = {}
    overlay_text = clone.read(tip, OVERLAY_PATH)
    if overlay_text is not None:
        overlay = parse_overlay(overlay_text.decode("utf-8"), OVERLAY_PATH)
    policy = clone.read(tip, POLICY_PATH)
    return RoomFiles(
        board=seed_board(document, overlay, statuses),
        board_commit=first,
        policy_text=policy.decode("utf-8") if policy is not None else None,
        problems=(*document.problems, *status_problems),
    )
