"""Support for the SDP integration tests."""

from __future__ import annotations

import os

import pytest

from tests.conftest import IN_CI

# Keys of a replay summary that do not change from one capture to the next on the same
# software: ufrags, ports and addresses do, so they are left out.
STABLE_KEYS = (
    "type",
    "media",
    "codecs",
    "bundle",
    "bundle_transport_shared",
    "rtcp_mux",
    "dtls_setup",
    "dtls_role",
    "fingerprint_algorithms",
    "ice_lite",
    "sctp_port",
    "max_message_size",
    "end_of_candidates",
)


def require_root() -> None:
    """Network namespaces need root: fails under CI (which runs as root), skips elsewhere."""
    if os.geteuid() != 0:
        message = "creating a network namespace needs root"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def stable(summary: dict[str, object]) -> dict[str, object]:
    return {key: summary.get(key) for key in STABLE_KEYS}
