"""Fixtures of the doc tests: one real signaling server process and its /metrics page."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docs.procedures import signaling_server


@pytest.fixture(scope="session")
def signaling_metrics(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The text of /metrics scraped from a real ``ifmesh signaling`` process."""
    log: Path = tmp_path_factory.mktemp("signaling") / "server.log"
    with signaling_server(log) as url:
        http = url.replace("ws://", "http://").removesuffix("/ws")
        with urllib.request.urlopen(f"{http}/metrics", timeout=10) as response:
            yield response.read().decode()
