"""The git-sync bridge: the coordination branch as the durable record of the board.

Each node's bridge keeps its own clone under the node's state directory and writes only its
own files there — ``STATUS-<SESSION>.yaml`` and its log ``.ifmesh/log/<session>/`` (append-only
segments, :mod:`ifmesh.node.gitsync.segments`) — with compare-and-swap pushes; it reads every
other session's log and STATUS (also from the seed polling loop's own branches) into board
events, confirms claims by the first confirm record in first-parent history, and, when it is
the scribe, re-renders the board's Status and Owner cells. Entry points:
:class:`ifmesh.node.gitsync.bridge.GitSync` (driven with ``now``),
:class:`ifmesh.node.gitsync.runner.AsyncGitSync` (inside an asyncio node),
:class:`ifmesh.node.gitsync.config.BridgeConfig`, and the errors in
:mod:`ifmesh.node.gitsync.errors`.
"""
