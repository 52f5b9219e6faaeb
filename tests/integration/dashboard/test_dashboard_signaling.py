"""What the signaling server does for the dashboard: it admits each member with the role its
token gives, stamps that role on the roster (across instances too), refuses a join that asks
for another, and serves the page itself at /dashboard/. Real servers on 127.0.0.1."""

from __future__ import annotations

import re
import time
from pathlib import Path

import aiohttp
import pytest

from ifmesh.signaling import auth
from ifmesh.signaling.dashboard_page import DASHBOARD_DIR
from tests.integration.signaling.conftest import Connect, StartServer

pytestmark = pytest.mark.integration

SECRET = b"dashboard-roles-secret-0123456789"


def token(session: str, role: str = "node", room: str = "room") -> str:
    return auth.mint(SECRET, room, session, int(time.time()) + 600, role)


async def test_the_roster_carries_each_members_role_from_its_token(
    start_server: StartServer, connect: Connect
) -> None:
    server = await start_server(secret=SECRET)
    node, page = await connect(server.url), await connect(server.url)
    await node.join("room", "session-2", token=token("session-2"))
    joined = await page.join("room", "dashboard", token=token("dashboard", "observer"))
    assert joined["roster"] == [
        {"session": "dashboard", "capabilities": [], "role": "observer"},
        {"session": "session-2", "capabilities": []},  # a node: no role, as before roles
    ]
    seen = await node.expect("peer-joined")
    assert (seen["session"], seen["role"]) == ("dashboard", "observer")


async def test_a_join_asking_for_another_role_than_its_tokens_is_refused(
    start_server: StartServer, connect: Connect
) -> None:
    server = await start_server(secret=SECRET)
    page = await connect(server.url)
    await page.send(
        type="join", room="room", session="dashboard", role="operator",
        token=token("dashboard", "observer"),
    )  # fmt: skip
    error = await page.expect_error("wrong_role")
    assert "--role operator" in error["message"]
    assert await page.expect_close() == 4401


async def test_a_forged_role_does_not_verify(start_server: StartServer, connect: Connect) -> None:
    server = await start_server(secret=SECRET)
    page = await connect(server.url)
    forged = token("dashboard", "observer").replace(".observer.", ".operator.")
    await page.send(type="join", room="room", session="dashboard", token=forged)
    await page.expect_error("bad_token")


async def test_an_open_server_takes_the_role_a_join_says(
    start_server: StartServer, connect: Connect
) -> None:
    server = await start_server()
    page, node = await connect(server.url), await connect(server.url)
    joined = await page.join("room", "dashboard", role="observer")
    assert joined["roster"][0]["role"] == "observer"
    joined = await node.join("room", "session-2")
    assert [m.get("role") for m in joined["roster"]] == ["observer", None]


async def test_roles_cross_instances_through_redis(
    start_server: StartServer, connect: Connect, redis_url: str, redis_prefix: str
) -> None:
    options = {"redis_url": redis_url, "redis_prefix": redis_prefix, "secret": SECRET}
    first, second = await start_server(**options), await start_server(**options)
    node, page = await connect(first.url), await connect(second.url)
    await node.join("room", "session-2", token=token("session-2"))
    await page.join("room", "operator-1", token=token("operator-1", "operator"))
    seen = await node.expect("peer-joined")
    assert (seen["session"], seen["role"]) == ("operator-1", "operator")
    late = await connect(first.url)
    joined = await late.join("room", "session-3", token=token("session-3"))
    assert {m["session"]: m.get("role") for m in joined["roster"]}["operator-1"] == "operator"


async def test_every_server_serves_the_page(start_server: StartServer) -> None:
    server = await start_server()
    base = f"http://127.0.0.1:{server.port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/dashboard", allow_redirects=False) as redirect:
            assert redirect.status == 301 and redirect.headers["Location"] == "/dashboard/"
        async with http.get(f"{base}/dashboard/") as index:
            assert index.status == 200 and index.content_type == "text/html"
            assert "default-src 'self'" in index.headers["Content-Security-Policy"]
            assert index.headers["Referrer-Policy"] == "no-referrer"
            html = await index.text()
        # Every file the page loads is served: the style sheet, and each module it imports.
        names = set(re.findall(r'(?:href|src)="([\w.]+\.(?:css|js))"', html))
        for module in DASHBOARD_DIR.glob("*.js"):
            names |= set(re.findall(r'from "\./([\w.]+\.js)"', module.read_text()))
        assert {"app.js", "dashboard.css", "framing.js", "peer.js"} <= names
        for name in sorted(names):
            async with http.get(f"{base}/dashboard/{name}") as response:
                assert response.status == 200, name
                kind = "text/css" if name.endswith(".css") else "javascript"
                assert kind in response.content_type, (name, response.content_type)
        for missing in ("nothing.js", ".hidden", "..%2Fserver.py"):
            async with http.get(f"{base}/dashboard/{missing}") as response:
                assert response.status == 404, missing


def test_the_page_is_shipped_as_package_data() -> None:
    pyproject = (Path(__file__).resolve().parents[3] / "pyproject.toml").read_text()
    assert '"signaling/dashboard/*"' in pyproject
