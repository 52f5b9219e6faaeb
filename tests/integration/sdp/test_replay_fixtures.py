"""Every SDP fixture replayed into a real aiortc peer, checked against its metadata."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ifmesh.node.errors import SdpError
from ifmesh.node.mesh.sdp_replay import replay
from ifmesh.node.sdp.fixtures import SdpFixture, sdp_fixture, sdp_fixture_names
from ifmesh.node.sdp.trickle import parse_trickle

pytestmark = pytest.mark.integration

VALID = sdp_fixture_names(malformed=False)
MALFORMED = sdp_fixture_names(malformed=True)


async def replay_fixture(fixture: SdpFixture) -> dict[str, object]:
    trickle = parse_trickle(fixture.trickle_text) if fixture.trickle_text else None
    report = await replay(
        fixture.text, source=fixture.name, sdp_type=fixture.meta.type, trickle=trickle
    )
    assert report.remote_candidates_given_to_aiortc == 0
    assert report.aiortc_candidates_agree, "aiortc's parser reads other candidates than ours"
    return report.summary()


def test_the_fixture_set_covers_the_issue() -> None:
    exercised = {e for name in sdp_fixture_names() for e in sdp_fixture(name).meta.exercises}
    wanted = {
        "basic-av-offer", "codec-negotiation", "codec-subset", "ice-host", "ice-srflx",
        "ice-relay", "ice-tcp", "ipv6", "end-of-candidates", "trickle-ice", "dtls-sha-1",
        "dtls-sha-384", "dtls-sha-512", "dtls-actpass", "dtls-active", "dtls-passive", "bundle",
        "no-bundle", "rtcp-mux", "data-channel", "missing-fingerprint", "bad-candidate",
        "bundle-absent-mid", "no-common-codec",
    }  # fmt: skip
    assert wanted <= exercised, sorted(wanted - exercised)
    captured = {n.split("-")[0] for n in VALID if sdp_fixture(n).meta.origin.method == "captured"}
    assert captured == {"aiortc", "chromium", "firefox"}


@pytest.mark.parametrize("name", VALID)
async def test_valid_fixture_negotiates_as_its_metadata_says(name: str) -> None:
    fixture = sdp_fixture(name)
    assert fixture.meta.expect is not None
    summary = await replay_fixture(fixture)
    mismatched = {
        key: {"expected": value, "reported": summary.get(key)}
        for key, value in fixture.meta.expect.items()
        if summary.get(key) != value
    }
    assert not mismatched


@pytest.mark.parametrize("name", MALFORMED)
async def test_malformed_fixture_fails_with_its_expected_error(name: str) -> None:
    fixture = sdp_fixture(name)
    expected = fixture.meta.error
    assert expected is not None
    with pytest.raises(SdpError) as raised:
        await replay_fixture(fixture)
    assert (raised.value.code, raised.value.line) == (expected.code, expected.line)
    assert expected.message in str(raised.value)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ifmesh.node.sdp.cli", "replay", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_reports_a_chromium_offer_as_json() -> None:
    fixture = sdp_fixture("chromium-av-offer")
    done = run_cli("--json", str(fixture.path))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["ok"] is True
    assert out["summary"]["codecs"] == fixture.meta.expect["codecs"]  # type: ignore[index]
    assert "a=setup:active" in out["local_sdp"]  # aiortc's own answer


def test_cli_names_file_line_and_reason_of_a_malformed_sdp() -> None:
    fixture = sdp_fixture("malformed/bundle-absent-mid")
    done = run_cli(str(fixture.path))
    assert done.returncode == 1
    assert done.stderr.startswith(f"{fixture.path}:5: sdp_bundle_unknown_mid: ")
    assert "mid '2'" in done.stderr


def test_cli_with_trickled_candidates_reports_them() -> None:
    fixture = sdp_fixture("chromium-trickle-offer")
    trickle = fixture.path.with_name(fixture.meta.trickle or "")
    done = run_cli("--json", "--trickle", str(trickle), str(fixture.path))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["trickled"], "the capture trickled candidates"
    assert out["summary"]["candidate_count"] == len(out["trickled"])  # none inline
    assert all(c["sdp_mid"] == "0" for c in out["trickled"])
