"""The bridge inside an asyncio node: git work in a worker thread, timers on the loop.

:class:`AsyncGitSync` wakes when :meth:`GitSync.get_timer` says, or at once when the node
submits something, runs :meth:`GitSync.handle_timer` in a thread (git is blocking; the mesh
must not wait on it), and hands what git brought in to ``on_outputs`` on the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TypeVar

import structlog

from ifmesh.node.board.formats.reserved import RESERVED, ReservedEntry, read_entries
from ifmesh.node.gitsync.bridge import GitSync
from ifmesh.node.gitsync.errors import IncarnationConflict
from ifmesh.node.gitsync.eventlog import ResumePoint
from ifmesh.node.gitsync.outputs import Outputs, SyncState
from ifmesh.node.gitsync.reservation_ledger import ReservationLedger
from ifmesh.node.protocol.messages import Envelope

log = structlog.get_logger(__name__)

Clock = Callable[[], float]
T = TypeVar("T")


class ReadAbandoned(Exception):
    """Raised in the worker thread to end a start-up read nobody waits for any more."""


async def to_the_end(work: Awaitable[T], on_cancel: Callable[[], None] = lambda: None) -> T:
    """Awaits ``work`` (a thread's); if the caller is cancelled (a SIGTERM while starting),
    calls ``on_cancel``, waits for the thread to end anyway, then is cancelled: a thread
    still inside the clone when the stop flushes it would race GitPython, which is not
    thread-safe, and could hang both."""
    running = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        on_cancel()
        with contextlib.suppress(Exception):  # ReadAbandoned, or whatever ended it meanwhile
            await running
        raise


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class AsyncGitSync:
    def __init__(
        self,
        sync: GitSync,
        on_outputs: Callable[[Outputs], None],
        *,
        clock: Clock = time.time,
    ) -> None:
        self.sync = sync
        self._on_outputs = on_outputs
        self._clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.stopped: IncarnationConflict | None = None
        self._snapshot: SyncState | None = None
        # (peer, landed tip and its objects, or None: the peer waits)
        # Appended on the loop, taken in the worker thread: a deque's ends are thread-safe.
        self._hints: deque[tuple[str, tuple[str, bytes | None] | None]] = deque()

    @property
    def on_outputs(self) -> Callable[[Outputs], None]:
        return self._on_outputs

    @on_outputs.setter
    def on_outputs(self, handler: Callable[[Outputs], None]) -> None:
        """Where outputs go from now on (e.g. straight to the board once it is built)."""
        self._on_outputs = handler

    async def start(self) -> ResumePoint:
        """:meth:`open`, then :meth:`read_first` with every event in the first outputs."""
        resume = await self.open()
        await self.read_first()
        return resume

    async def open(self) -> ResumePoint:
        """Opens the clone and this session's log (GitSync.open); :meth:`read_first` next."""
        return await to_the_end(asyncio.to_thread(self.sync.open, self._clock()))

    async def read_first(self, fold: Callable[[list[Envelope]], None] | None = None) -> None:
        """Reads the branch in the worker thread, then runs the bridge. With ``fold``, other
        sessions' events are folded on the loop a chunk at a time while the thread reads on
        (it waits for each chunk's fold, so no more than a chunk waits decoded); without,
        they come in the first outputs."""
        loop = asyncio.get_running_loop()
        abandoned = threading.Event()

        async def folded(chunk: list[Envelope]) -> None:
            assert fold is not None
            fold(chunk)

        def sink(chunk: list[Envelope]) -> None:
            if abandoned.is_set():  # the node stopped while starting: read no further
                raise ReadAbandoned("the node stopped during its start-up read")
            asyncio.run_coroutine_threadsafe(folded(chunk), loop).result()

        now = self._clock()
        reading = asyncio.to_thread(self.sync.read_first, now, sink if fold else None)
        try:
            await to_the_end(reading, on_cancel=abandoned.set)
        finally:
            abandoned.set()
        self._snapshot = await asyncio.to_thread(self.sync.state)
        self._deliver()
        self._task = asyncio.create_task(self._run(), name=f"gitsync-{self.sync.config.session}")

    def submit(self, event: Envelope) -> None:
        self.sync.submit(event, self._clock())
        self._wake.set()

    @property
    def saved_seq(self) -> int:
        """The last seq of this session's log committed in the state directory."""
        return self.sync.chain.saved_seq

    def write_confirm_record(self, task: str, epoch: int, *, answered: bool = False) -> None:
        self.sync.write_confirm_record(task, epoch, self._clock(), answered=answered)
        self._wake.set()

    def write_reservation_record(self, entries: Sequence[ReservedEntry]) -> None:
        self.sync.write_reservation_record(entries, self._clock())
        self._wake.set()

    def reservation_ledger(self) -> ReservationLedger:
        """Git's path reservations as last read. Safe on the loop: its ``standing()`` and
        ``against()`` read a snapshot the worker thread replaces, never changes."""
        return self.sync.reader.reservations

    def reserved_records(self) -> list[ReservedEntry]:
        """This session's reservation records in its STATUS as the bridge will next write it
        (a snapshot: the chain replaces its STATUS, never changes it)."""
        status = self.sync.chain.status
        entries, _ = read_entries(status.extra.get(RESERVED), status.timestamp or _EPOCH)
        return entries

    async def holds_record(self, task: str, epoch: int) -> bool:
        """Whether git has decided (task, epoch), or a confirm record of this session for it
        waits in a local commit (one a killed predecessor made and did not push)."""

        def check() -> bool:
            sync = self.sync
            with sync.git_lock:
                if sync.reader.ledger.verdict(task, epoch, sync.config.session) is not None:
                    return True
                return any(
                    r.task == task and r.epoch == epoch for r in sync.chain.pending_records()
                )

        return await asyncio.to_thread(check)

    def request_fetch(self) -> None:
        self.sync.request_fetch(self._clock())
        self._wake.set()

    def landed_elsewhere(self, session: str, tip: str, objects: bytes | None) -> None:
        """A peer's push landed (a mesh hint): taken in the worker thread, before the timer."""
        self._hints.append((session, (tip, objects)))
        self._wake.set()

    def waiting_elsewhere(self, session: str) -> None:
        self._hints.append((session, None))
        self._wake.set()

    def _step(self) -> None:
        """One turn of the worker thread: the hints that came meanwhile, then the timer."""
        while self._hints:
            session, landed = self._hints.popleft()
            if landed is None:
                self.sync.waiting_elsewhere(session, self._clock())
            else:
                tip, objects = landed
                self.sync.landed_elsewhere(session, tip, self._clock(), objects)
        self.sync.handle_timer(self._clock())

    def state(self) -> SyncState:
        """The state as of the last git operation. Reading git here, on the event loop, would
        race the worker thread for GitPython's one cat-file process and can hang both."""
        assert self._snapshot is not None, "start() first"
        return self._snapshot

    async def _run(self) -> None:
        while True:
            timer = self.sync.get_timer()
            if timer is None:
                return
            delay = max(0.0, timer - self._clock())
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), delay)
            self._wake.clear()
            if not self._hints and not self._due():
                # Woken by a submission with nothing due yet (an event opens a batch window):
                # no hop to the worker thread, whose Python would contend for the GIL with the
                # loop while a claim is being decided. Outputs ready now still go out.
                self._deliver()
                continue
            try:
                await asyncio.to_thread(self._step)
            except IncarnationConflict as exc:
                self.stopped = exc
                log.error("gitsync.stopped", error=str(exc))
                return
            except Exception:
                log.exception("gitsync.loop_error", note="retrying in 1 s")
                await asyncio.sleep(1.0)
            finally:
                self._deliver()
            try:
                self._snapshot = await asyncio.to_thread(self.sync.state)
            except Exception:
                log.exception("gitsync.state_error")

    def _due(self) -> bool:
        timer = self.sync.get_timer()
        return timer is not None and timer <= self._clock()

    def _deliver(self) -> None:
        outputs = self.sync.take_outputs()
        if outputs:
            try:
                self._on_outputs(outputs)
            except Exception:
                log.exception("gitsync.outputs_error")

    async def close(self, timeout: float = 10.0) -> int:
        """Stops the timer loop, then tries for ``timeout`` seconds to push what is pending;
        returns the commits still pending (kept in the state directory for the next start).
        Stopped before its first read ended, it pushes nothing: a push reads the branch first,
        which on a day's history is the very read the stop cut short."""
        if self._task is None:  # the first read never ended: the bridge never ran
            chain = getattr(self.sync, "chain", None)  # None: the clone never opened
            self.sync.close()
            return chain.pending() if chain is not None else 0
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        deadline = self._clock() + timeout
        pending = await asyncio.to_thread(self.sync.flush, self._clock())
        while pending and self._clock() < deadline and self.stopped is None:
            await asyncio.sleep(min(0.2, max(0.0, deadline - self._clock())))
            pending = await asyncio.to_thread(self.sync.flush, self._clock())
        self._deliver()
        self.sync.close()
        return pending
