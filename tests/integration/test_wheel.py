"""The wheel is a product too: built from the sdist, installed alone into a fresh venv, and run
from a directory that is not the repository, as `pip install ifmesh` then `ifmesh …` would be."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_tool

REPO = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).with_name("uv")
pytestmark = pytest.mark.integration


class Installed:
    """A venv holding only the built wheel and its locked dependencies."""

    def __init__(self, venv: Path, wheel: Path, cwd: Path) -> None:
        self.venv, self.wheel, self.cwd = venv, wheel, cwd
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("IFMESH_", "PYTHON"))}
        self.env["XDG_STATE_HOME"] = str(cwd / "state")

    @property
    def ifmesh(self) -> str:
        return str(self.venv / "bin" / "ifmesh")

    def run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.ifmesh, *argv], cwd=self.cwd, env=self.env, capture_output=True, text=True,
            timeout=timeout, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    def spawn(self, *argv: str, log_on_stdout: bool = True) -> subprocess.Popen[str]:
        """A long-running command; its stdout (with its log, unless told not to) is a pipe."""
        return subprocess.Popen(
            [self.ifmesh, *argv], cwd=self.cwd, env={**self.env, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE, text=True,
            stderr=subprocess.STDOUT if log_on_stdout else subprocess.DEVNULL,
        )  # fmt: skip


def _check(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def _run(*argv: str | Path, cwd: Path = REPO) -> str:
    done = subprocess.run(
        [str(arg) for arg in argv], cwd=cwd, capture_output=True, text=True, timeout=300,
        check=False,
    )  # fmt: skip
    return _check(done)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    require_tool("git")
    base = tmp_path_factory.mktemp("wheel")
    # python -m build makes the sdist, then the wheel from the sdist: both must be whole.
    _run(sys.executable, "-m", "build", "--outdir", base / "dist", REPO)
    wheel = next((base / "dist").glob("ifmesh-*.whl"))
    assert next((base / "dist").glob("ifmesh-*.tar.gz")).is_file()
    venv = base / "venv"
    _run(UV, "venv", "--seed", "--python", sys.executable, venv)
    # The wheel with exactly the runtime dependencies the lock holds (uv's cache serves them).
    locked = base / "runtime-requirements.txt"
    locked.write_text(_run(UV, "export", "--frozen", "--no-dev", "--no-emit-project"))
    _run(UV, "pip", "install", "--python", venv / "bin" / "python", "-r", locked, wheel)
    cwd = base / "elsewhere"
    cwd.mkdir()
    return Installed(venv, wheel, cwd)


def test_the_wheel_claims_only_the_ifmesh_namespace(installed: Installed) -> None:
    names = zipfile.ZipFile(installed.wheel).namelist()
    top = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top == {"ifmesh"}
    assert "ifmesh/py.typed" in names
    assert "ifmesh/examples/phase0/PHASE-0-TASK-BOARD.md" in names
    probe = subprocess.run(
        [str(installed.venv / "bin" / "python"), "-c", "import node"],
        cwd=installed.cwd, env=installed.env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert probe.returncode == 1 and "No module named 'node'" in probe.stderr


def test_schema_validate_and_sdp_replay_read_only_shipped_files(installed: Installed) -> None:
    schema = _check(installed.run("schema"))
    assert schema == (REPO / "fixtures" / "schema" / "ifmessage.schema.json").read_text()
    shipped = installed.venv.glob("lib/python*/site-packages/ifmesh/fixtures")
    fixtures = next(shipped)
    shipped_run = installed.run("validate", str(fixtures / "ifmessages"))
    repo_run = installed.run("validate", str(REPO / "fixtures" / "ifmessages"))
    _check(shipped_run)
    assert shipped_run.stderr == repo_run.stderr  # every fixture shipped: "93 valid, 0 invalid…"
    bad = installed.run("validate", str(fixtures / "ifmessages" / "invalid"))
    assert bad.returncode == 1 and "UNEXPECTED" not in bad.stdout, bad.stdout + bad.stderr
    sdp = next((fixtures / "sdp").rglob("*.sdp"))
    report = json.loads(_check(installed.run("sdp", "replay", "--json", str(sdp))))
    assert report
    tour = installed.run("demo")
    assert tour.returncode == 0, tour.stdout + tour.stderr


@pytest.fixture
def signaling(installed: Installed) -> Iterator[str]:
    server = installed.spawn("signaling", "--host", "127.0.0.1", "--port", "0", log_on_stdout=False)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line.startswith("listening "), line
        yield line.split()[1]
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
    assert server.returncode == 0


def test_a_node_creates_the_branch_with_the_starter_board(
    installed: Installed, signaling: str, tmp_path: Path
) -> None:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "--quiet", "--bare", str(remote)], check=True)
    node = installed.spawn(
        "node", "--session", "session-9-wheel", "--room", "wheel", "--remote", str(remote),
        "--create-branch", "--signaling", signaling, "--state-dir", str(tmp_path / "state"),
    )  # fmt: skip
    try:
        assert node.stdout is not None
        lines = []
        for line in node.stdout:  # its log, until it says it runs
            lines.append(line)
            if "node.started" in line:
                break
        assert any("node.started" in line for line in lines), "".join(lines[-20:])
        board = subprocess.run(
            ["git", "--git-dir", str(remote), "show", "ifmesh/coordination:PHASE-0-TASK-BOARD.md"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert "# Phase 0 Task Board" in board
        status = installed.run("status", "--state-dir", str(tmp_path / "state"), "--json")
        assert json.loads(_check(status))["session"] == "session-9-wheel"
    finally:
        node.send_signal(signal.SIGTERM)
        node.communicate(timeout=60)
    assert node.returncode == 0


@pytest.mark.timeout(400)
def test_up_runs_a_whole_room_from_the_wheel(installed: Installed) -> None:
    out = _check(installed.run("up", "--sessions", "3", "--no-live", timeout=380))
    assert "completed P0.5.2" in out
    figures = json.loads(out.strip().splitlines()[-1])["figures"]
    assert figures["claim_confirmed_in_git_ms"] > 0


def test_the_installed_signaling_server_serves_the_dashboard(signaling: str) -> None:
    """The page ships in the wheel as package data: the server serves every one of its files."""
    import urllib.request

    base = signaling.replace("ws://", "http://").removesuffix("/ws") + "/dashboard/"
    names = ["", *sorted(p.name for p in (REPO / "signaling" / "dashboard").iterdir())]
    for name in names:
        with urllib.request.urlopen(base + name, timeout=10) as response:
            assert response.status == 200, name
