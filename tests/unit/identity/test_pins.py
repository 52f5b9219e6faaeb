"""Pins from first-parent history: first use, same key, conflicts, rotation and overrides."""

from __future__ import annotations

from ifmesh.node.identity import rotation
from ifmesh.node.identity.pins import (
    FIRST_USE,
    OVERRIDDEN,
    ROTATED,
    KeyFile,
    Pin,
    PinBook,
    PinConflict,
)
from tests.unit.identity.support import key

OLD, NEW = key("session-a"), key("session-a-next")
OPERATOR = key("operator")


def published(public: str, commit: str, depth: int, record: bytes | None = None) -> KeyFile:
    return KeyFile("session-a", public, record, commit, depth)


def test_the_first_key_seen_is_pinned_and_the_same_key_changes_nothing() -> None:
    book = PinBook()
    pin = book.observe(published(OLD.public.text, "c1", 1))
    assert isinstance(pin, Pin)
    assert (pin.how, pin.commit, pin.depth) == (FIRST_USE, "c1", 1)
    assert book.observe(published(OLD.public.text, "c2", 2)) is None
    assert book.get("session-a") == pin


def test_a_different_key_without_a_record_is_a_conflict_and_the_pin_stays() -> None:
    book = PinBook()
    book.observe(published(OLD.public.text, "c1", 1))
    conflict = book.observe(published(NEW.public.text, "c2", 2))
    assert isinstance(conflict, PinConflict)
    assert "no rotation record" in conflict.reason
    assert "ifmesh keys rotate" in str(conflict.error())
    assert book.get("session-a").key == OLD.public  # type: ignore[union-attr]
    assert book.refused_key("session-a", NEW.public.raw)
    assert "session-a" in book.conflicts


def test_a_rotation_signed_by_the_old_key_moves_the_pin() -> None:
    book = PinBook()
    book.observe(published(OLD.public.text, "c1", 1))
    record = rotation.rotated("session-a", OLD, NEW.public).encode()
    pin = book.observe(published(NEW.public.text, "c2", 2, record))
    assert isinstance(pin, Pin) and pin.how == ROTATED and pin.key == NEW.public


def test_a_rotation_signed_by_any_other_key_is_refused() -> None:
    book = PinBook()
    book.observe(published(OLD.public.text, "c1", 1))
    forged = rotation.rotated("session-a", NEW, NEW.public)  # "from" the new key itself
    outcome = book.observe(published(NEW.public.text, "c2", 2, forged.encode()))
    assert isinstance(outcome, PinConflict)
    assert book.get("session-a").key == OLD.public  # type: ignore[union-attr]


def test_a_rotation_for_another_session_is_refused() -> None:
    book = PinBook()
    book.observe(published(OLD.public.text, "c1", 1))
    record = rotation.rotated("session-b", OLD, NEW.public).encode()
    outcome = book.observe(published(NEW.public.text, "c2", 2, record))
    assert isinstance(outcome, PinConflict) and "session-b" in outcome.reason


def test_an_operator_override_needs_an_operator_key_pinned_locally() -> None:
    record = rotation.overridden("session-a", OPERATOR, OLD.public, NEW.public).encode()
    strict = PinBook()
    strict.observe(published(OLD.public.text, "c1", 1))
    refused = strict.observe(published(NEW.public.text, "c2", 2, record))
    assert isinstance(refused, PinConflict) and "operator key" in refused.reason

    trusting = PinBook(operator_keys=[OPERATOR.public])
    trusting.observe(published(OLD.public.text, "c1", 1))
    pin = trusting.observe(published(NEW.public.text, "c2", 2, record))
    assert isinstance(pin, Pin) and pin.how == OVERRIDDEN and pin.key == NEW.public


def test_removing_the_key_file_does_not_unpin() -> None:
    book = PinBook()
    book.observe(published(OLD.public.text, "c1", 1))
    assert book.observe(KeyFile("session-a", None, None, "c2", 2)) is None
    assert book.get("session-a") is not None


def test_a_garbled_key_file_is_a_conflict() -> None:
    outcome = PinBook().observe(published("not a key", "c1", 1))
    assert isinstance(outcome, PinConflict)


def test_pins_saved_locally_win_over_a_rewritten_branch() -> None:
    book = PinBook([Pin("session-a", OLD.public, "c1", FIRST_USE, 1)])
    outcome = book.observe(published(NEW.public.text, "d1", 1))  # history rewritten
    assert isinstance(outcome, PinConflict)
