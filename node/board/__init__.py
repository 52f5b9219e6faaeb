"""The coordination board: a sans-IO fold of every session's events into one shared state.

No asyncio, sockets, clocks or git here: events and ``now`` in, state and effects out.

Where things are:

- :mod:`~node.board.state` — the frozen state (``Board``, ``Task``, ``Session``, blockers,
  help requests) and ``lease_expired`` (STALE is a judgement, not a status);
- :mod:`~node.board.log` — ``EventLog``: the total order ``(lamport, source, seq)``, re-folds
  for late arrivals, duplicates, forks; :mod:`~node.board.canonical` — comparable bytes;
- :mod:`~node.board.reducer` (+ ``roster``, ``waiting``, ``lifecycle``) — the fold itself;
- :mod:`~node.board.commands` — claim, progress, complete… judged at ``now``, typed refusals;
- :mod:`~node.board.replica` — one node's board with effects and ``get_timer``/``handle_timer``;
- :mod:`~node.board.queues` — claim queues (order, turns) and release asks, folded by
  :mod:`~node.board.queue_fold`, commanded by :mod:`~node.board.queue_commands`, and a node's
  own turns in :mod:`~node.board.claimqueue`;
- :mod:`~node.board.governance` — the seam with IF.governor (``PERMISSIVE`` by default);
- :mod:`~node.board.formats` — ``PHASE-0-TASK-BOARD.md``, ``STATUS-SESSION-*.yaml``, the task
  overlay, and STATUS changes as events; :mod:`~node.board.seed`, :mod:`~node.board.projection`
  — the board a room starts from, and the board file the scribe renders.
"""
