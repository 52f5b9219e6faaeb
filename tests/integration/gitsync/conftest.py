"""Fixtures of the bridge's integration tests: a bare remote, and every bridge closed after."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.integration.gitsync.support import close_opened, make_remote


@pytest.fixture(autouse=True)
def _close_bridges() -> Iterator[None]:
    yield
    close_opened()


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    require_tool("git")
    return make_remote(tmp_path)
