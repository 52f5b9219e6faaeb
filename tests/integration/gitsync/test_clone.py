"""The bridge's clone moves its refs itself; git must read them as it wrote them."""

from __future__ import annotations

from pathlib import Path

import pytest

from ifmesh.node.gitsync.clone import Clone
from tests.conftest import require_tool
from tests.integration.gitsync.support import BRANCH, git, make_remote

pytestmark = pytest.mark.integration


def test_a_ref_set_again_is_overwritten_in_place_and_git_reads_it(tmp_path: Path) -> None:
    require_tool("git")
    remote = make_remote(tmp_path)
    clone = Clone(tmp_path / "clone", str(remote), BRANCH)
    try:
        clone.fetch(None)
        first = clone.ref(clone.remote_ref)
        assert first is not None
        second = clone.commit_files(first, {"notes.txt": b"one\n"}, "chore: one")
        ref = clone.path / clone.local_ref
        clone.set_ref(clone.local_ref, first)  # created: lock file and rename
        inode = ref.stat().st_ino
        clone.set_ref(clone.local_ref, second)  # moved: written in place
        assert ref.stat().st_ino == inode
        assert clone.ref(clone.local_ref) == second
        assert git("--git-dir", str(clone.path), "rev-parse", clone.local_ref).strip() == second
        clone.set_ref(clone.local_ref, None)
        assert clone.ref(clone.local_ref) is None
    finally:
        clone.close()
