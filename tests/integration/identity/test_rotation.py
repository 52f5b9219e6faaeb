"""A session's key changes only as docs/security.md says: rotated by the old key (`ifmesh keys
rotate`), or overridden by an operator key each node pins locally. A different key without
either is a conflict: the old pin stays, and a node holding the unpinned key does not start."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ifmesh.node.cli.room import LocalRoom, RoomError, ifmesh_command
from ifmesh.node.identity import keys
from tests.conftest import require_tool
from tests.integration.identity.support import push_as_anyone, status, until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
FIRST, SECOND = "session-2-webrtc", "session-3-h323"


def run_keys(room: LocalRoom, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ifmesh_command(), "keys", *args], env=room.env, capture_output=True, text=True,
        check=False,
    )  # fmt: skip


async def pinned(room: LocalRoom, at: str, session: str) -> dict[str, str]:
    pins: dict[str, dict[str, str]] = (await status(room, at))["identity"]["pinned"]
    return pins.get(session, {})


async def test_a_rotated_key_is_pinned_by_every_node(tmp_path: Path) -> None:
    require_tool("git")
    async with LocalRoom(tmp_path, sessions=2, fetch_interval_seconds=1) as room:
        await room.wait_mesh(timeout=120)
        old = (await pinned(room, FIRST, SECOND))["key"]
        assert await room.stop_node(SECOND) == 0
        rotated = run_keys(room, "rotate", "--session", SECOND, "--json")
        assert rotated.returncode == 0, rotated.stderr
        new = keys.parse_public_key(json.loads(rotated.stdout)["public_key"])
        assert new is not None and new.short != old
        room.start_node(SECOND)
        await room.wait_control(SECOND)

        async def moved() -> bool:
            pin = await pinned(room, FIRST, SECOND)
            return pin.get("key") == new.short and pin.get("how") == "rotation"

        await until(moved, 60, f"{FIRST} to pin {SECOND}'s new key")
        await room.wait_mesh(timeout=120)  # the pair authenticates with the new key
        for session in room.members:
            identity = (await status(room, session))["identity"]
            assert identity["refused"]["by_code"] == {}, identity["refused"]
            assert identity["pairs_refused"]["count"] == 0


async def test_a_lost_key_needs_an_operator_and_a_pushed_key_is_a_conflict(
    tmp_path: Path,
) -> None:
    require_tool("git")
    operator = keys.SessionKey.generate()
    operator_file = tmp_path / "operator.key"
    keys.write_key_file(operator_file, operator)
    async with LocalRoom(
        tmp_path / "room", sessions=2, fetch_interval_seconds=1,
        extra_args=["--operator-keys", operator.public.text],
    ) as room:  # fmt: skip
        await room.wait_mesh(timeout=120)
        assert room.remote is not None
        second_state = room.state_root / SECOND
        pinned_key = keys.load_key_file(keys.key_path(second_state)).public

        # Anyone who can push puts another key for FIRST on the branch: refused, pin kept.
        mallory = keys.SessionKey.generate().public

        def replace_key(work: Path) -> None:
            (work / f".ifmesh/keys/{FIRST}.pub").write_text(mallory.text + "\n")

        push_as_anyone(room.remote, tmp_path / "mallory", replace_key)

        async def conflict_reported() -> bool:
            conflicts = (await status(room, SECOND))["identity"]["conflicts"]
            return any(c["session"] == FIRST and c["offered"] == mallory.short for c in conflicts)

        await until(conflict_reported, 60, f"{SECOND} to report the pushed key as a conflict")
        assert (await pinned(room, SECOND, FIRST))["how"] == "first use"

        # SECOND loses its key: its node refuses to start with a key the branch does not pin.
        assert await room.stop_node(SECOND) == 0
        keys.key_path(second_state).unlink()
        room.start_node(SECOND)
        with pytest.raises(RoomError, match="exited"):
            await room.wait_control(SECOND, timeout=60)
        log = room.members[SECOND].log_path
        assert log is not None and "key_not_accepted" in log.read_text()

        # An operator overrides the pin; every node that pins the operator key follows.
        override = run_keys(
            room, "override", "--session", SECOND, "--operator-key", str(operator_file),
            "--previous", pinned_key.text,
        )  # fmt: skip
        assert override.returncode == 0, override.stderr
        room.start_node(SECOND)
        await room.wait_control(SECOND)
        new = keys.load_key_file(keys.key_path(second_state)).public

        async def overridden() -> bool:
            pin = await pinned(room, FIRST, SECOND)
            return pin.get("key") == new.short and pin.get("how") == "operator override"

        await until(overridden, 60, f"{FIRST} to pin {SECOND}'s key from the override")
        await room.wait_mesh(timeout=120)
