"""The in-process object store: what it writes is git's, and its caches stay bounded."""

from __future__ import annotations

import subprocess
from pathlib import Path

import git

from ifmesh.node.gitsync import objects
from ifmesh.node.gitsync.objects import BLOB_MODE, ObjectStore


def test_written_objects_read_back_through_git_and_parsed_caches_stay_bounded(
    tmp_path: Path,
) -> None:
    repo = git.Repo.init(tmp_path / "clone", bare=True)
    store = ObjectStore(repo)
    kept = objects._PARSED_KEPT
    trees = []
    for n in range(kept + 100):  # each a new tree: a long room's history
        blob = store.store(b"blob", b"line %d\n" % n)
        trees.append(store.write_tree([(blob, BLOB_MODE, f"{n:06d}.jsonl")]))
        assert len(store._trees) <= kept
    listed = subprocess.run(
        ["git", "ls-tree", trees[-1].hex()], cwd=repo.git_dir, capture_output=True, text=True
    )
    assert listed.stdout.split() == [
        "100644",
        "blob",
        store.store(b"blob", b"line %d\n" % (kept + 99)).hex(),
        f"{kept + 99:06d}.jsonl",
    ]
    # A tree dropped from the cache is read again from the object files.
    assert store.tree(trees[0])[0][2] == "000000.jsonl"


def test_a_tree_read_again_stays_while_the_oldest_are_forgotten(tmp_path: Path) -> None:
    store = ObjectStore(git.Repo.init(tmp_path / "clone", bare=True))
    kept = objects._PARSED_KEPT
    blob = store.store(b"blob", b"tip\n")
    tip = store.write_tree([(blob, BLOB_MODE, "tip.jsonl")])
    first = None
    for n in range(kept + 10):
        made = store.write_tree([(blob, BLOB_MODE, f"{n:06d}.jsonl")])
        first = first or made
        store.tree(tip)  # the tips' trees are read on every fetch
    assert tip in store._trees
    assert first not in store._trees
    assert len(store._trees) == kept
