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


def test_state_dir_and_session_from_the_environment_flags_win(tmp_path: Path) -> None:
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    lab = start_fake_node(elsewhere, "session-7-lab")
    ops = start_fake_node(root, "session-8-ops")
    in_lab = {"IFMESH_STATE_DIR": str(elsewhere / "session-7-lab")}
    assert endpoint.find_node(root=root, environ={}).session == "session-8-ops"
    assert endpoint.find_node(root=root, environ=in_lab).session == "session-7-lab"
    # the flag over its own variable; --session over IFMESH_STATE_DIR naming another's node
    flag = endpoint.find_node(state_dir=root / "session-8-ops", root=root, environ=in_lab)
    assert flag.session == "session-8-ops"
    assert endpoint.find_node("session-8-ops", root=root, environ=in_lab).session == "session-8-ops"
    # --state-dir over IFMESH_SESSION: that directory's node, whoever it is
    ops_env = {"IFMESH_SESSION": "session-8-ops"}
    found = endpoint.find_node(state_dir=elsewhere / "session-7-lab", root=root, environ=ops_env)
    assert found.session == "session-7-lab"
    # both variables, naming two different nodes: a mistake to point out, not to guess through
    with pytest.raises(errors.NodeNotRunning) as crossed:
        endpoint.find_node(root=root, environ=in_lab | ops_env)
    assert str(crossed.value) == (
        f"the node running in IFMESH_STATE_DIR={elsewhere / 'session-7-lab'} is session "
        "session-7-lab, not session-8-ops; ask for session-7-lab, or give the state directory "
        "of session-8-ops's node"
    )
    lab.release()
    ops.release()


def test_a_node_not_running_is_named_from_what_it_left_never_from_its_directory(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "some-dir"
    start_fake_node(tmp_path, "some-dir").release()  # a stopped node: control.json stays
    endpoint.publish(
        directory, endpoint.ControlEndpoint("session-7-lab", 1, "http://127.0.0.1:1", tmp_path)
    )
    with pytest.raises(errors.NodeNotRunning) as stopped:
        endpoint.find_node(state_dir=directory, root=tmp_path / "root", environ={})
    assert str(stopped.value) == (
        f"no node is running for session-7-lab (looked in {directory}); start it with "
        f"`ifmesh node --session session-7-lab --state-dir {directory} --remote URL`"
    )
    (directory / endpoint.CONTROL_FILE).unlink()
    with pytest.raises(errors.NodeNotRunning) as unknown:
        endpoint.find_node(state_dir=directory, root=tmp_path / "root", environ={})
    assert str(unknown.value) == (
        f"no node is running in {directory}; start one with "
        f"`ifmesh node --session SESSION --state-dir {directory} --remote URL`"
    )
    with pytest.raises(errors.NodeNotRunning, match="no such directory"):
        endpoint.find_node(state_dir=tmp_path / "typo", environ={})


def test_a_session_asked_for_is_named_with_the_one_that_ran_there(tmp_path: Path) -> None:
    start_fake_node(tmp_path, "session-7-lab").release()
    with pytest.raises(errors.NodeNotRunning) as caught:
        endpoint.find_node("session-8-ops", state_dir=tmp_path / "session-7-lab", environ={})
    assert str(caught.value) == (
        f"no node is running for session-8-ops (looked in {tmp_path / 'session-7-lab'}; the last "
        "node there was session session-7-lab); start it with `ifmesh node --session "
        f"session-8-ops --state-dir {tmp_path / 'session-7-lab'} --remote URL`"
    )


def test_a_node_still_starting_is_said_to_be_starting(tmp_path: Path) -> None:
    starting = StateDirLock(tmp_path / "session-7-lab")  # locked, control.json not written yet
    with starting, pytest.raises(errors.NodeNotRunning, match="is starting: its control API"):
        endpoint.find_node("session-7-lab", root=tmp_path, environ={})
