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
from io import BytesIO
from pathlib import Path

import git
from git.objects.fun import tree_to_stream
from git.refs.symbolic import SymbolicReference
from gitdb import IStream  # type: ignore[import-untyped]
from gitdb.db.loose import LooseObjectDB  # type: ignore[import-untyped]

from node.gitsync.errors import (
    BranchMissing,
    GitCommandFailed,
    PushRejected,
    RemoteUnreachable,
)

_TIMEOUT = 120.0
_TREE_MODE = 0o040000
_BLOB_MODE = 0o100644
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
        # Objects are written in-process; GitPython's default store starts `git hash-object`.
        self._loose = LooseObjectDB(str(path / "objects"))

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
        # Read in-process (loose or packed): status checks call this often.
        try:
            return str(SymbolicReference(self.repo, name).commit.hexsha)
        except ValueError:
            return None

    def set_ref(self, name: str, sha: str | None) -> None:
        if sha is None:
            if self.ref(name) is not None:
                SymbolicReference.delete(self.repo, name)
        else:
            SymbolicReference.create(self.repo, name, sha, force=True)

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

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        status, _, _ = self._run(["merge-base", "--is-ancestor", ancestor, descendant])
        return status == 0

    # --- the remote --------------------------------------------------------------------------

    def remote_has_branch(self) -> bool:
        status, out, err = self._run(
            ["ls-remote", "--heads", self.remote_url, self.local_ref], timeout=_TIMEOUT
        )
        if status != 0:
            raise self._remote_error("ls-remote", err)
        return bool(out.strip())

    def fetch(self, seed_glob: str | None) -> None:
        """Updates the remote-tracking refs (forced: a force-push is taken as it is)."""
        specs = [f"+{self.local_ref}:{self.remote_ref}"]
        if seed_glob:
            specs.append(f"+refs/heads/{seed_glob}:refs/remotes/origin/{seed_glob}")
        status, _, err = self._run(
            ["fetch", "--quiet", "--prune", "--no-tags", self.remote_url, *specs],
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
        detail = _last_line("", stderr)
        if any(marker in stderr.lower() for marker in _UNREACHABLE):
            return RemoteUnreachable(
                f"cannot {what} {self.remote_url}: {detail}; events stay committed locally and "
                "are pushed when the remote is back (check the URL, network and credentials)"
            )
        return GitCommandFailed(f"git {what} {self.remote_url} failed: {detail}")

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

    def read(self, commit: str, path: str) -> bytes | None:
        try:
            item = self.repo.commit(commit).tree / path
        except KeyError:
            return None
        if item.type != "blob":
            return None
        data: bytes = item.data_stream.read()
        return data

    def blobs_under(self, commit: str, directory: str) -> dict[str, str]:
        """Files directly in ``directory`` at ``commit``: path → blob sha."""
        try:
            tree = self.repo.commit(commit).tree / directory
        except KeyError:
            return {}
        if tree.type != "tree":
            return {}
        return {str(blob.path): blob.hexsha for blob in tree.blobs}

    def blob_sha(self, commit: str, path: str) -> str | None:
        try:
            item = self.repo.commit(commit).tree / path
        except KeyError:
            return None
        return str(item.hexsha) if item.type == "blob" else None

    def top_level_files(self, commit: str) -> list[str]:
        return [str(blob.path) for blob in self.repo.commit(commit).tree.blobs]

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
        first-parent line: the history was rewritten. Walked in-process: the usual step is a
        few commits, read through git's object store without starting git."""
        chain: list[git.Commit] = []
        commit: git.Commit | None = self.repo.commit(tip)
        while commit is not None and commit.hexsha != since:
            chain.append(commit)
            commit = commit.parents[0] if commit.parents else None
        if since is not None and commit is None:
            return None
        history = []
        for depth, commit in enumerate(reversed(chain), since_depth + 1):
            parent = commit.parents[0] if commit.parents else None
            history.append(
                CommitInfo(
                    sha=commit.hexsha,
                    parent=parent.hexsha if parent is not None else None,
                    committed_at=datetime.fromtimestamp(commit.committed_date, UTC),
                    depth=depth,
                    message=str(commit.message).split("\n", 1)[0],
                    paths=_changed_top_level(commit, parent, pattern),
                )
            )
        return history

    # --- writing -----------------------------------------------------------------------------

    def commit_files(self, parent: str | None, files: Mapping[str, bytes], message: str) -> str:
        """A new commit on ``parent`` whose tree is the parent's with ``files`` replaced."""
        base = self.repo.commit(parent).tree if parent else None
        tree_sha = self._write_tree(base, files)
        parents = [self.repo.commit(parent)] if parent else []
        commit = git.Commit.create_from_tree(
            self.repo, git.Tree(self.repo, tree_sha), message, parent_commits=parents
        )
        return str(commit.hexsha)

    def _store(self, kind: bytes, data: bytes) -> bytes:
        stream = self._loose.store(IStream(kind, len(data), BytesIO(data)))
        binsha: bytes = stream.binsha
        return binsha

    def _write_tree(self, tree: git.Tree | None, files: Mapping[str, bytes]) -> bytes:
        entries: dict[str, tuple[bytes, int]] = {}
        if tree is not None:
            for item in tree:
                entries[item.name] = (item.binsha, item.mode)
        nested: dict[str, dict[str, bytes]] = {}
        for path, data in files.items():
            head, sep, rest = path.partition("/")
            if sep:
                nested.setdefault(head, {})[rest] = data
            else:
                entries[head] = (self._store(b"blob", data), _BLOB_MODE)
        for name, subfiles in nested.items():
            subtree = None
            if tree is not None:
                try:
                    candidate = tree / name
                except KeyError:
                    candidate = None
                if candidate is not None and candidate.type == "tree":
                    subtree = candidate
            entries[name] = (self._write_tree(subtree, subfiles), _TREE_MODE)
        # git orders a tree's entries by name, a directory's name taken with a trailing '/'.
        ordered = sorted(
            entries.items(),
            key=lambda item: item[0] + "/" if item[1][1] == _TREE_MODE else item[0],
        )
        stream = BytesIO()
        tree_to_stream([(binsha, mode, name) for name, (binsha, mode) in ordered], stream.write)
        return self._store(b"tree", stream.getvalue())


def _changed_top_level(
    commit: git.Commit, parent: git.Commit | None, pattern: str | None
) -> tuple[str, ...]:
    def blobs(of: git.Commit | None) -> dict[str, bytes]:
        if of is None:
            return {}
        return {
            str(item.name): item.binsha
            for item in of.tree
            if item.type == "blob" and (pattern is None or fnmatch.fnmatchcase(item.name, pattern))
        }

    now, before = blobs(commit), blobs(parent)
    return tuple(
        sorted(name for name in now.keys() | before.keys() if now.get(name) != before.get(name))
    )


def _last_line(out: str, err: str) -> str:
    lines = [line.strip() for line in (err + "\n" + out).splitlines() if line.strip()]
    return lines[-1] if lines else "no output"
