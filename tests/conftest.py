"""Shared test support.

When CI=true a missing component (git, redis-server, chromium) is a failure, never a skip:
use ``require_tool`` instead of ``pytest.skip`` for such checks.
"""

from __future__ import annotations

import os
import shutil
import signal

import pytest

IN_CI = os.environ.get("CI") == "true"

# Tests press Ctrl-C on the processes they start (`ifmesh up`, `ifmesh watch`): SIGINT must
# reach them. A suite started in the background by a shell without job control (`make test &`,
# `(… &)`) inherits SIGINT ignored, and so would every process it starts; Python then keeps it
# ignored, and those processes never stop. Restored here, the children get the default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def require_tool(name: str) -> str:
    """Path of executable ``name``; fails under CI (setup must install it), skips elsewhere."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (scripts/setup.sh installs it as root)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


# Under CI, property tests draw the same examples every run: a red build is reproducible and
# never a coin toss. Locally they explore new examples each run.
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if IN_CI else "dev")
