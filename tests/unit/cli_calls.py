"""What a session command sends to its node, captured instead of sent."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from ifmesh.node.cli import session
from ifmesh.node.cli.main import build_parser


def sent(monkeypatch: pytest.MonkeyPatch, *argv: str) -> tuple[str, dict[str, Any] | None]:
    """The control call ``ifmesh ARGV`` makes (nothing is sent: the call is captured)."""
    calls: list[tuple[str, dict[str, Any] | None]] = []

    def capture(args: argparse.Namespace, call: tuple[str, Any, Any]) -> int:
        calls.append((call[0], call[1]))
        return 0

    monkeypatch.setattr(session, "run_call", capture)
    args = build_parser(list(argv)).parse_args(list(argv))
    assert args.handler(args) == 0
    return calls[0]
