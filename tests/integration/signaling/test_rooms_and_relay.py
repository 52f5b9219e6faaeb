"""Rooms, roster versions, replacement and relay, over real WebSockets to a real server."""

from __future__ import annotations

import pytest

from tests.integration.signaling.conftest import Closed, Connect, StartServer, join_room

pytestmark = pytest.mark.integration


async def test_join_gives_the_roster_and_members_see_each_change(
    start_server: StartServer, connect: Connect
) -> None:
    server = await start_server()
    a, b = await connect(server.url), await connect(server.url)
    joined_a = await a.join("room", "session-a", capabilities=["git"])
    assert joined_a["roster"] == [{"session": "session-a", "capabilities": ["git"]}]
    assert joined_a["roster_version"] == 1
    assert joined_a["limits"]["max_peers"] == 64 and joined_a["protocol"] == 1

    joined_b = await b.join("room", "session-b")
    assert [m["session"] for m in joined_b["roster"]] == ["session-a", "session-b"]
    assert joined_b["roster_version"] == 2
    seen = await a.expect("peer-joined")
    assert (seen["session"], seen["roster_version"], seen["capabilities"]) == ("session-b", 2, [])

    await b.send(type="leave")
    left = await a.expect("peer-left")
    assert (left["session"], left["roster_version"], left["reason"]) == ("session-b", 3, "left")
    rejoined = await b.join("room", "session-b")  # the connection stays usable after leave
    assert rejoined["roster_version"] == 4
    assert (await a.expect("peer-joined"))["roster_version"] == 4

    await b.ws.close()
    left = await a.expect("peer-left")
    assert (left["session"], left["roster_version"], left["reason"]) == ("session-b", 5, "closed")


async def test_rooms_are_separate(start_server: StartServer, connect: Connect) -> None:
    server = await start_server()
    first, second = await connect(server.url), await connect(server.url)
    await first.join("one", "a")
    joined = await second.join("two", "b")
    assert [m["session"] for m in joined["roster"]] == ["b"]
    await second.send(type="offer", to="a", epoch=0, sdp="v=0")
    error = await second.expect_error("unknown_peer")
    assert "'a'" in error["message"] and error["ref"] == "offer"
    await first.roundtrip()  # nothing from room two ever reached room one


async def test_a_second_join_with_the_same_session_replaces_the_old_connection(
    start_server: StartServer, connect: Connect
) -> None:
    server = await start_server()
    watcher, old_conn, new_conn = [await connect(server.url) for _ in range(3)]
    await watcher.join("room", "watcher")
    await old_conn.join("room", "restarted")
    await watcher.expect("peer-joined")

    joined = await new_conn.join("room", "restarted")
    assert [m["session"] for m in joined["roster"]] == ["restarted", "watcher"]
    await old_conn.expect_error("session_replaced")
    assert await old_conn.expect_close() == 4409
    left = await watcher.expect("peer-left")
    rejoined = await watcher.expect("peer-joined")
    assert (left["reason"], left["roster_version"]) == ("replaced", 3)
    assert (rejoined["session"], rejoined["roster_version"]) == ("restarted", 4)
    assert joined["roster_version"] == 4

    # The identity is back: relays to "restarted" reach the new connection.
    await watcher.send(type="offer", to="restarted", epoch=1, sdp="v=0")
    assert (await new_conn.expect("offer"))["from"] == "watcher"


async def test_relay_reaches_only_its_target_with_a_stamped_sender(
    start_server: StartServer, connect: Connect
) -> None:
    server = await start_server()
    a, b, c = [await connect(server.url) for _ in range(3)]
    await join_room("room", {"a": a, "b": b, "c": c})

    await a.send(type="offer", to="b", epoch=7, sdp="v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n", **{
        "from": "c"})  # fmt: skip
    offer = await b.expect("offer")
    assert offer == {
        "type": "offer", "to": "b", "from": "a", "epoch": 7,
        "sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n",
    }  # fmt: skip
    await b.send(type="answer", to="a", epoch=7, sdp="v=0")
    assert (await a.expect("answer"))["from"] == "b"

    trickle = [
        {"candidate": "candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host",
         "sdpMid": "0", "sdpMLineIndex": 0, "usernameFragment": "abcd"},
        {"candidate": "", "sdpMid": "0", "sdpMLineIndex": 0},  # end of candidates
    ]  # fmt: skip
    for candidate in trickle:
        await a.send(type="candidate", to="b", epoch=7, **candidate)
    for candidate in trickle:
        got = await b.expect("candidate")
        assert got == {"type": "candidate", "to": "b", "from": "a", "epoch": 7, **candidate}

    await c.roundtrip()  # c received nothing addressed to b
    await b.roundtrip()


async def test_relay_refusals(start_server: StartServer, connect: Connect) -> None:
    server = await start_server()
    a, outsider = await connect(server.url), await connect(server.url)
    await a.send(type="offer", to="b", epoch=0, sdp="v=0")
    await a.expect_error("not_joined")
    await a.send(type="leave")
    await a.expect_error("not_joined")
    await a.join("room", "a")
    await outsider.join("elsewhere", "b")
    await a.send(type="candidate", to="b", epoch=0, candidate="")
    await a.expect_error("unknown_peer")  # b exists, but in another room
    await a.send(type="answer", to="nobody", epoch=0, sdp="v=0")
    await a.expect_error("unknown_peer")
    await a.send(type="offer", to="a", epoch=0, sdp="v=0")
    assert (await a.expect_error("invalid_field"))["message"].startswith("to:")
    await a.send(type="join", room="room", session="a2")
    await a.expect_error("already_joined")
    await a.roundtrip()  # every refusal left the connection open
    await outsider.roundtrip()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("this is not json", "bad_json"),
        ("[1, 2, 3]", "bad_json"),
        ('{"room": "r"}', "missing_field"),
        ('{"type": "subscribe"}', "unknown_type"),
        ('{"type": "join", "room": "r"}', "missing_field"),
        ('{"type": "join", "room": "no spaces", "session": "a"}', "invalid_field"),
        ('{"type": "offer", "to": "b", "epoch": "one", "sdp": "v=0"}', "invalid_field"),
    ],
)
async def test_each_bad_frame_gets_its_error_and_the_connection_survives(
    start_server: StartServer, connect: Connect, raw: str, code: str
) -> None:
    server = await start_server()
    client = await connect(server.url)
    await client.ws.send_str(raw)
    await client.expect_error(code)
    await client.join("r", "a")


async def test_binary_frames_carry_json_too(start_server: StartServer, connect: Connect) -> None:
    server = await start_server()
    client = await connect(server.url)
    await client.ws.send_bytes(b'{"type": "ping", "nonce": "bin"}')
    assert (await client.expect("pong"))["nonce"] == "bin"


async def test_closing_a_socket_mid_relay_loses_nothing_for_others(
    start_server: StartServer, connect: Connect
) -> None:
    server = await start_server()
    a, b, c = [await connect(server.url) for _ in range(3)]
    await join_room("room", {"a": a, "b": b, "c": c})
    for epoch in range(50):
        await a.send(type="offer", to="b", epoch=epoch, sdp="v=0")
    await c.ws.close()
    frames = [await b.recv() for _ in range(51)]
    assert [f["epoch"] for f in frames if f["type"] == "offer"] == list(range(50))
    assert [(f["type"], f["session"]) for f in frames if f["type"] != "offer"] == [
        ("peer-left", "c")
    ]
    with pytest.raises(Closed):
        await c.recv(timeout=1)
