"""The provider sessions the IFMessage fixtures follow, what each says of each message type,
and the fixtures' clock and ids.

Shared by scripts/make_ifmessage_fixtures.py and scripts/origin_ifmessages.py.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ifmesh.node.protocol.messages import (
    Blocker,
    BlockerResolved,
    BreakerReset,
    ClaimLost,
    HelpEscalate,
    HelpOffer,
    HelpRequest,
    LeaseRenew,
    PathsRelease,
    PathsReserve,
    Payload,
    SwarmLeave,
    SwarmRegister,
    TaskAskRelease,
    TaskBroadcast,
    TaskClaim,
    TaskComplete,
    TaskConfirmed,
    TaskFail,
    TaskKeep,
    TaskProgress,
    TaskQueue,
    TaskRelease,
    TaskSteal,
    TaskUnqueue,
)

NAMESPACE = uuid.UUID("6f1d3c2e-6a55-4c1e-9a0b-1f2e3d4c5b6a")
T0 = datetime(2025, 11, 12, 14, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Provider:
    key: str
    session: str
    task: str
    task_title: str
    task_type: str
    deliverable: str
    depends_on: str
    capabilities: tuple[str, ...]
    blocker: str
    need: tuple[str, ...]
    helper: str
    milestone: str
    failure: str
    cost_per_hour: float
    model: str
    incarnation: str


PROVIDERS = (
    Provider(
        "ndi", "session-1-ndi", "P0.1.5", "NDI source discovery integration", "integration",
        "src/ndi/discovery.py", "P0.1.3",
        ("protocol:ndi", "media:video-routing", "test:integration", "lang:python"),
        "NDI SDK discovery server unreachable from the CI runner; mDNS announcements time out",
        ("protocol:ndi", "infra:multicast"), "session-4-sip",
        "50% - Discovery server fallback implemented", "NDI receiver dropped frames at 1080p60",
        4.5, "sonnet", "7c1e5a90",
    ),
    Provider(
        "webrtc", "session-2-webrtc", "P0.5.2", "IF.governor documentation", "documentation",
        "docs/components/IF.GOVERNOR.md", "P0.2.6",
        ("docs:technical-writing", "protocol:webrtc", "test:fixtures", "docs:runbooks"),
        "Waiting for IF.governor integration tests (P0.2.6) before documenting the admission path",
        ("test:integration", "governor:policy"), "session-5-cli",
        "50% - Policy configuration complete", "Mermaid diagrams fail to render in the docs build",
        1.2, "haiku", "0b9d44e2",
    ),
    Provider(
        "h323", "session-3-h323", "P0.3.6", "H.323 MCU conference bridge", "integration",
        "src/h323/mcu_bridge.py", "P0.3.4",
        ("protocol:h323", "media:mcu", "protocol:h245", "lang:python"),
        "MCU configuration for cascaded conferences is undocumented; H.245 capability exchange "
        "rejects the bridge's terminal capability set",
        ("protocol:h323", "docs:technical-writing"), "session-2-webrtc",
        "75% - Gatekeeper registration and RAS flows passing", "H.245 master/slave determination "
        "loops when both ends propose the same random number",
        3.8, "sonnet", "e41f0c37",
    ),
    Provider(
        "sip", "session-4-sip", "P0.4.3", "SIP trunk registration and INVITE flow", "integration",
        "src/sip/trunk.py", "P0.4.1",
        ("protocol:sip", "protocol:sdp", "test:sipp", "lang:python"),
        "SIPp scenario for re-INVITE with hold needs SDP fixtures with a=sendonly",
        ("protocol:sdp", "test:fixtures"), "session-2-webrtc",
        "25% - REGISTER with digest auth working", "487 Request Terminated on every CANCEL race",
        3.0, "sonnet", "5a2b7d18",
    ),
    Provider(
        "cli", "session-5-cli", "P0.5.4", "ifmesh CLI for agent sessions", "tooling",
        "src/cli/main.py", "P0.5.1",
        ("lang:python", "tooling:cli", "test:integration", "governor:policy"),
        "Exit-code contract for `claim --confirmed` depends on the git-sync confirmation design",
        ("git:sync", "docs:technical-writing"), "session-3-h323",
        "100% - All commands documented with --json output", "argparse rejects repeated --need",
        2.2, "haiku", "92c6e0aa",
    ),
)  # fmt: skip


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def message_id(*parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def payloads(p: Provider, index: int) -> dict[str, tuple[Payload, dict[str, Any]]]:
    """Each message type for provider ``p``, with envelope fields beyond the defaults."""
    request_id = message_id(p.key, "help.request")
    claim_ts: Any = at(index)
    if p.key == "ndi":
        # The original IFMessage mocks stamped payloads with time.time(): keep one such case.
        claim_ts = at(index).timestamp()
    inform = {"performative": "inform"}
    return {
        "task.claim": (
            TaskClaim(
                task_id=p.task, epoch=0, swarm_id=p.session, task_type=p.task_type,
                metadata={"title": p.task_title, "estimate_hours": 2, "model": p.model},
                timestamp=claim_ts, policy_hash="sha256:4be1c9f0a7d2e3b8",
            ),
            {"performative": "propose", "lamport": 12, "seq": 3},
        ),
        "task.broadcast": (
            TaskBroadcast(
                task_id=p.task, task_type=p.task_type, priority="high",
                metadata={"title": p.task_title, "dependencies": [p.depends_on],
                          "deliverable": p.deliverable},
                assigned_at=at(index - 30),
            ),
            {"performative": "cfp", "lamport": 2, "seq": 1},
        ),
        "task.progress": (
            TaskProgress(task_id=p.task, epoch=0, percent=int(p.milestone.split("%")[0]),
                         milestone=p.milestone.split(" - ", 1)[1]),
            inform | {"lamport": 20, "seq": 5},
        ),
        "task.complete": (
            TaskComplete(task_id=p.task, epoch=0, deliverable=p.deliverable, tests_pass=True,
                         actual_hours=1.5),
            inform | {"lamport": 31, "seq": 8},
        ),
        "task.fail": (
            TaskFail(task_id=p.task, epoch=0, reason=p.failure),
            {"performative": "failure", "level": "error", "lamport": 25, "seq": 6},
        ),
        "task.release": (
            TaskRelease(task_id=p.task, epoch=0), inform | {"lamport": 26, "seq": 7}
        ),
        "task.steal": (
            TaskSteal(task_id=p.depends_on, epoch=2, previous_owner=p.helper),
            {"performative": "request", "level": "warning", "lamport": 40, "seq": 9},
        ),
        "task.confirmed": (
            TaskConfirmed(task_id=p.task, epoch=0, winner=p.session),
            {"performative": "confirm", "lamport": 13, "seq": 4},
        ),
        "claim.lost": (
            ClaimLost(task_id=p.depends_on, epoch=1, winner=p.helper),
            {"performative": "disconfirm", "lamport": 14, "seq": 4},
        ),
        "lease.renew": (
            LeaseRenew(task_ids=[p.task]), inform | {"lamport": 22, "seq": 6, "ttl": 60}
        ),
        "blocker": (
            Blocker(
                swarm_id=p.session, task_id=p.task, blocked_on=[p.depends_on],
                blocker_type="dependency", required_capabilities=list(p.need),
                description=p.blocker, urgency="high", detected_at=at(index + 5),
            ),
            {"performative": "inform", "level": "warning", "lamport": 16, "seq": 5},
        ),
        "blocker.resolved": (
            BlockerResolved(swarm_id=p.session, task_id=p.task,
                            resolution=f"{p.depends_on} completed; resuming"),
            inform | {"lamport": 30, "seq": 7},
        ),
        "help.request": (
            HelpRequest(
                blocked_swarm_id=p.session, task_id=p.task, required_capabilities=list(p.need),
                description=p.blocker, urgency="high", max_helpers=3, max_cost_per_helper=10.0,
                deadline=at(index + 35),
            ),
            {"performative": "cfp", "level": "warning", "lamport": 17, "seq": 6,
             "conversation_id": f"help-{p.task}"},
        ),
        "help.offer": (
            HelpOffer(
                request_id=request_id, task_id=p.task, helper_swarm_id=p.helper,
                capabilities=list(p.need), estimated_cost=2.4,
                message=f"{p.helper} can pair on {p.task} for the next 40 minutes",
            ),
            {"performative": "propose", "lamport": 18, "seq": 2,
             "conversation_id": f"help-{p.task}", "source": p.helper},
        ),
        "help.escalate": (
            HelpEscalate(request_id=request_id, task_id=p.task, blocked_swarm_id=p.session,
                         reason="no eligible helper accepted before the deadline"),
            {"performative": "request", "level": "error", "lamport": 33, "seq": 8,
             "conversation_id": f"help-{p.task}"},
        ),
        "swarm.register": (
            SwarmRegister(swarm_id=p.session, capabilities=list(p.capabilities),
                          cost_per_hour=p.cost_per_hour, reputation_score=0.82, budget=40.0,
                          model=p.model),
            inform | {"lamport": 1, "seq": 0},
        ),
        "swarm.leave": (
            SwarmLeave(swarm_id=p.session, reason="session ended: Phase 0 work handed over"),
            inform | {"lamport": 70, "seq": 20},
        ),
        "breaker.reset": (
            BreakerReset(swarm_id=p.session, task_type=p.task_type,
                         reason="operator reset after fixing the failing CI runner"),
            {"performative": "inform", "level": "warning", "lamport": 45, "seq": 1,
             "source": "session-0-operator"},
        ),
        # The helper session queues for this provider's task, asks it to let go, and the
        # provider keeps it; the helper then leaves the queue.
        "task.queue": (
            TaskQueue(task_id=p.task, epoch=0, urgency="high"),
            {"performative": "request", "lamport": 21, "seq": 3, "source": p.helper},
        ),
        "task.ask_release": (
            TaskAskRelease(task_id=p.task, epoch=0, grace_seconds=600.0,
                           reason=f"{p.helper} needs {p.task} to finish its own deliverable"),
            {"performative": "request", "lamport": 23, "seq": 4, "source": p.helper},
        ),
        "task.keep": (
            TaskKeep(task_id=p.task, epoch=0, reason=f"{p.milestone}; finishing it myself"),
            {"performative": "refuse", "lamport": 24, "seq": 6},
        ),
        "task.unqueue": (
            TaskUnqueue(task_id=p.task),
            inform | {"lamport": 27, "seq": 5, "source": p.helper},
        ),
        # The provider reserves the files of its deliverable while it holds the task, and
        # lets the docs go once they are written.
        "paths.reserve": (
            PathsReserve(task_id=p.task, epoch=0, ttl_seconds=7200.0,
                         patterns=[p.deliverable, f"tests/{p.key}/**", "docs/*.md"]),
            inform | {"lamport": 9, "seq": 3},
        ),
        "paths.release": (
            PathsRelease(task_id=p.task, patterns=["docs/*.md"]),
            inform | {"lamport": 26, "seq": 7},
        ),
    }  # fmt: skip
