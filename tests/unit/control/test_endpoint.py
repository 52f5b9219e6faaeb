"""Finding a running node: state directories, locks, control.json."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ifmesh.node import errors
from ifmesh.node.control import endpoint
from ifmesh.node.runtime.statedir import StateDirLock, StateDirLocked, is_locked


def start_fake_node(root: Path, session: str) -> StateDirLock:
    """What a node does at start: lock its state dir, write a token and control.json."""
    directory = root / session
    lock = StateDirLock(directory)
    lock.acquire()
    token = endpoint.write_token(directory)
    endpoint.publish(
        directory,
        endpoint.ControlEndpoint(session, os.getpid(), "http://127.0.0.1:1", token),
    )
    return lock


def test_one_process_per_state_directory(tmp_path: Path) -> None:
    first = StateDirLock(tmp_path / "s")
    first.acquire()
    assert is_locked(tmp_path / "s")
    with pytest.raises(StateDirLocked, match=f"pid {os.getpid()}"):
        StateDirLock(tmp_path / "s").acquire()
    first.release()
    assert not is_locked(tmp_path / "s")
    with StateDirLock(tmp_path / "s"):
        pass


def test_token_file_is_private(tmp_path: Path) -> None:
    path = endpoint.write_token(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().strip()) >= 32


def test_find_node_by_session_only_and_ambiguity(tmp_path: Path) -> None:
    with pytest.raises(errors.NodeNotRunning, match="ifmesh node --session"):
        endpoint.find_node(root=tmp_path)
    a = start_fake_node(tmp_path, "session-1-ndi")
    assert endpoint.find_node(root=tmp_path).session == "session-1-ndi"
    b = start_fake_node(tmp_path, "session-2-webrtc")
    with pytest.raises(errors.AmbiguousNode, match="session-1-ndi, session-2-webrtc"):
        endpoint.find_node(root=tmp_path)
    assert endpoint.find_node("session-2-webrtc", root=tmp_path).session == "session-2-webrtc"
    b.release()  # a dead node leaves control.json behind; its lock is gone
    assert endpoint.find_node(root=tmp_path).session == "session-1-ndi"
    with pytest.raises(errors.NodeNotRunning, match="session-2-webrtc"):
        endpoint.find_node("session-2-webrtc", root=tmp_path)
    a.release()


def test_session_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    start_fake_node(tmp_path, "session-1-ndi")
    start_fake_node(tmp_path, "session-3-h323")
    monkeypatch.setenv("IFMESH_SESSION", "session-3-h323")
    assert endpoint.find_node(root=tmp_path).session == "session-3-h323"
