"""The bridge's own clone of the coordination repository: the only module that runs git.

A bare repository under the node's state directory (never the user's checkout). Objects,
trees and commits are written in-process with GitPython's object database; only fetch, push
and ls-remote start git, which then uses the user's own configuration and credentials as plain
git does (``GIT_TERMINAL_PROMPT=0`` so a missing credential fails instead of waiting on a
prompt nobody sees). Failures come back as typed errors: an unreachable remote, a missing
branch, a push that lost the race (the branch moved: not an error, a :data:`LOST_RACE`).
"""

from __future__ import annotations

import enum
import fnmatch
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import git
from git.refs.symbolic import SymbolicReference

from ifmesh.node.gitsync.errors import (
    BranchMissing,
    GitCommandFailed,
    PushRejected,
    RemoteUnreachable,
)
from ifmesh.node.gitsync.objects import (
    BLOB_MODE,
    TREE_MODE,
    Entry,
    Graft,
    ObjectStore,
    is_sha,
)

# What a commit puts at a path: a file's content, an object already stored, or nothing (removed).
FileChange = bytes | Graft | None

_TIMEOUT = 120.0
_UNREACHABLE = (
    "could not read from remote",
    "does not appear to be a git repository",
    "unable to access",
    "could not resolve host",
    "connection refused",
    "connection timed out",
    "no such file or directory",
    "not found",
    "network is unreachable",
    "early eof",
)
_LOST_RACE = (
    "fetch first",
    "non-fast-forward",
    "cannot lock ref",
    "failed to update ref",
    "incorrect old value",
    "stale info",
)


class PushOutcome(enum.Enum):
    LANDED = "landed"
    LOST_RACE = "lost_race"


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    parent: str | None  # first parent
    committed_at: datetime
    depth: int  # first-parent depth, the root is 1
    message: str
    paths: tuple[str, ...]  # files changed against the first parent


class Clone:
    def __init__(self, path: Path, remote_url: str, branch: str) -> None:
        self.path = path
        self.remote_url = remote_url
        self.branch = branch
        if (path / "HEAD").exists():
            self.repo = git.Repo(path)
        else:
            path.mkdir(parents=True, exist_ok=True)
            self.repo = git.Repo.init(path, bare=True)
        self._env = {"GIT_TERMINAL_PROMPT": "0"}
        self._git_dir = Path(self.repo.git_dir)
        self._packed: tuple[int, dict[str, str]] | None = None
        # Who commits: the user's git configuration (or GIT_AUTHOR_*/GIT_COMMITTER_*), read
        # once rather than per commit.
        self.objects = ObjectStore(self.repo)
        reader = self.repo.config_reader()
        self._author = git.Actor.author(reader)
        self._committer = git.Actor.committer(reader)

    def close(self) -> None:
        """Ends git's helper processes (GitPython keeps `git cat-file` running)."""
        self.repo.close()

    # --- refs --------------------------------------------------------------------------------

    @property
    def local_ref(self) -> str:
        return f"refs/heads/{self.branch}"

    @property
    def remote_ref(self) -> str:
        return f"refs/remotes/origin/{self.branch}"

    def ref(self, name: str) -> str | None:
        """A ref's commit, read from its file (or git's packed-refs): status checks and every
        push attempt call this, and GitPython would ask its `git cat-file` helper each time."""
        try:
            text = (self._git_dir / name).read_text().strip()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return self._packed_refs().get(name)
        return text if is_sha(text) else None

    def set_ref(self, name: str, sha: str | None) -> None:
        path = self._git_dir / name
        if sha is None:
            if self.ref(name) is not None:
                SymbolicReference.delete(self.repo, name)  # also from packed-refs
            return
        record = (sha + "\n").encode()
        # An existing ref is overwritten in place. git writes a lock file and renames it over
        # the ref, as several processes may move one ref; here only this process does, between
        # its own git commands, and a rename costs 0.4 ms on a quiet machine (many ms with
        # eight bridges pushing), several times per push. A 41-byte write is not torn by a
        # crash of this process.
        try:
            fd = os.open(path, os.O_WRONLY)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            pass
        else:
            try:
                if os.fstat(fd).st_size == len(record):
                    os.pwrite(fd, record, 0)
                    return
            finally:
                os.close(fd)
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = path.with_name(path.name + ".lock")
        lock.write_bytes(record)
        lock.replace(path)

    def _packed_refs(self) -> dict[str, str]:
        path = self._git_dir / "packed-refs"
        try:
            stamp = path.stat().st_mtime_ns
        except FileNotFoundError:
            return {}
        if self._packed is None or self._packed[0] != stamp:
            refs = {}
            for line in path.read_text().splitlines():
                sha, _, name = line.partition(" ")
                if is_sha(sha) and name:
                    refs[name] = sha
            self._packed = (stamp, refs)
        return self._packed[1]

    def seed_refs(self) -> dict[str, str]:
        """Fetched branches matching the seed glob: branch name → tip."""
        prefix = "refs/remotes/origin/"
        output = self.repo.git.for_each_ref("--format=%(refname) %(objectname)", prefix)
        tips = {}
        for line in output.splitlines():
            name, sha = line.split()
            branch = name[len(prefix) :]
            if branch != self.branch:
                tips[branch] = sha
        return tips

    # --- the remote --------------------------------------------------------------------------

    def fetch(self, seed_glob: str | None, *, maintenance: bool = True) -> None:
        """Updates the remote-tracking refs (forced: a force-push is taken as it is).
        ``maintenance=False`` skips git's automatic housekeeping of this clone (a process of
        its own, a third of a small fetch's cost): for the fetch between two push attempts;
        the periodic fetch still runs it."""
        specs = [f"+{self.local_ref}:{self.remote_ref}"]
        if seed_glob:
            specs.append(f"+refs/heads/{seed_glob}:refs/remotes/origin/{seed_glob}")
        flags = [] if maintenance else ["--no-auto-maintenance", "--no-write-fetch-head"]
        status, _, err = self._run(
            ["fetch", "--quiet", "--prune", "--no-tags", *flags, self.remote_url, *specs],
            timeout=_TIMEOUT,
        )
        if status == 0:
            return
        if "couldn't find remote ref" in err.lower():
            raise BranchMissing(
                f"branch {self.branch!r} does not exist on {self.remote_url}; check --branch, "
                "or start one node with --create-branch to create it with a starter board"
            )
        raise self._remote_error("fetch", err)

    def push(self, sha: str) -> PushOutcome:
        """Compare-and-swap: lands only if ``sha`` descends from the remote's tip."""
        status, out, err = self._run(
            ["push", "--porcelain", "--quiet", self.remote_url, f"{sha}:{self.local_ref}"],
            timeout=_TIMEOUT,
        )
        if status == 0:
            return PushOutcome.LANDED
        text = (out + "\n" + err).lower()
        if any(marker in text for marker in _LOST_RACE):
            return PushOutcome.LOST_RACE
        if "[remote rejected]" in text or "[rejected]" in text:
            raise PushRejected(
                f"{self.remote_url} refused the push to {self.branch}: {_last_line(out, err)}; "
                "check branch protection and hooks (the commits stay queued locally)"
            )
        raise self._remote_error("push", err or out)

    def _remote_error(self, what: str, stderr: str) -> Exception:
        cause = git_cause(stderr)
        if any(marker in stderr.lower() for marker in _UNREACHABLE):
            return RemoteUnreachable(self.remote_url, what, cause)
        return GitCommandFailed(f"git {what} {self.remote_url} failed: {cause}")

    def _run(self, args: list[str], timeout: float | None = None) -> tuple[int, str, str]:
        status, out, err = self.repo.git.execute(
            ["git", *args],
            with_extended_output=True,
            with_exceptions=False,
            kill_after_timeout=timeout,
            env={**os.environ, **self._env},
        )
        return int(status), str(out), str(err)

    # --- reading -----------------------------------------------------------------------------

    def _tree_of(self, commit: str) -> bytes:
        return self.objects.commit(bytes.fromhex(commit)).tree

    def read(self, commit: str, path: str) -> bytes | None:
        entry = self.objects.lookup(self._tree_of(commit), path)
        if entry is None or entry[1] == TREE_MODE:
            return None
        return self.objects.blob(entry[0])

    def blob_sha(self, commit: str, path: str) -> str | None:
        entry = self.objects.lookup(self._tree_of(commit), path)
        return entry[0].hex() if entry is not None and entry[1] != TREE_MODE else None

    def root_tree(self, commit: str) -> bytes:
        return self._tree_of(commit)

    def top_level_files(self, commit: str) -> dict[str, str]:
        """Files at the top of the tree at ``commit``: name → blob sha."""
        return {
            name.decode("utf-8", "replace") if isinstance(name, bytes) else name: binsha.hex()
            for binsha, mode, name in self.objects.tree(self._tree_of(commit))
            if mode != TREE_MODE
        }

    def first_parent_history(
        self,
        tip: str,
        since: str | None = None,
        *,
        since_depth: int = 0,
        pattern: str | None = None,
    ) -> list[CommitInfo] | None:
        """Commits after ``since`` (None: from the root) up to ``tip`` along first parents,
        oldest first, with the top-level files each changed against its first parent
        (only those matching ``pattern`` when given). None when ``since`` is not on that
        first-parent line: the history was rewritten."""
        stop = bytes.fromhex(since) if since else None
        chain: list[bytes] = []
        current: bytes | None = bytes.fromhex(tip)
        while current is not None and current != stop:
            chain.append(current)
            parents = self.objects.commit(current).parents
            current = parents[0] if parents else None
        if stop is not None and current is None:
            return None
        history = []
        for depth, binsha in enumerate(reversed(chain), since_depth + 1):
            head = self.objects.commit(binsha)
            parent = head.parents[0] if head.parents else None
            before = self.objects.commit(parent).tree if parent is not None else None
            history.append(
                CommitInfo(
                    sha=binsha.hex(),
                    parent=parent.hex() if parent is not None else None,
                    committed_at=head.committed_at,
                    depth=depth,
                    message=head.message,
                    paths=self._changed_top_level(head.tree, before, pattern),
                )
            )
        return history

    def _changed_top_level(
        self, tree: bytes, before: bytes | None, pattern: str | None
    ) -> tuple[str, ...]:
        def blobs(of: bytes | None) -> dict[str, bytes]:
            if of is None:
                return {}
            return {
                name: binsha
                for binsha, mode, name in self.objects.tree(of)
                if mode != TREE_MODE and (pattern is None or fnmatch.fnmatchcase(name, pattern))
            }

        now, then = blobs(tree), blobs(before)
        return tuple(sorted(n for n in now.keys() | then.keys() if now.get(n) != then.get(n)))

    # --- writing -----------------------------------------------------------------------------

    def commit_files(
        self, parent: str | None, files: Mapping[str, FileChange], message: str
    ) -> str:
        """A new commit on ``parent`` whose tree is the parent's with ``files`` replaced
        (content, a graft of a stored object, or None to remove the path)."""
        base = self._tree_of(parent) if parent else None
        tree = self._write_tree(base, files)
        if tree is None:
            tree = self.objects.write_tree([])
        parents = [bytes.fromhex(parent)] if parent else []
        binsha = self.objects.write_commit(
            tree, parents, message, self._author, self._committer, datetime.now(UTC)
        )
        return binsha.hex()

    def _write_tree(self, tree: bytes | None, files: Mapping[str, FileChange]) -> bytes | None:
        """The tree with ``files`` applied; None when nothing is left in it (git keeps no
        empty directories)."""
        entries: dict[str, Entry] = {}
        if tree is not None:
            entries = {entry[2]: entry for entry in self.objects.tree(tree)}
        nested: dict[str, dict[str, FileChange]] = {}
        for path, data in files.items():
            head, sep, rest = path.partition("/")
            if sep:
                nested.setdefault(head, {})[rest] = data
            elif data is None:
                entries.pop(head, None)
            elif isinstance(data, Graft):
                entries[head] = (data.binsha, data.mode, head)
            else:
                entries[head] = (self.objects.store(b"blob", data), BLOB_MODE, head)
        for name, subfiles in nested.items():
            existing = entries.get(name)
            subtree = existing[0] if existing is not None and existing[1] == TREE_MODE else None
            written = self._write_tree(subtree, subfiles)
            if written is None:
                entries.pop(name, None)
            else:
                entries[name] = (written, TREE_MODE, name)
        if not entries:
            return None
        return self.objects.write_tree(list(entries.values()))


def git_cause(stderr: str) -> str:
    """The line of git's message that says why: its first ``fatal:``/``error:`` line (the
    last one is advice, "…and the repository exists."). When that line is git's generic
    "Could not read from remote repository.", the line before it is the transport's own
    reason (``ssh: Could not resolve hostname …``) and is the one quoted."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for index, line in enumerate(lines):
        if not line.lower().startswith(("fatal:", "error:")):
            continue
        said = [before for before in lines[:index] if not before.lower().startswith(_ASIDES)]
        if "could not read from remote repository" in line.lower() and said:
            return said[-1]
        return line
    said = [line for line in lines if not line.lower().startswith(_ASIDES)]
    return said[0] if said else "git gave no reason"


_ASIDES = ("hint:", "warning:")


def _last_line(out: str, err: str) -> str:
    lines = [line.strip() for line in (err + "\n" + out).splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
