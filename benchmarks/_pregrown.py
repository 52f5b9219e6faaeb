"""Logs pre-grown to a Phase-0 day (issue 22, long sessions) for rooms of real nodes
(benchmarks/daystart.py, benchmarks/soak.py --pregrown): each session's log on the coordination
branch, signed with its key, as benchmarks/longlog.py lays it out, and the key put in the
session's state directory before its node starts (it stays there across restarts), so the node
resumes that session (a node with another key would be refused: the branch pins the first)."""

from __future__ import annotations

from pathlib import Path

from benchmarks import longlog
from ifmesh.node.identity.keys import SessionKey, key_path, write_key_file


def day_files(events: int, sessions: list[str]) -> tuple[dict[str, bytes], dict[str, SessionKey]]:
    """The branch's files for ``sessions``' logs of ``events`` signed events each, with their
    public keys; and each session's private key."""
    authors = [longlog.Author(s, SessionKey.generate()) for s in sessions]
    files = longlog.key_files(authors)
    for author in authors:
        files |= longlog.pregrown_files(author.session, author.day(events))
    return files, {a.session: a.key for a in authors}


def place_key(state_root: Path, session: str, key: SessionKey) -> None:
    """``key`` as ``session``'s identity.key under a room's state root (kept if there)."""
    state = state_root / session
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not key_path(state).exists():
        write_key_file(key_path(state), key)
