"""How one model is rebuilt from what msgspec read: the part of the fast path run per message.

:mod:`ifmesh.node.protocol.fastdecode` walks pydantic's core schemas once, at import, and makes
a :class:`ModelPlan` per model: a msgspec Struct, and the Python steps (:data:`Finish`) msgspec
cannot express. :meth:`ModelPlan.build` runs them on every message — pattern checks that remember
what matched, the very functions pydantic would call, with-info field validators given what
pydantic's ``ValidationInfo`` would give them — and builds the instance as pydantic's validator
builds it: ``__dict__`` in field order, the fields present in the input as
``__pydantic_fields_set__``, no extra and no private state.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

Finish = Callable[[Any], Any]
"""Turns msgspec's value into pydantic's (or raises where pydantic would refuse)."""


_SEEN_LIMIT = 4096  # strings remembered per pattern; then the memory starts over
_SEEN_LENGTH = 256  # longer strings are searched every time (a peer could send many big ones)


def matching(regex: re.Pattern[str], after: Finish | None = None) -> Finish:
    """The check of ``regex`` (a pattern pydantic holds, translated for Python), then of
    ``after`` (the string's after-validator, if any), remembering the strings that passed.

    Not msgspec's ``Meta(pattern=...)``: a regex search on a cold cache cost ~9 µs per pattern
    (a third of msgspec's whole decode), while session ids, task ids and destinations recur
    message after message. A remembered string passed these very checks before: same verdict.
    (An after-validator is remembered only when it returned the string itself: the checks of
    :mod:`~ifmesh.node.protocol.fields` are functions of the string alone.)
    """
    # value → the first instance of it: the one returned, so that the copies a board keeps
    # of a session id or task id (every event names them) are one string, not one per event.
    seen: dict[str, str] = {}

    def check(value: str) -> Any:
        known = seen.get(value)
        if known is not None:
            return known
        if regex.search(value) is None:
            raise ValueError(f"{value!r} does not match {regex.pattern!r}")
        result = value if after is None else after(value)
        if result is value and len(value) <= _SEEN_LENGTH:
            if len(seen) >= _SEEN_LIMIT:
                seen.clear()
            seen[value] = value
        return result

    return check


@dataclass(frozen=True)
class InfoView:
    """What a with-info validator reads of pydantic's ValidationInfo."""

    data: dict[str, Any]  # the fields before this one, as pydantic hands them
    field_name: str
    config: Any
    mode: str = "json"
    context: Any = None


@dataclass(frozen=True)
class FieldValidator:
    """A with-info field validator (``Envelope._sender_is_source``), called as pydantic calls it."""

    function: Callable[[Any, InfoView], Any]
    name: str
    before: tuple[str, ...]  # the model's fields before this one
    config: Any

    def __call__(self, fields: dict[str, Any]) -> Any:
        data = {name: fields[name] for name in self.before}
        return self.function(fields[self.name], InfoView(data, self.name, self.config))


@dataclass(frozen=True, eq=False)
class ModelPlan:
    """How one model is decoded: its Struct, and how the fields it read become the model."""

    cls: type[BaseModel]
    struct: Any  # a msgspec Struct type; dict[str, Any] for a free model
    template: dict[str, Any]  # every field's default (or tag), in the model's field order
    factories: tuple[tuple[str, Callable[[], Any]], ...]
    finishes: tuple[tuple[str, Finish], ...]  # fields the input always holds (required)
    optional_finishes: tuple[tuple[str, Finish], ...]  # fields it may leave out (defaulted)
    validators: tuple[FieldValidator, ...]  # run after the finishes: they read other fields
    free: bool = False  # no fields: the whole object is the model's extras (extra="allow")
    # Of a frozen model, the fields sets seen so far, each shared by every instance that has
    # it: nothing changes a frozen model's set in place (pydantic's model_copy copies it), and
    # a board holds thousands of events whose sets are a few hundred bytes each.
    shared_sets: dict[frozenset[str], set[str]] = field(default_factory=dict)

    def build(self, given: dict[str, Any]) -> BaseModel:
        """The model from the fields the input holds (``msgspec.to_builtins`` of the Struct:
        its fields left UNSET, that is absent from the input, are left out)."""
        if self.free:  # as pydantic builds it: every key is an extra, and counts as set
            model = _new(self.cls)
            _set(model, "__dict__", {})
            _set(model, "__pydantic_fields_set__", set(given))
            _set(model, "__pydantic_extra__", given)
            _set(model, "__pydantic_private__", None)
            return model
        fields = self.template | given  # the template's order is the model's field order
        for name, factory in self.factories:
            if name not in given:
                fields[name] = factory()
        # Only what the input holds: pydantic does not validate defaults either.
        for name, finish in self.finishes:
            fields[name] = finish(fields[name])
        for name, finish in self.optional_finishes:
            if name in given:
                fields[name] = finish(fields[name])
        for validator in self.validators:
            if validator.name in given:
                fields[validator.name] = validator(fields)
        model = _new(self.cls)
        _set(model, "__dict__", fields)
        _set(model, "__pydantic_fields_set__", self._fields_set(given))
        _set(model, "__pydantic_extra__", None)
        _set(model, "__pydantic_private__", None)
        return model

    def _fields_set(self, given: dict[str, Any]) -> set[str]:
        if not self.cls.model_config.get("frozen"):
            return set(given)
        key = frozenset(given)
        shared = self.shared_sets.get(key)
        if shared is None:
            if len(self.shared_sets) >= _SEEN_LIMIT:  # shapes are few; a flood starts over
                self.shared_sets.clear()
            shared = self.shared_sets[key] = set(key)
        return shared


_new = object.__new__
_set = object.__setattr__
