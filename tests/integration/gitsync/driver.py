"""A stand-in for the node runtime around one git-sync bridge, run as its own process.

It wires what the runtime will: the board's :class:`Replica` (claims, the contest window,
confirmations, verdicts) and a :class:`GitSync`, with no mesh — every session learns about
the others through git alone, the hardest case for the git tier. It claims the tasks it is
given, and for each one git confirms to it, reports 50% and completes it.

Protocol: JSON lines on stdout (``ready``, ``done``, ``final``); commands on stdin
(``final``: fetch and report the board; ``quit``). Logs go to stderr.

    python -m tests.integration.gitsync.driver --session S --remote R --branch B \
        --state-dir D --board FILE --tasks P0.1.4,F2.1
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import selectors
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from ifmesh.node.board.canonical import canonical_bytes
from ifmesh.node.board.formats.taskboard import parse_task_board
from ifmesh.node.board.replica import Replica
from ifmesh.node.board.seed import seed_board
from ifmesh.node.board.state import TaskStatus
from ifmesh.node.errors import CoordinationError
from ifmesh.node.gitsync.bridge import GitSync
from ifmesh.node.gitsync.config import BridgeConfig
from ifmesh.node.protocol.messages import Envelope


def _emit(kind: str, **fields: Any) -> None:
    sys.stdout.write(json.dumps({kind: fields}) + "\n")
    sys.stdout.flush()


class Session:
    def __init__(self, args: argparse.Namespace) -> None:
        self.name: str = args.session
        config = BridgeConfig(
            session=args.session,
            remote_url=args.remote,
            branch=args.branch,
            state_dir=Path(args.state_dir),
            incarnation=uuid.uuid4().hex,
            fetch_interval=args.fetch_interval,
            seed_branch_glob=args.glob or None,
        )
        document = parse_task_board(Path(args.board).read_text())
        self.replica = Replica(self.name, config.incarnation, initial=seed_board(document))
        self.sync = GitSync(config)
        self.tasks: list[str] = [t for t in args.tasks.split(",") if t]
        self.claimed: set[str] = set()
        self.progressed: set[str] = set()
        self.completed: set[str] = set()
        self.own_ids: list[str] = []
        self.verdicts: list[dict[str, Any]] = []
        self.errors: list[str] = []

    def start(self) -> None:
        resume = self.sync.start(time.time())
        for event in self.sync.chain.take_loaded():
            self.replica.receive(event)
        self._absorb()
        self.replica.resume()
        _emit("ready", seq=resume.seq, lamport=resume.lamport)

    def _submit(self, events: tuple[Envelope, ...]) -> None:
        for event in events:
            self.own_ids.append(event.id)
            self.sync.submit(event, time.time())

    def _absorb(self) -> None:
        outputs = self.sync.take_outputs()
        for event in outputs.events:
            self.replica.receive(event)
        for verdict in outputs.verdicts:
            self.verdicts.append(
                {"task": verdict.task, "epoch": verdict.epoch, "winner": verdict.winner}
            )
            now = datetime.now(UTC)
            self._submit(self.replica.git_verdict(verdict.task, verdict.epoch, verdict.winner, now))
        self.errors.extend(f"{e.code}: {e}" for e in outputs.errors)

    def step(self) -> None:
        now = datetime.now(UTC)
        for task_id in self.tasks:
            if task_id not in self.claimed:
                self.claimed.add(task_id)
                with contextlib.suppress(CoordinationError):  # git already named another
                    self._submit(self.replica.claim(task_id, now))
        for task_id, epoch in self.replica.take_confirmations(now):
            self.sync.write_confirm_record(task_id, epoch, time.time())
        for task_id in self.tasks:
            task = self.replica.board.task(task_id)
            if task is None or task.owner != self.name or not task.confirmed:
                continue
            if task_id not in self.progressed:
                self.progressed.add(task_id)
                self._submit(self.replica.progress(task_id, 50, now, milestone="halfway"))
            elif task_id not in self.completed and task.status is TaskStatus.CLAIMED:
                self.completed.add(task_id)
                self._submit(self.replica.complete(task_id, now, deliverable=f"{task_id}.md"))
        timer = self.sync.get_timer()
        if timer is not None and timer <= time.time():
            self.sync.handle_timer(time.time())
        self._absorb()

    def settled(self) -> bool:
        """Every task is completed by us or held by someone else, and git has it all."""
        for task_id in self.tasks:
            task = self.replica.board.task(task_id)
            if task is None:
                continue
            mine = task.owner == self.name
            if mine and task.status is not TaskStatus.COMPLETED:
                return False
            if not mine and task.owner is None and task_id in self.claimed:
                return False  # our claim lost and the winner's events not yet read
        return self.sync.chain.pending() == 0 and not self.sync.has_batch()

    def final(self) -> None:
        self.sync.request_fetch(time.time())
        self.sync.handle_timer(time.time())
        self._absorb()
        board = self.replica.board
        state = self.sync.state()
        _emit(
            "final",
            head=state.remote_head,
            pending=state.pending_commits,
            board=hashlib.sha256(canonical_bytes(board)).hexdigest(),
            owners={
                t.task_id: [t.owner, t.status.value, t.epoch, t.confirmed]
                for t in board.tasks.values()
                if t.owner is not None
            },
            tasks={
                t: self.replica.board.task(t) is not None and repr(self.replica.board.task(t))
                for t in self.tasks
            },
            batch=self.sync.has_batch(),
            winners={
                f"{task}@{epoch}": record.session
                for (task, epoch), record in self.sync.reader.ledger.winners().items()
            },
            own_ids=self.own_ids,
            verdicts=self.verdicts,
            errors=self.errors,
            lost_races=state.lost_races,
            pushes=state.pushes,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    for flag in ("--session", "--remote", "--branch", "--state-dir", "--board"):
        parser.add_argument(flag, required=True)
    parser.add_argument("--tasks", default="")
    parser.add_argument("--glob", default="")
    parser.add_argument("--fetch-interval", type=float, default=1.0)
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    session = Session(args)
    session.start()
    selector = selectors.DefaultSelector()
    selector.register(sys.stdin, selectors.EVENT_READ)
    done_sent = False
    while True:
        session.step()
        if not done_sent and session.settled():
            done_sent = True
            _emit("done")
        # Sleep until the bridge's next timer; wake every 50 ms for the replica's own
        # deadlines (the contest window).
        timer = session.sync.get_timer() or time.time() + 1
        wait = min(0.05, max(0.0, timer - time.time()))
        for _key, _mask in selector.select(timeout=wait):
            command = sys.stdin.readline().strip()
            if command in ("quit", ""):
                session.sync.close()
                return
            if command == "final":
                session.final()


if __name__ == "__main__":
    main()
