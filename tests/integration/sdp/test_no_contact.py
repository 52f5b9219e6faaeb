"""The replay never contacts an address taken from an SDP.

A UDP socket on 127.0.0.1 stands in for a fixture's candidate address. First a control: a
plain aiortc peer given the same SDP (candidates included) does send to it, so the socket
would see a replay that leaked. Then the replay, as a real ``ifmesh`` process run to exit:
nothing may have arrived.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

from ifmesh.node.sdp.fixtures import sdp_fixture

pytestmark = pytest.mark.integration


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    yield sock
    sock.close()


def offer_pointing_at(port: int) -> str:
    """chromium-datachannel-offer with its candidates replaced by one at 127.0.0.1:port."""
    lines = sdp_fixture("chromium-datachannel-offer").text.split("\r\n")
    kept = [line for line in lines if not line.startswith("a=candidate:")]
    at = kept.index(next(line for line in kept if line.startswith("a=ice-ufrag:")))
    kept.insert(at, f"a=candidate:1 1 udp 2113937151 127.0.0.1 {port} typ host")
    return "\r\n".join(kept)


async def test_a_plain_aiortc_peer_contacts_the_candidate(listener: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    try:
        text = offer_pointing_at(listener.getsockname()[1])
        await pc.setRemoteDescription(RTCSessionDescription(text, "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        data = await asyncio.wait_for(loop.sock_recv(listener, 2048), 15)
    finally:
        await pc.close()
    assert data[:2] == b"\x00\x01"  # a STUN binding request: aiortc did send a check


def test_replay_sends_nothing_to_the_candidate(listener: socket.socket, tmp_path: Path) -> None:
    path = tmp_path / "offer.sdp"
    path.write_text(offer_pointing_at(listener.getsockname()[1]))
    done = subprocess.run(
        [sys.executable, "-m", "ifmesh.node.sdp.cli", "replay", "--json", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["media"][0]["candidates"][0]["address"] == "127.0.0.1"
    assert report["remote_candidates_given_to_aiortc"] == 0
    # The process has exited: anything it sent is already in the socket's queue.
    with pytest.raises(BlockingIOError):
        listener.recv(2048)
