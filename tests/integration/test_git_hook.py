"""`ifmesh git-hook install` in a real git repository: the pre-commit hook it writes, where
git looks for it (`core.hooksPath` too), another tool's hook left alone, and what a commit
does when no node can check it (open: through, with a warning; closed: refused; overridden).
With a node and a reservation: tests/integration/e2e/test_agent_hooks.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require_tool

pytestmark = pytest.mark.integration


def run(cwd: Path, env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A working tree with one commit, and an environment where no node runs."""
    require_tool("git")
    work = tmp_path / "work"
    work.mkdir()
    env = os.environ | {
        "XDG_STATE_HOME": str(tmp_path / "state"), "IFMESH_SESSION": "session-9-nobody",
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@localhost",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@localhost",
    }  # fmt: skip
    run(work, env, "git", "init", "-q")
    (work / "a.py").write_text("a\n", encoding="utf-8")
    run(work, env, "git", "add", "a.py")
    assert run(work, env, "git", "commit", "-qm", "start").returncode == 0
    return work, env


def install(work: Path, env: dict[str, str], *more: str) -> subprocess.CompletedProcess[str]:
    return run(work, env, sys.executable, "-m", "ifmesh", "git-hook", "install", *more)


def commit(work: Path, env: dict[str, str], *more: str) -> subprocess.CompletedProcess[str]:
    (work / "a.py").write_text((work / "a.py").read_text() + "more\n", encoding="utf-8")
    run(work, env, "git", "add", "a.py")
    return run(work, env, "git", "commit", "-qm", "change", *more)


def test_without_a_node_a_commit_goes_through_with_a_warning(
    repo: tuple[Path, dict[str, str]],
) -> None:
    work, env = repo
    done = install(work, env)
    assert done.returncode == 0, done.stderr
    hook = work / ".git" / "hooks" / "pre-commit"
    assert os.access(hook, os.X_OK) and "check-paths --staged --hook" in hook.read_text()
    committed = commit(work, env)
    assert committed.returncode == 0, committed.stderr
    assert "ifmesh: warning: this commit was not checked for reservations" in committed.stderr
    assert install(work, env).returncode == 0  # its own hook: replaced, not refused


def test_a_closed_guard_refuses_the_commit_until_overridden(
    repo: tuple[Path, dict[str, str]],
) -> None:
    work, env = repo
    assert install(work, env).returncode == 0
    closed = env | {"IFMESH_GUARD": "closed"}
    refused = commit(work, closed)
    assert refused.returncode != 0 and "guard policy is closed" in refused.stderr
    assert "IFMESH_GUARD=off" in refused.stderr
    assert commit(work, closed | {"IFMESH_GUARD": "off"}).returncode == 0
    assert commit(work, closed, "--no-verify").returncode == 0


def test_another_tools_hook_is_left_alone_and_hooks_path_is_followed(
    repo: tuple[Path, dict[str, str]],
) -> None:
    work, env = repo
    hooks = work / ".githooks"
    run(work, env, "git", "config", "core.hooksPath", ".githooks")
    hooks.mkdir()
    (hooks / "pre-commit").write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    refused = install(work, env)
    assert refused.returncode == 1 and "another pre-commit hook" in refused.stderr
    assert (hooks / "pre-commit").read_text() == "#!/bin/sh\nexit 0\n"
    assert install(work, env, "--force").returncode == 0
    assert "ifmesh path guard" in (hooks / "pre-commit").read_text()
    assert not (work / ".git" / "hooks" / "pre-commit").exists()
