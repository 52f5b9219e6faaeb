"""What a user sees when the CLI cannot do what was asked: real `ifmesh` processes, real nodes on
bare git remotes in tmp dirs, and fake 'nodes' on 127.0.0.1 that hang or speak something else.
Each test asserts the message a person reads and the exit code a script tests (3: no node)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ifmesh.node.control.endpoint import ControlEndpoint, publish, write_token
from ifmesh.node.runtime.statedir import StateDirLock
from tests.conftest import require_tool

pytestmark = pytest.mark.integration

IFMESH = Path(sys.executable).with_name("ifmesh")
NO_SIGNALING = "ws://127.0.0.1:1/ws"  # nothing listens there: the nodes run git-only
TIMEOUT = 60.0


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The user's environment without IFMESH_*, and a state root of the test's own."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("IFMESH_")}
    return clean | {"XDG_STATE_HOME": str(tmp_path / "xdg")}


async def ifmesh(env: dict[str, str], *argv: str, **extra: str) -> Ran:
    process = await asyncio.create_subprocess_exec(
        str(IFMESH), *argv, env=env | extra, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), TIMEOUT)
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())


def bare_remote(path: Path) -> Path:
    require_tool("git")
    subprocess.run(["git", "init", "--quiet", "--bare", str(path)], check=True)
    return path


class Node:
    """An `ifmesh node` process; its output is read as it comes, so tests wait on its lines."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.lines: list[str] = []
        self._seen = asyncio.Condition()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def start(cls, env: dict[str, str], *argv: str) -> Node:
        process = await asyncio.create_subprocess_exec(
            str(IFMESH), "node", "--signaling", NO_SIGNALING, *argv,
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        return cls(process)

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            async with self._seen:
                self.lines.append(raw.decode())
                self._seen.notify_all()
        async with self._seen:
            self._seen.notify_all()

    async def started(self) -> None:
        await self.seen("node.started")

    async def seen(self, text: str) -> None:
        """Waits until a line of the node's output holds ``text`` (fails if it exits first)."""
        async with asyncio.timeout(TIMEOUT), self._seen:
            await self._seen.wait_for(
                lambda: any(text in line for line in self.lines) or self._reader.done()
            )
        assert any(text in line for line in self.lines), "".join(self.lines)

    async def exited(self) -> int:
        code = await asyncio.wait_for(self.process.wait(), TIMEOUT)
        await self._reader
        return code

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        assert await self.exited() == 0, "".join(self.lines)


@contextlib.asynccontextmanager
async def running(env: dict[str, str], *argv: str) -> AsyncIterator[Node]:
    node = await Node.start(env, *argv)
    try:
        await node.started()
        yield node
    finally:
        if node.process.returncode is None:
            node.process.send_signal(signal.SIGTERM)
        await node.exited()


# --- finding the node: --state-dir, --session, IFMESH_STATE_DIR, IFMESH_SESSION -------------


async def test_a_state_dir_names_the_session_its_node_left(
    tmp_path: Path, env: dict[str, str]
) -> None:
    remote = bare_remote(tmp_path / "remote.git")
    state = tmp_path / "lab-state"  # a directory's name is not a session id
    node = await Node.start(
        env, "--session", "session-7-lab", "--state-dir", str(state), "--remote", str(remote),
        "--create-branch",
    )  # fmt: skip
    await node.started()
    assert (await ifmesh(env, "status", "--state-dir", str(state))).out.startswith(
        "session session-7-lab "
    )
    await node.stop()

    stopped = await ifmesh(env, "board", "--state-dir", str(state))
    assert stopped.code == 3
    assert stopped.err == (
        f"ifmesh: node_not_running: no node is running for session-7-lab (looked in {state}); "
        f"start it with `ifmesh node --session session-7-lab --state-dir {state} --remote URL`\n"
    )
    assert "--session lab-state" not in stopped.err


async def test_a_closed_terminal_stops_a_node_as_sigterm_does(
    tmp_path: Path, env: dict[str, str]
) -> None:
    remote = bare_remote(tmp_path / "remote.git")
    node = await Node.start(
        env, "--session", "session-7-lab", "--state-dir", str(tmp_path / "state"),
        "--remote", str(remote), "--create-branch",
    )  # fmt: skip
    await node.started()
    node.process.send_signal(signal.SIGHUP)  # without a handler: the process ends at once
    assert await node.exited() == 0, "".join(node.lines)
    assert any("node.stopped" in line for line in node.lines), "".join(node.lines)


async def test_a_state_dir_without_a_session_of_its_own_is_not_given_one(
    tmp_path: Path, env: dict[str, str]
) -> None:
    empty = tmp_path / "state"
    empty.mkdir()
    ran = await ifmesh(env, "board", "--state-dir", str(empty))
    assert ran.code == 3
    assert ran.err == (
        f"ifmesh: node_not_running: no node is running in {empty}; start one with "
        f"`ifmesh node --session SESSION --state-dir {empty} --remote URL`\n"
    )
    missing = tmp_path / "typo"
    ran = await ifmesh(env, "status", "--json", IFMESH_STATE_DIR=str(missing))
    assert ran.code == 3
    assert json.loads(ran.out) == {
        "error": {
            "code": "node_not_running",
            "message": f"no node is running in IFMESH_STATE_DIR={missing}: no such "
            f"directory; start one with `ifmesh node --session SESSION --state-dir {missing} "
            "--remote URL`",
        }
    }


async def test_every_client_command_reads_the_environment_and_flags_win(
    tmp_path: Path, env: dict[str, str]
) -> None:
    remote = bare_remote(tmp_path / "remote.git")
    lab = tmp_path / "lab-state"
    first = ["--remote", str(remote), "--create-branch"]
    async with running(env, "--session", "session-7-lab", "--state-dir", str(lab), *first):
        ops = ["--session", "session-8-ops", "--remote", str(remote)]
        async with running(env, *ops):  # in its default directory, under XDG_STATE_HOME
            only = await ifmesh(env, "status")  # the only node in the state root
            assert only.out.startswith("session session-8-ops ")

            in_lab = env | {"IFMESH_STATE_DIR": str(lab)}
            for command in (["board"], ["peers"], ["next"], ["status"]):
                ran = await ifmesh(in_lab, *command)
                assert ran.code == 0, (command, ran.err)
            assert (await ifmesh(in_lab, "status")).out.startswith("session session-7-lab ")
            claim = await ifmesh(in_lab, "claim", "P0.0.1")
            assert claim.out == "won P0.0.1 epoch 0 (decided by mesh)\n"  # alone: no one to ask
            assert (await ifmesh(in_lab, "progress", "P0.0.1", "25")).code == 0
            waited = await ifmesh(in_lab, "wait", "P0.0.1", "--until", "unblocked")
            assert waited.out == "P0.0.1 is unblocked: CLAIMED\n"

            ops_env = env | {"IFMESH_SESSION": "session-8-ops"}
            assert (await ifmesh(ops_env, "status")).out.startswith("session session-8-ops ")
            # Flags win: over the same variable, and --session over IFMESH_STATE_DIR.
            elsewhere = env | {"IFMESH_STATE_DIR": str(tmp_path / "nowhere")}
            flag = await ifmesh(elsewhere, "status", "--state-dir", str(lab))
            assert flag.out.startswith("session session-7-lab ")
            flag = await ifmesh(in_lab, "status", "--session", "session-8-ops")
            assert flag.out.startswith("session session-8-ops ")
            flag = await ifmesh(ops_env, "status", "--state-dir", str(lab))
            assert flag.out.startswith("session session-7-lab ")
            flag = await ifmesh(ops_env, "status", "--session", "session-7-lab")
            assert flag.code == 3  # session-7-lab's directory is not the default one
            assert "no node is running for session-7-lab" in flag.err

            crossed = await ifmesh(in_lab, "board", IFMESH_SESSION="session-8-ops")
            assert crossed.code == 3
            assert crossed.err == (
                f"ifmesh: node_not_running: the node running in IFMESH_STATE_DIR={lab} "
                "is session session-7-lab, not session-8-ops; ask for session-7-lab, or give "
                "the state directory of session-8-ops's node\n"
            )


# --- the coordination remote: missing at start, gone while running ---------------------------


async def test_a_node_with_a_missing_local_remote_stops_and_says_how_to_make_one(
    tmp_path: Path, env: dict[str, str]
) -> None:
    require_tool("git")
    missing = tmp_path / "coordination.git"
    state = ["--session", "session-7-lab", "--state-dir", str(tmp_path / "state")]
    node = await Node.start(env, *state, "--remote", str(missing))
    assert await node.exited() == 1
    said = [line for line in node.lines if line.startswith("ifmesh node:")]
    assert said == [
        f"ifmesh node: remote_unreachable: cannot fetch {missing}: fatal: '{missing}' does not "
        "appear to be a git repository; the node stops: it has no board to start from; check "
        f"the URL (--remote): a local path must be a git repository (`git init --bare "
        f"{missing}`, then start one node with --create-branch)\n"
    ]
    assert not any("pushed when the remote is back" in line for line in node.lines)

    bare_remote(missing)  # what the message says to do
    async with running(env, *state, "--remote", str(missing), "--create-branch"):
        pass


async def test_a_remote_gone_while_running_keeps_events_and_pushes_them_when_back(
    tmp_path: Path, env: dict[str, str]
) -> None:
    remote = bare_remote(tmp_path / "remote.git")
    state = tmp_path / "state"
    argv = ["--session", "session-7-lab", "--state-dir", str(state), "--remote", str(remote)]
    async with running(env, *argv, "--create-branch", "--fetch-interval-seconds", "1"):
        watch = await asyncio.create_subprocess_exec(
            str(IFMESH), "watch", "--json", "--state-dir", str(state),
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            assert (await _next_event(watch, lambda e: True))["type"] == "subscribed"
            away = remote.rename(tmp_path / "away.git")
            # Git decides claims, and it is away: a provisional claim goes on at once.
            claimed = await ifmesh(
                env, "claim", "P0.0.1", "--provisional", "--state-dir", str(state)
            )
            assert claimed.code == 0
            # (A push or fetch already under way as the remote moves may fail otherwise.)
            error = await _next_event(
                watch, lambda e: e["type"] == "git.error" and e["code"] == "remote_unreachable"
            )
            assert re.fullmatch(
                f"cannot (push|fetch) {re.escape(str(remote))}: fatal: "
                f"'{re.escape(str(remote))}' does not appear to be a git repository; events "
                r"stay committed locally and are pushed when the remote is back \(check the "
                r"URL, network and credentials\)",
                error["message"],
            ), error["message"]
            status = await ifmesh(env, "status", "--state-dir", str(state))
            assert re.search(r"pending commits [1-9]\d*, last error: cannot ", status.out)

            away.rename(remote)
            confirmed = await _next_event(
                watch, lambda e: e.get("event", {}).get("type") == "task.confirmed"
            )
            assert confirmed["event"]["payload"]["task_id"] == "P0.0.1"
        finally:
            watch.send_signal(signal.SIGINT)
            await asyncio.wait_for(watch.communicate(), TIMEOUT)


async def _next_event(
    watch: asyncio.subprocess.Process, wanted: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    assert watch.stdout is not None
    async with asyncio.timeout(TIMEOUT):
        while line := await watch.stdout.readline():
            event: dict[str, Any] = json.loads(line)["event"]
            if wanted(event):
                return event
    raise AssertionError("`ifmesh watch` ended")


# --- a node that hangs, or something else listening where a node should be ------------------

Serve = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def fake_node(tmp_path: Path, session: str, serve: Serve) -> AsyncIterator[Path]:
    """A state directory whose 'node' (this test, holding its lock) listens on 127.0.0.1 and
    answers with ``serve``."""
    writers: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")
            await serve(reader, writer)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    directory = tmp_path / session
    with StateDirLock(directory):
        publish(directory, ControlEndpoint(session, os.getpid(), url, write_token(directory)))
        try:
            yield directory
        finally:
            server.close()
            for writer in writers:
                writer.close()
            await server.wait_closed()


def answering(answer: bytes) -> Serve:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(answer)
        await writer.drain()

    return serve


async def test_a_node_that_does_not_answer_in_time_is_named_with_what_to_do(
    tmp_path: Path, env: dict[str, str]
) -> None:
    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # until the client gives up and hangs up

    async with fake_node(tmp_path, "session-9-stuck", hang) as state:
        url = json.loads((state / "control.json").read_text())["url"]
        fast = env | {"IFMESH_CONTROL_TIMEOUT": "0.5"}
        ran = await ifmesh(fast, "status", "--state-dir", str(state))
        assert ran.code == 3
        assert ran.err == (
            f"ifmesh: node_timeout: node session-9-stuck (pid {os.getpid()}, {url}) took "
            f"status but gave no answer within 0.5 s; it may be stuck: `kill -USR1 "
            f"{os.getpid()}` prints where its tasks wait to its log. If it is only slow, give "
            "it longer with IFMESH_CONTROL_TIMEOUT=SECONDS\n"
        )
        ran = await ifmesh(fast, "claim", "P0.1.1", "--timeout", "0", "--json",
                           "--state-dir", str(state))  # fmt: skip
        assert ran.code == 3
        assert json.loads(ran.out)["error"]["code"] == "node_timeout"
        assert "gave no answer within 0.5 s" in json.loads(ran.out)["error"]["message"]

        bad = await ifmesh(env, "board", "--state-dir", str(state), IFMESH_CONTROL_TIMEOUT="soon")
        assert bad.code == 2
        assert bad.err == (
            "ifmesh: config_error: IFMESH_CONTROL_TIMEOUT='soon' is not a number of seconds "
            "above 0\n"
        )


async def test_wait_without_a_timeout_outlives_the_answer_margin(
    tmp_path: Path, env: dict[str, str]
) -> None:
    asked, done = asyncio.Event(), asyncio.Event()
    body = b'{"task": {"id": "P0.1.1", "status": "COMPLETED"}, "until": "completed"}'

    async def completes_when_told(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        asked.set()
        await done.wait()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()

    async with fake_node(tmp_path, "session-9-slow", completes_when_told) as state:
        margin = env | {"IFMESH_CONTROL_TIMEOUT": "0.2"}
        waiting = asyncio.create_task(ifmesh(margin, "wait", "P0.1.1", "--state-dir", str(state)))
        await asyncio.wait_for(asked.wait(), TIMEOUT)
        # A client bounded by the 0.2 s margin would have given up and exited by now.
        finished, _ = await asyncio.wait([waiting], timeout=2.0)
        assert not finished, waiting.result() if finished else None
        done.set()
        ran = await waiting
    assert (ran.code, ran.out) == (0, "P0.1.1 is completed: COMPLETED\n")


async def test_something_else_listening_is_a_bad_response_not_a_traceback(
    tmp_path: Path, env: dict[str, str]
) -> None:
    async with fake_node(
        tmp_path, "session-9-ssh", answering(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
    ) as ssh:
        url = json.loads((ssh / "control.json").read_text())["url"]
        for command in ("status", "watch"):
            ran = await ifmesh(env, command, "--state-dir", str(ssh))
            assert ran.code == 3, ran.err
            assert ran.err.startswith(
                f"ifmesh: bad_response: the answer from {url} is not HTTP/1.1 as a node's "
                "control API speaks it ("
            )
            assert ran.err.endswith("); is another program listening there?\n")

    text = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
    async with fake_node(tmp_path, "session-9-odd", answering(text)) as odd:
        url = json.loads((odd / "control.json").read_text())["url"]
        ran = await ifmesh(env, "board", "--state-dir", str(odd))
        assert ran.code == 3
        assert ran.err == (
            f"ifmesh: bad_response: node session-9-odd ({url}) answered board with HTTP 200 "
            "and not JSON; a node of another ifmesh version? Restart it with this one (stop "
            "it, then `ifmesh node`)\n"
        )
