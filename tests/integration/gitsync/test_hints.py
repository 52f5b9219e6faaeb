"""Turn hints between bridges (node.gitsync.hints): a landing hint hands the turn to the next
writer before any fetch of its shows the landing; a lost race tells the peers it waits. Real
git, bare remotes in temp dirs; the mesh that carries hints between nodes is tested in
tests/integration/mesh."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from ifmesh.node.gitsync import handoff, hints
from ifmesh.node.gitsync.bridge import GitSync
from ifmesh.node.protocol.messages import TaskClaim
from tests.integration.gitsync.support import BRANCH, Stamper, git, started

pytestmark = pytest.mark.integration


def claim(bridge: GitSync, task: str, now: float) -> None:
    stamp = Stamper(bridge.config.session)
    stamp.seq = stamp.lamport = bridge.chain.pending() + bridge.chain.saved_seq
    event = stamp(TaskClaim(task_id=task, epoch=0, swarm_id=stamp.session, timestamp=_at(now)))
    bridge.submit(event, now)
    bridge.write_confirm_record(task, 0, now)


def _at(now: float) -> datetime:
    return datetime.fromtimestamp(now, UTC)


def test_a_landing_hint_makes_the_next_writer_push_at_once(tmp_path: Path, remote: Path) -> None:
    waiting = started(tmp_path, "session-3", remote)
    pushing = started(tmp_path, "session-2", remote)
    now = datetime.now(UTC).timestamp()
    tip = git("--git-dir", str(remote), "rev-parse", BRANCH).strip()
    for bridge in (waiting, pushing):  # session-1 landed the tip: session-2's turn, then 3's
        bridge._turns.observe("0" * 40, [], now - 1.0)
        bridge._turns.observe(tip, ["session-2", "session-3", "session-4", "session-1"], now)

    claim(waiting, "P0.5.2", now)
    waiting.handle_timer(now)  # commits; not its turn: the push waits for a later look
    deferred = waiting.get_timer()
    assert deferred is not None and deferred > now

    claim(pushing, "P0.6.1", now)
    pushing.handle_timer(now)
    out = pushing.take_outputs()
    landed = git("--git-dir", str(remote), "rev-parse", BRANCH).strip()
    assert [x.tip for x in out.landed] == [landed] and not out.waiting
    (hint,) = hints.to_send(out)
    assert hint["landed"] == landed and "objects" in hint

    hints.received(_Taker(waiting, now), "session-2", {"landed": landed})
    timer = waiting.get_timer()
    assert timer is not None and timer <= now  # its turn, told before any fetch of its own
    waiting.handle_timer(now)
    verdicts = waiting.take_outputs().verdicts
    assert [(v.task, v.confirmed) for v in verdicts] == [("P0.5.2", True)]
    assert waiting.state().pending_commits == 0


def test_a_lost_race_tells_the_peers_that_it_waits(tmp_path: Path, remote: Path) -> None:
    first = started(tmp_path, "session-1", remote)
    second = started(tmp_path, "session-2", remote)  # both have seen the same tip
    now = datetime.now(UTC).timestamp()
    for bridge, task in ((first, "P0.5.2"), (second, "P0.6.1")):
        claim(bridge, task, now)
        bridge.take_outputs()
    first.handle_timer(now)
    second.handle_timer(now)  # alone as far as it knows: pushes on its stale tip and loses
    assert second.state().lost_races == 1
    out = second.take_outputs()
    assert out.waiting and not out.landed
    assert hints.to_send(out) == [{"waiting": True}]


class _Taker:
    """Hands hints to a bridge as the node's runner does (node.gitsync.runner), at ``now``."""

    def __init__(self, bridge: GitSync, now: float) -> None:
        self.bridge, self.now = bridge, now

    def landed_elsewhere(self, session: str, tip: str, objects: bytes | None) -> None:
        self.bridge.landed_elsewhere(session, tip, self.now, objects)

    def waiting_elsewhere(self, session: str) -> None:
        self.bridge.waiting_elsewhere(session, self.now)


def test_a_landing_hint_with_its_objects_spares_the_next_writer_a_fetch(
    tmp_path: Path, remote: Path
) -> None:
    waiting = started(tmp_path, "session-3", remote)
    pushing = started(tmp_path, "session-2", remote)
    late = started(tmp_path, "session-5", remote)
    now = datetime.now(UTC).timestamp()
    tip = git("--git-dir", str(remote), "rev-parse", BRANCH).strip()
    for bridge in (waiting, pushing):
        bridge._turns.observe("0" * 40, [], now - 1.0)
        bridge._turns.observe(tip, ["session-2", "session-3", "session-4", "session-1"], now)
    claim(waiting, "P0.5.2", now)
    waiting.handle_timer(now)  # deferred: not its turn
    fetched_at = waiting.state().last_fetch_at

    claim(pushing, "P0.6.1", now)
    pushing.handle_timer(now)
    (landed,) = pushing.take_outputs().landed
    assert landed.objects is not None
    waiting.landed_elsewhere("session-2", landed.tip, now + 0.01, landed.objects)
    assert waiting.clone.ref(waiting.clone.remote_ref) == landed.tip  # complete here now
    waiting.handle_timer(now + 0.01)
    assert waiting.state().last_fetch_at == fetched_at, "it built on the handed tip"
    assert waiting.state().pushes == 1 and waiting.state().lost_races == 0
    assert [(v.task, v.confirmed) for v in waiting.take_outputs().verdicts] == [("P0.5.2", True)]

    # Objects that do not build on a clone's view of the branch are not taken: session-5
    # never saw session-3's commit, on which the next landing builds.
    claim(pushing, "P0.6.2", now)
    assert pushing.flush(now + 0.02) == 0  # a push out of turn, as at shutdown
    (second,) = pushing.take_outputs().landed
    assert second.objects is not None
    assert not handoff.take(late.clone, second.tip, second.objects)
    assert not handoff.take(waiting.clone, second.tip, b"not zlib")
    assert handoff.take(waiting.clone, second.tip, second.objects)


def test_a_push_of_several_commits_is_handed_over_whole(tmp_path: Path, remote: Path) -> None:
    lander = started(tmp_path, "session-1", remote)
    peer = started(tmp_path, "session-2", remote)  # both have seen the same tip
    now = datetime.now(UTC).timestamp()
    lander.chain.refresh_status(_at(now))  # a local commit first, then the claim's
    claim(lander, "P0.5.2", now)
    lander.handle_timer(now)  # alone on the branch: both commits go in one push
    (landed,) = lander.take_outputs().landed
    assert landed.objects is not None
    history = git("--git-dir", str(remote), "log", "--format=%s", "-2", BRANCH).splitlines()
    assert history == ["claim: P0.5.2", "chore: Update session-1 status"]
    assert handoff.take(peer.clone, landed.tip, landed.objects)
    # Complete here: the peer reads the claim's confirm record from its own clone.
    peer.clone.set_ref(peer.clone.remote_ref, landed.tip)
    peer.reader.read(landed.tip)
    winner = peer.reader.ledger.winner("P0.5.2", 0)
    assert winner is not None and winner.session == "session-1"
