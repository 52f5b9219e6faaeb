"""How a node's parts are built from its configuration: the git bridge, the policy, the board
replica and the mesh. Construction only — :mod:`ifmesh.node.runtime.node` wires the parts together
and runs them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog

from ifmesh.node import errors
from ifmesh.node.board.cold import ColdStore
from ifmesh.node.board.replica import Replica
from ifmesh.node.board.state import Board, BoardConfig
from ifmesh.node.gitsync.bridge import GitSync
from ifmesh.node.gitsync.config import BridgeConfig
from ifmesh.node.governor.board_governance import BoardGovernance
from ifmesh.node.governor.policy import DEFAULT_POLICY, Policy
from ifmesh.node.governor.policy_file import load_policy, parse_policy
from ifmesh.node.mesh.config import MeshConfig
from ifmesh.node.mesh.ice import IceServer
from ifmesh.node.mesh.mesh import Mesh
from ifmesh.node.protocol.messages import Envelope
from ifmesh.node.runtime.config import NodeConfig
from ifmesh.node.runtime.identity import NodeIdentity, SigningReplica
from ifmesh.node.runtime.startboard import RoomFiles, read_room

log = structlog.get_logger(__name__)

ROOM_POLICY = ".ifmesh/policy.yaml"


def git_bridge(
    config: NodeConfig, incarnation: str, identity: NodeIdentity | None = None
) -> GitSync:
    if not config.remote:
        raise errors.ConfigError("a node needs the coordination remote: pass --remote URL")
    return GitSync(
        BridgeConfig(
            session=config.session,
            remote_url=config.remote,
            branch=config.branch,
            state_dir=config.resolved_state_dir,
            incarnation=incarnation,
            create_branch=config.create_branch,
            seed_branch_glob=config.status_branches or None,
            batch_window=max(config.batch_window_ms / 1000, 0.001),
            status_refresh_interval=config.status_refresh_seconds,
            fetch_interval=config.fetch_interval_seconds,
            lease=config.lease_seconds,
        ),
        gate=identity.gate if identity is not None else None,
        own_key=identity.own if identity is not None else None,
    )


def read_room_locked(bridge: GitSync) -> RoomFiles:
    """The room's starting board and policy, read from the bridge's clone (in a thread)."""
    with bridge.git_lock:  # the bridge's worker thread may be using the clone right now
        return read_room(bridge.clone)


def policy_for(config: NodeConfig, room_policy: str | None) -> tuple[Policy, str]:
    """This node's policy and where it came from: ``--policy``, else the room's
    ``.ifmesh/policy.yaml``, else the default. A ``--policy`` that differs from the room's is
    used, and said loudly: other nodes will flag this node's claims."""
    if config.policy is not None:
        local = load_policy(config.policy)
        if room_policy is not None:
            shared = parse_policy(room_policy, file=ROOM_POLICY)
            if shared.hash != local.hash:
                log.warning(
                    "node.policy_differs",
                    local=local.hash,
                    room=shared.hash,
                    note="this node's --policy differs from the room's .ifmesh/policy.yaml;"
                    " its claims carry its own hash and other nodes will flag them",
                )
        return local, str(config.policy)
    if room_policy is not None:
        return parse_policy(room_policy, file=ROOM_POLICY), ROOM_POLICY
    return DEFAULT_POLICY, "default"


def board_replica(
    config: NodeConfig,
    incarnation: str,
    board: Board,
    policy: Policy,
    identity: NodeIdentity | None = None,
    cold: ColdStore | None = None,
) -> Replica:
    """The node's board under ``policy``: its admissions, and what the node does with a stale
    task of an absent session (``takeover``). Every node of a room reads the room's policy
    (:func:`policy_for`), so every node of it takes over alike. With an ``identity`` every
    event it emits is signed; with a ``cold`` store, old events are kept there."""
    common: dict[str, Any] = {
        "initial": board,
        "config": _board_config(config),
        "governance": BoardGovernance(policy),
        "takeover": policy.takeover,
        "cold": cold,
    }
    if identity is not None:
        return SigningReplica(config.session, incarnation, seal=identity.sign, **common)
    return Replica(config.session, incarnation, **common)


def _board_config(config: NodeConfig) -> BoardConfig:
    return BoardConfig(
        lease=timedelta(seconds=config.lease_seconds),
        contest_window=timedelta(milliseconds=config.contest_window_ms),
    )


# A stopping node's bye and drain (it has 3.5 s in all to exit, node.runtime.stopping.STOP_SECONDS):
# on a healthy pair the bye is acked in milliseconds; a peer that died unnoticed never acks.
MESH_DRAIN_SECONDS = 1.0


def mesh(config: NodeConfig) -> Mesh:
    return Mesh(
        MeshConfig(
            signaling_url=config.signaling,
            room=config.room,
            session=config.session,
            token=config.signaling_token,
            capabilities=tuple(config.capabilities),
            ice_servers=tuple(
                IceServer(urls=list(s.urls), username=s.username, credential=s.credential)
                for s in config.ice_servers
            ),
            host_addresses=tuple(config.host_addresses),
            join_timeout=None,  # git-only until the signaling server answers
            drain_timeout=MESH_DRAIN_SECONDS,
        )
    )


CATCH_UP_EVENTS = 256


def catch_up_events(replica: Replica, now: datetime) -> list[Envelope]:
    """What a peer whose channel just opened gets first: this session's recent events it may
    have missed (after its git fetch, before the channel opened). The mesh queues them when the
    channel opens, ahead of any ack on it (node.mesh.catchup). Duplicates are no-ops there;
    anything older than a message's ttl would be refused by the peer (and, in a long session,
    thousands were, flooding both logs), so it is left for git to carry."""
    at = now.timestamp()
    recent = replica.log.recent_of(replica.session_id, CATCH_UP_EVENTS)
    return [event for event in recent if event.timestamp.timestamp() + event.ttl > at]
