"""The coordination board: a sans-IO fold of every session's events into one shared state.

No asyncio, sockets, clocks or git here: events and ``now`` in, state and effects out.
"""
