"""Paths as reservations name them: relative to the root of a git working tree, with ``/``.

Light on purpose (``pathlib``, which every interpreter here has loaded already): the agent hook
that runs before every edit imports this, and so does the node. A path outside the working
tree cannot be under any reservation: it comes back as None, and is not checked.
"""

from __future__ import annotations

import posixpath
from pathlib import Path


def repo_root(start: str | Path) -> Path | None:
    """The nearest directory at or above ``start`` holding ``.git`` (a directory, or the file
    of a linked worktree or submodule); None outside any working tree."""
    here = Path(start).absolute()
    return next((d for d in (here, *here.parents) if (d / ".git").exists()), None)


def repo_relative(path: str, cwd: str | Path | None = None) -> str | None:
    """``path`` (absolute, or relative to ``cwd``; with neither, already relative to the root)
    as the repository-relative path a reservation pattern is matched against; a directory keeps
    a trailing ``/``. None when it lies outside the working tree, or is its root."""
    if not path or "\x00" in path:
        return None
    directory = path.endswith("/")
    given = Path(path)
    if given.is_absolute() or cwd is not None:
        absolute = (Path(cwd or "/") / given).resolve()
        found = repo_root(cwd if cwd is not None else absolute.parent)
        bases = [b.resolve() for b in (found, repo_root(absolute.parent)) if b is not None]
        base = next((b for b in bases if absolute.is_relative_to(b)), None)
        if base is None:
            return None
        relative = absolute.relative_to(base).as_posix()
        directory = directory or absolute.is_dir()
    else:
        relative = posixpath.normpath(path)
    if relative in (".", "..") or relative.startswith("../"):
        return None
    return relative + "/" if directory else relative
