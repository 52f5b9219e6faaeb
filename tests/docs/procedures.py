"""Running a doc's procedure: a shell block, as written, in a fresh temp environment.

Each procedure runs alone with ``bash -euo pipefail`` in a new scratch directory, in its own
process group (everything it started in the background is stopped afterwards), with these
variables (docs/README.md tells readers what they stand for at their site):

  WORK           the scratch directory, also the working directory
  IFMESH_REPO    this checkout (examples/, docs/)
  PORT, PORT2, PORT3   free TCP ports on 127.0.0.1
  REMOTE         a bare git repository (real git) whose branch ``ifmesh/coordination`` holds the
                 example Phase-0 board and STATUS files; made only if the script uses it
  SIGNALING_URL  ws://…/ws of a real signaling server process started for the procedure; only
                 if the script uses it
  HOME, XDG_STATE_HOME  inside WORK, so nothing touches the real home directory

``PATH`` starts with the project's .venv/bin, so ``ifmesh`` is the checkout's. A following
``<!-- output -->`` block lists lines the procedure's standard output must contain, in order;
``...`` in a line matches any text; runs of whitespace compare equal.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
BRANCH = "ifmesh/coordination"
DEFAULT_TIMEOUT = 30.0
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "ifmesh docs",
    "GIT_AUTHOR_EMAIL": "docs@ifmesh.invalid",
    "GIT_COMMITTER_NAME": "ifmesh docs",
    "GIT_COMMITTER_EMAIL": "docs@ifmesh.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool

    def describe(self) -> str:
        state = "timed out" if self.timed_out else f"exit {self.returncode}"
        return f"{state}\n--- stdout\n{self.stdout[-4000:]}\n--- stderr\n{self.stderr[-4000:]}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _git(*args: str, cwd: Path | None = None) -> None:
    subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_IDENTITY},
        capture_output=True,
        check=True,
        timeout=30,
    )


def make_remote(root: Path) -> Path:
    """A bare remote whose coordination branch holds the example Phase-0 files."""
    remote = root / "remote.git"
    _git("init", "--quiet", "--bare", str(remote))
    seed = root / "seed"
    shutil.copytree(REPO / "examples" / "phase0", seed)
    _git("init", "--quiet", str(seed))
    _git("add", "-A", cwd=seed)
    _git("commit", "--quiet", "-m", "Phase 0 task board", cwd=seed)
    _git("push", "--quiet", str(remote), f"HEAD:refs/heads/{BRANCH}", cwd=seed)
    shutil.rmtree(seed)
    return remote


@contextlib.contextmanager
def signaling_server(log: Path) -> Iterator[str]:
    """A real ``ifmesh signaling`` process on a free loopback port; yields its ws:// URL."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(VENV_BIN / "ifmesh"), "signaling", "--port", "0"],
            stdout=subprocess.PIPE,
            stderr=sink,
            start_new_session=True,
        )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode()  # "listening ws://127.0.0.1:N/ws"
        if not line.startswith("listening "):
            raise RuntimeError(f"signaling server did not start: {log.read_text()}")
        yield line.split()[1]
    finally:
        _stop_group(process.pid)
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def _stop_group(pgid: int) -> None:
    """SIGTERM the group the harness started, then SIGKILL whatever is left after a grace."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            os.killpg(pgid, 0)  # raises ProcessLookupError once the group is empty
            time.sleep(0.05)
        os.killpg(pgid, signal.SIGKILL)


def uses(script: str, name: str) -> bool:
    return re.search(rf"\$\{{?{name}\b", script) is not None


def run_procedure(script: str, work: Path, timeout: float = DEFAULT_TIMEOUT) -> Outcome:
    """Runs shell ``script`` in ``work`` (an empty directory) and returns what happened."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("IFMESH_", "GIT_")) and key not in {"VIRTUAL_ENV"}
    }
    env.update(GIT_IDENTITY)
    env.update(
        {
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
            "WORK": str(work),
            "IFMESH_REPO": str(REPO),
            "HOME": str(work / "home"),
            "XDG_STATE_HOME": str(work / "state"),
            "PORT": str(free_port()),
            "PORT2": str(free_port()),
            "PORT3": str(free_port()),
        }
    )
    (work / "home").mkdir()
    harness = work.parent / f"{work.name}-harness"
    harness.mkdir()
    with contextlib.ExitStack() as stack:
        if uses(script, "REMOTE"):
            env["REMOTE"] = str(make_remote(harness))
        if uses(script, "SIGNALING_URL"):
            env["SIGNALING_URL"] = stack.enter_context(signaling_server(harness / "signaling.log"))
        outcome = _run(script, work, env, timeout, harness)
    return outcome


def _run(script: str, work: Path, env: dict[str, str], timeout: float, harness: Path) -> Outcome:
    out_path, err_path = harness / "stdout", harness / "stderr"
    # Files, not pipes: a server the procedure leaves running in the background would hold a
    # pipe open and the read would never end.
    with out_path.open("wb") as out, err_path.open("wb") as err:
        process = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
        timed_out = False
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            _stop_group(process.pid)
            process.wait(timeout=10)
    return Outcome(
        returncode=process.returncode,
        stdout=out_path.read_text(errors="replace"),
        stderr=err_path.read_text(errors="replace"),
        timed_out=timed_out,
    )


def missing_output(expected: str, stdout: str) -> str | None:
    """The first expected line not found (in order) in ``stdout``; None when all are.

    Runs of whitespace compare equal, so a doc need not copy a table's column padding.
    """
    lines = [_squeeze(line) for line in stdout.splitlines()]
    position = 0
    for wanted in (_squeeze(line) for line in expected.splitlines()):
        if not wanted:
            continue
        pattern = re.compile(".*".join(re.escape(part) for part in wanted.split("...")))
        while position < len(lines) and not pattern.fullmatch(lines[position]):
            position += 1
        if position == len(lines):
            return wanted
        position += 1
    return None


def _squeeze(line: str) -> str:
    return " ".join(line.split())
