"""Signed DTLS fingerprints in offers and answers."""

from __future__ import annotations

import pytest

from ifmesh.node.identity import seal
from ifmesh.node.identity.errors import PairRefused
from ifmesh.node.identity.pairproof import Check, PairProofs, fingerprints
from ifmesh.node.identity.pins import ROTATED, Pin, PinBook
from ifmesh.node.protocol.fields import Ed25519Signature
from tests.unit.identity.support import book, claim, key, signed_claim

SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "a=fingerprint:sha-256 ab:CD:01\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    "a=fingerprint:SHA-384 0A:0B\r\n"
)
SWAPPED = SDP.replace("ab:CD:01", "EE:EE:EE")


def proofs(session: str, pins: PinBook) -> PairProofs:
    return PairProofs(key(session), pins, session, "room-1")


def test_fingerprints_are_normalised_and_sorted() -> None:
    assert fingerprints(SDP) == ["sha-256 AB:CD:01", "sha-384 0A:0B"]


def test_a_true_offer_is_authenticated() -> None:
    pins = book("session-a", "session-b")
    proof = proofs("session-a", pins).prove("offer", "session-b", 7, SDP)
    check = proofs("session-b", pins).check("offer", "session-a", 7, SDP, proof)
    assert check is Check.AUTHENTICATED


@pytest.mark.parametrize(
    ("kind", "sender", "epoch", "sdp"),
    [
        ("offer", "session-a", 7, SWAPPED),  # the server put its own fingerprint in
        ("offer", "session-c", 7, SDP),  # the server forged from
        ("offer", "session-a", 8, SDP),  # replayed under another epoch
        ("answer", "session-a", 7, SDP),  # an offer's proof on an answer
    ],
)
def test_anything_changed_on_the_way_is_refused(
    kind: str, sender: str, epoch: int, sdp: str
) -> None:
    pins = book("session-a", "session-b", "session-c")
    proof = proofs("session-a", pins).prove("offer", "session-b", 7, SDP)
    with pytest.raises(PairRefused, match="does not verify"):
        proofs("session-b", pins).check(kind, sender, epoch, sdp, proof)  # type: ignore[arg-type]


def test_a_proof_meant_for_another_peer_is_refused() -> None:
    pins = book("session-a", "session-b", "session-c")
    proof = proofs("session-a", pins).prove("offer", "session-c", 7, SDP)
    with pytest.raises(PairRefused):
        proofs("session-b", pins).check("offer", "session-a", 7, SDP, proof)


def test_no_proof_from_a_session_with_a_pinned_key_is_refused() -> None:
    with pytest.raises(PairRefused, match="no signed fingerprint"):
        proofs("session-b", book("session-a")).check("offer", "session-a", 7, SDP, None)


def test_no_proof_and_no_key_is_an_unauthenticated_pair() -> None:
    check = proofs("session-b", book()).check("offer", "dashboard", 7, SDP, None)
    assert check is Check.UNAUTHENTICATED


def test_a_proof_without_a_pinned_key_waits_for_the_branch() -> None:
    proof = proofs("session-a", book()).prove("offer", "session-b", 7, SDP)
    assert proofs("session-b", book()).check("offer", "session-a", 7, SDP, proof) is Check.UNPINNED


def test_an_sdp_without_fingerprint_is_refused() -> None:
    pins = book("session-a", "session-b")
    bare = "v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n"
    proof = proofs("session-a", pins).prove("offer", "session-b", 7, bare)
    with pytest.raises(PairRefused, match="no DTLS fingerprint"):
        proofs("session-b", pins).check("offer", "session-a", 7, bare, proof)


def authenticated(epoch: int = 7) -> tuple[PairProofs, PinBook]:
    """session-b's proofs, having checked session-a's offer at ``epoch``."""
    pins = book("session-a", "session-b")
    proof = proofs("session-a", pins).prove("offer", "session-b", epoch, SDP)
    checking = proofs("session-b", pins)
    assert checking.check("offer", "session-a", epoch, SDP, proof) is Check.AUTHENTICATED
    return checking, pins


def test_an_authenticated_pair_vouches_for_its_peers_own_signed_events() -> None:
    checking, _ = authenticated()
    assert checking.vouches("session-a", 7, signed_claim("session-a"))


def test_a_pair_vouches_only_where_its_proof_was_checked() -> None:
    checking, _ = authenticated()
    assert not checking.vouches("session-a", 6, signed_claim("session-a"))  # an older build
    assert not checking.vouches("session-a", 8, signed_claim("session-a"))  # never proven
    assert not checking.vouches("session-b", 7, signed_claim("session-b"))  # no proof from b
    assert not proofs("session-c", book("session-a")).vouches(
        "session-a", 7, signed_claim("session-a")
    )


def test_a_pair_never_vouches_for_what_does_not_claim_its_pinned_key() -> None:
    checking, _ = authenticated()
    assert not checking.vouches("session-a", 7, claim("session-a"))  # unsigned
    other = seal.sign(claim("session-a"), key("someone-else"))
    assert not checking.vouches("session-a", 7, other)
    signature = signed_claim("session-a").signature
    assert isinstance(signature, Ed25519Signature)
    short = signature.model_copy(update={"signed_fields": ["id", "payload"]})
    narrow = signed_claim("session-a").model_copy(update={"signature": short})
    assert not checking.vouches("session-a", 7, narrow)  # signed_fields leave fields out


def test_after_a_rotation_the_old_pair_no_longer_vouches() -> None:
    checking, pins = authenticated()
    pins.pin(Pin("session-a", key("session-a-rotated").public, "c1", ROTATED, 2))
    assert not checking.vouches("session-a", 7, signed_claim("session-a"))
