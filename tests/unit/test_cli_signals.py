"""Which signals stop `ifmesh node` and `ifmesh up` cleanly: SIGHUP too, unless ignored."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from ifmesh.node.cli.signals import STOP_WITH_PARENT, stop_signals


@pytest.fixture
def hangup() -> Iterator[None]:
    before = signal.getsignal(signal.SIGHUP)
    yield
    signal.signal(signal.SIGHUP, before)


def test_a_closed_terminal_stops_a_command_as_sigterm_does(hangup: None) -> None:
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    assert stop_signals(signal.SIGTERM) == (signal.SIGTERM, signal.SIGHUP)


def test_nohup_keeps_it_running_when_the_terminal_closes(hangup: None) -> None:
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # what `nohup` does before it starts one
    assert stop_signals(signal.SIGTERM, signal.SIGINT) == (signal.SIGTERM, signal.SIGINT)


def test_a_room_process_whose_parent_is_already_gone_stops_at_once() -> None:
    """The parent named is not this process's parent (it ended, and init adopted the process
    before the kernel was asked to tell): the process stops itself with SIGTERM."""
    code = "from ifmesh.node.cli.signals import stop_with_parent; stop_with_parent(); input()"
    env = {**os.environ, STOP_WITH_PARENT: "1"}  # init: never the parent of a test's child
    done = subprocess.run([sys.executable, "-c", code], env=env, timeout=60, check=False)
    assert done.returncode == -signal.SIGTERM
