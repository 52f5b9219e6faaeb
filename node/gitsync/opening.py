"""Opening a bridge's clone: the parts that work on it, and the branch fetched or created.

The clone (:mod:`ifmesh.node.gitsync.clone`), this session's own commits on it
(:mod:`ifmesh.node.gitsync.chain`), the reader of everyone's files
(:mod:`ifmesh.node.gitsync.reader`) and the scribe (:mod:`ifmesh.node.gitsync.scribing`) share
one clone, so they are built together. The first fetch creates the coordination branch, with a
starter board, when it is missing and the configuration allows it (a new room). Construction
and that first fetch only: :class:`ifmesh.node.gitsync.bridge.GitSync` drives the parts.
"""

from __future__ import annotations

from typing import NamedTuple

import structlog

from ifmesh.node.gitsync.chain import OwnChain
from ifmesh.node.gitsync.clone import Clone
from ifmesh.node.gitsync.config import BridgeConfig
from ifmesh.node.gitsync.errors import BranchMissing, RemoteUnreachable
from ifmesh.node.gitsync.paths import BOARD_PATH
from ifmesh.node.gitsync.reader import BranchReader
from ifmesh.node.gitsync.scribing import BoardScribe

log = structlog.get_logger(__name__)


class OpenedClone(NamedTuple):
    clone: Clone
    chain: OwnChain
    reader: BranchReader
    scribe: BoardScribe


def open_clone(config: BridgeConfig) -> OpenedClone:
    """The bridge's clone under the state directory, and the parts that work on it."""
    clone = Clone(config.clone_dir, config.remote_url, config.branch)
    chain = OwnChain(
        clone,
        session=config.session,
        branch=config.branch,
        incarnation=config.incarnation,
    )
    reader = BranchReader(
        clone,
        session=config.session,
        branch=config.branch,
        read_seed_branches=config.seed_branch_glob is not None,
        renew_interval=config.seed_renew_interval,
    )
    return OpenedClone(clone, chain, reader, BoardScribe(config, reader, chain))


def fetch_or_create(clone: Clone, config: BridgeConfig, starter_board: str) -> None:
    """Fetches the branch (and the seed branches); a missing branch is created with
    ``starter_board`` when ``config.create_branch``, else BranchMissing is raised.

    An unreachable remote is raised as it is when this session has commits of its own in the
    clone (the bridge resumes from them offline), and as :meth:`RemoteUnreachable.at_start`
    when it has none: then there is no board to start from, and the message says so."""
    try:
        _fetch_or_create(clone, config, starter_board)
    except RemoteUnreachable as exc:
        if clone.ref(clone.local_ref) is None:
            raise exc.at_start() from None
        raise


def _fetch_or_create(clone: Clone, config: BridgeConfig, starter_board: str) -> None:
    try:
        clone.fetch(config.seed_branch_glob)
    except BranchMissing:
        if not config.create_branch:
            raise
        root = clone.commit_files(
            None,
            {BOARD_PATH: starter_board.encode()},
            "chore: Create coordination branch with a starter board",
        )
        outcome = clone.push(root)
        log.info("gitsync.branch_created", branch=config.branch, outcome=outcome.value)
        clone.fetch(config.seed_branch_glob)
