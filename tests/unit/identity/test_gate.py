"""The gate before the fold: accept, hold for a key, refuse; counted, logged once."""

from __future__ import annotations

from ifmesh.node.identity import seal
from ifmesh.node.identity.gate import Gate, Verdict
from ifmesh.node.identity.pins import KeyFile, PinBook
from ifmesh.node.protocol import codec
from ifmesh.node.protocol import messages as m
from tests.unit.identity.support import T0, book, claim, key, signed_claim


def test_a_signed_event_from_a_pinned_key_is_accepted() -> None:
    assert Gate(book("session-a")).judge(signed_claim()).verdict is Verdict.ACCEPT


def test_an_unsigned_event_is_refused_by_default() -> None:
    judgement = Gate(book()).judge(claim())
    assert judgement.verdict is Verdict.REFUSE
    assert judgement.error is not None and judgement.error.code == "unsigned"


def test_migration_accepts_unsigned_only_from_sessions_without_a_key() -> None:
    gate = Gate(book("session-b"), accept_unsigned=True)
    assert gate.judge(claim("session-a")).verdict is Verdict.ACCEPT
    assert gate.unsigned_sessions == {"session-a"}
    assert gate.judge(claim("session-b")).verdict is Verdict.REFUSE


def test_a_key_not_pinned_yet_is_held_then_accepted_once_pinned() -> None:
    pins = PinBook()
    gate = Gate(pins)
    judgement = gate.judge(signed_claim())
    assert judgement.verdict is Verdict.HOLD
    assert judgement.error is not None and judgement.error.code == "key_not_pinned"
    pins.observe(KeyFile("session-a", key("session-a").public.text, None, "c1", 1))
    assert gate.judge(signed_claim()).verdict is Verdict.ACCEPT


def test_a_key_the_branch_offered_and_was_refused_is_refused_at_once() -> None:
    pins = book("session-a")
    mallory = key("mallory")
    pins.observe(KeyFile("session-a", mallory.public.text, None, "c2", 2))  # a conflict
    judgement = Gate(pins).judge(seal.sign(claim(), mallory))
    assert judgement.verdict is Verdict.REFUSE
    assert judgement.error is not None and judgement.error.code == "key_mismatch"


def test_an_unknown_other_key_is_held_a_rotation_may_explain_it() -> None:
    judgement = Gate(book("session-a")).judge(seal.sign(claim(), key("next")))
    assert judgement.verdict is Verdict.HOLD


def test_a_tampered_event_is_refused() -> None:
    tampered = signed_claim().model_copy(update={"seq": 7})
    judgement = Gate(book("session-a")).judge(tampered)
    assert judgement.verdict is Verdict.REFUSE
    assert judgement.error is not None and judgement.error.code == "bad_signature"


def test_a_generic_message_is_no_event_and_passes() -> None:
    generic = m.make_message(m.GenericPayload(note="hi"), source="session-a", timestamp=T0)
    assert Gate(book()).judge(generic).verdict is Verdict.ACCEPT


def test_refusals_are_counted_each_and_logged_once_per_origin_and_code() -> None:
    gate = Gate(book("session-a"))
    bad = signed_claim().model_copy(update={"seq": 7})
    for origin in ("mesh:session-a", "mesh:session-a", "git"):
        judgement = gate.judge(bad)
        assert judgement.error is not None
        gate.refuse(origin, bad, judgement.error)
    assert gate.counts == {"bad_signature": 3}
    assert len(gate.recent) == 3
    assert gate._logged == {("mesh:session-a", "bad_signature"), ("git", "bad_signature")}


def test_an_event_signed_by_a_locally_pinned_operator_key_is_accepted() -> None:
    operator = key("operator")
    pins = PinBook(operator_keys=[operator.public])
    page = seal.sign(claim("dashboard"), operator)
    assert Gate(pins).judge(page).verdict is Verdict.ACCEPT
    assert Gate(PinBook()).judge(page).verdict is Verdict.HOLD  # not pinned here
    tampered = page.model_copy(update={"seq": 9})
    assert Gate(pins).judge(tampered).verdict is Verdict.REFUSE


def test_a_signature_verified_once_is_not_verified_again_but_a_change_still_is() -> None:
    gate = Gate(book("session-a"))
    message = signed_claim()
    assert gate.judge(message).verdict is Verdict.ACCEPT
    assert len(gate.verified._kept) == 1
    assert gate.judge(codec.decode(codec.encode(message))).verdict is Verdict.ACCEPT
    assert len(gate.verified._kept) == 1  # the same bytes: remembered, not verified again
    # The remembered signature on other bytes is no pass.
    changed = message.model_copy(update={"seq": 5})
    assert gate.judge(changed).verdict is Verdict.REFUSE


# --- an operator-role peer's events (the dashboard; docs/dashboard.md, "Signed actions") -------


def test_an_operators_event_needs_a_pinned_operator_key_and_is_refused_never_held() -> None:
    operator = key("operator")
    gate = Gate(PinBook(operator_keys=[operator.public]))
    page = seal.sign(claim("alice"), operator)
    assert gate.judge_operator(page).verdict is Verdict.ACCEPT
    for sent, code in (
        (claim("alice"), "unsigned"),
        (seal.sign(claim("alice"), key("stranger")), "operator_key_not_pinned"),
        (page.model_copy(update={"seq": 9}), "bad_signature"),
    ):
        judgement = gate.judge_operator(sent)
        assert judgement.verdict is Verdict.REFUSE, sent
        assert judgement.error is not None and judgement.error.code == code
    stranger = gate.judge_operator(seal.sign(claim("alice"), key("stranger")))
    assert stranger.error is not None and key("stranger").public.short in stranger.error.reason


def test_an_operators_unsigned_event_passes_only_under_the_migration_switch() -> None:
    gate = Gate(PinBook(), accept_unsigned=True)
    assert gate.judge_operator(claim("alice")).verdict is Verdict.ACCEPT
    assert gate.unsigned_sessions == {"alice"}
    # A key the node does not pin is no unsigned event: refused, switch or not.
    signed = seal.sign(claim("alice"), key("stranger"))
    assert gate.judge_operator(signed).verdict is Verdict.REFUSE


def test_an_operators_refusal_is_counted_for_the_mesh() -> None:
    gate = Gate(PinBook(operator_keys=[key("operator").public]))
    error = gate.operator_signed("alice", claim("alice"))
    assert error is not None and error.code == "unsigned"
    assert gate.counts == {"unsigned": 1} and gate.recent[-1].origin == "mesh:alice"
    assert gate.operator_signed("alice", seal.sign(claim("alice"), key("operator"))) is None
