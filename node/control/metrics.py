"""The node's Prometheus metrics (``GET /metrics`` on the control API), read at scrape time.

What a person watching a room needs to notice without asking each node: events the fold
refused (never silent: a refused claim from a session without a node is a board that lies),
what the room's files could not be read as, how much the board has folded and how many peers
are up. A custom collector reads the running node at scrape time, with a registry per node, as
the signaling server's metrics do (signaling/metrics.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ifmesh.node.control.running import RunningNode, read_problems


class NodeMetrics(Collector):
    def __init__(self, node: RunningNode) -> None:
        self.node = node
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def page(self) -> bytes:
        return generate_latest(self.registry)

    def collect(self) -> Iterator[Metric]:
        node = self.node
        refused = CounterMetricFamily(
            "ifmesh_events_refused",
            "Events the board's fold refused (from the mesh or git), by refusal code.",
            labels=["code"],
        )
        replica = node.replica_or_fail()  # the control API starts after the board
        for code, count in sorted(replica.refusal_counts.items()):
            refused.add_metric([code], count)
        yield refused
        yield from _identity_metrics(node.identity_status())
        problems = GaugeMetricFamily(
            "ifmesh_read_problems",
            "Lines of the board and STATUS files read only partly or not at all, by file.",
            labels=["file"],
        )
        by_file = Counter(p.path.split(" (", 1)[0] for p in read_problems(node))
        for path, count in sorted(by_file.items()):
            problems.add_metric([path], count)
        yield problems
        folded = CounterMetricFamily(
            "ifmesh_events_folded", "Events the board has folded since the node started."
        )
        folded.add_metric([], replica.board.folded)
        yield folded
        peers = GaugeMetricFamily("ifmesh_peers_up", "Peers this node's mesh sees up.")
        peers.add_metric([], len(node.mesh.peers_up) if node.mesh is not None else 0)
        yield peers


def _identity_metrics(status: dict[str, Any]) -> Iterator[Metric]:
    """Events refused before the fold for their signature, and pairs refused for theirs."""
    refused = CounterMetricFamily(
        "ifmesh_signatures_refused",
        "Events dropped before the fold, from the mesh or git, because their signature is"
        " missing, bad or by a key not pinned, by refusal code (docs/security.md).",
        labels=["code"],
    )
    for code, count in sorted(status.get("refused", {}).get("by_code", {}).items()):
        refused.add_metric([code], count)
    yield refused
    pairs = CounterMetricFamily(
        "ifmesh_pairs_refused",
        "Offers and answers refused before ICE because their signed fingerprint failed.",
    )
    pairs.add_metric([], status.get("pairs_refused", {}).get("count", 0))
    yield pairs
