"""Canonical bytes of a board: two nodes holding the same events hold the same bytes.

Keys sorted at every level, timestamps in UTC with ``Z``, enums by value, mappings with tuple keys
as sorted lists, UTF-8 without escapes (orjson, like :mod:`ifmesh.node.protocol.codec`). The
governor's part is serialized the same generic way (dataclasses, mappings, sequences, pydantic
models), so it needs no method of its own. How each type is rendered is decided once per type
(a long day's board is 20,000 tasks of a handful of types). :func:`digest` hashes the same bytes
a part at a time, for ``ifmesh status``.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import orjson
from pydantic import BaseModel

from ifmesh.node.board.state import Board
from ifmesh.node.protocol.fields import format_timestamp


def to_document(value: Any) -> Any:
    """A JSON-ready, order-independent rendition of ``value`` (a board, or any part of it)."""
    kind = type(value)
    convert = _CONVERTERS.get(kind)
    if convert is None:  # decided once per type: a board is 20,000 tasks of a few types
        convert = _CONVERTERS[kind] = _converter(kind)
    return convert(value)


def _same(value: Any) -> Any:
    return value


def _converter(kind: type) -> Callable[[Any], Any]:
    if kind is type(None) or issubclass(kind, str | bool | int | float):
        return _same
    if issubclass(kind, enum.Enum):
        return lambda value: to_document(value.value)
    if issubclass(kind, datetime):
        return format_timestamp
    if issubclass(kind, timedelta):
        return timedelta.total_seconds
    if dataclasses.is_dataclass(kind):
        names = tuple(f.name for f in dataclasses.fields(kind))
        return lambda value: {name: to_document(getattr(value, name)) for name in names}
    if issubclass(kind, BaseModel):
        return lambda value: value.model_dump(mode="json")
    if issubclass(kind, Mapping):
        return _mapping
    if issubclass(kind, set | frozenset):
        return lambda value: sorted((to_document(v) for v in value), key=_sort_key)
    if issubclass(kind, list | tuple):
        return lambda value: [to_document(v) for v in value]
    raise TypeError(f"cannot serialize {kind.__name__} canonically")


def _mapping(value: Mapping[Any, Any]) -> Any:
    if all(isinstance(k, str) for k in value):
        return {k: to_document(v) for k, v in value.items()}
    items = [[to_document(k), to_document(v)] for k, v in value.items()]
    return sorted(items, key=lambda kv: orjson.dumps(kv[0], option=orjson.OPT_SORT_KEYS))


_CONVERTERS: dict[type, Callable[[Any], Any]] = {}


def _sort_key(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def canonical_bytes(board: Board) -> bytes:
    """The board's canonical encoding; equal boards give equal bytes."""
    return orjson.dumps(to_document(board), option=orjson.OPT_SORT_KEYS)


STREAM_ABOVE = 64
"""Mappings with more entries than this are hashed an entry at a time by :func:`digest`."""


def digest(board: Board, *, stream_above: int = STREAM_ABOVE) -> str:
    """SHA-256 of :func:`canonical_bytes`, without ever holding them or their document.

    The same bytes go through the hash, a part at a time: a large mapping (a long day's
    20,000 tasks, the governor's ledgers) one entry at a time, so no more than one task's
    document is alive at once. Built whole, that document is 20,000 dicts made and freed
    together, among the events folded meanwhile; glibc keeps the holes: 60 digests of a
    changing 20,000-task board took a process's RSS from 92 to 112 MB (``ifmesh status``
    reports the digest, and a room's checks ask for it after every change)."""
    hashed = hashlib.sha256()
    chunk = bytearray()

    def write(data: bytes) -> None:
        chunk.extend(data)
        if len(chunk) >= 1 << 16:  # one hash update per 64 KB, not one per task
            hashed.update(chunk)
            chunk.clear()

    _stream(board, write, stream_above)
    hashed.update(chunk)
    return hashed.hexdigest()


def _stream(value: Any, write: Callable[[bytes], None], above: int) -> None:
    """Writes ``orjson.dumps(to_document(value), option=OPT_SORT_KEYS)`` in parts: a
    dataclass (the board, the governor's part) field by field, a mapping of more than
    ``above`` entries entry by entry, anything else whole."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = sorted(f.name for f in dataclasses.fields(value))
        _object(((name, getattr(value, name)) for name in fields), write, above)
    elif isinstance(value, Mapping) and len(value) > above:
        if all(isinstance(k, str) for k in value):
            _object(((k, value[k]) for k in sorted(value)), write, above, entries=True)
        else:  # tuple keys: a list of [key, value] pairs in the order of the keys' bytes
            keyed = sorted((_sort_key(to_document(k)), k) for k in value)
            write(b"[")
            for i, (key, k) in enumerate(keyed):
                write(b"[" + key + b"," if i == 0 else b",[" + key + b",")
                _entry(value[k], write, above)
                write(b"]")
            write(b"]")
    else:
        write(orjson.dumps(to_document(value), option=orjson.OPT_SORT_KEYS))


def _object(
    items: Any, write: Callable[[bytes], None], above: int, *, entries: bool = False
) -> None:
    """A JSON object of ``(name, value)`` pairs, already in sorted order: a dataclass's
    fields, or a large mapping's ``entries``."""
    write(b"{")
    for i, (name, value) in enumerate(items):
        write((b"" if i == 0 else b",") + orjson.dumps(name) + b":")
        if entries:
            _entry(value, write, above)
        else:
            _stream(value, write, above)
    write(b"}")


def _entry(value: Any, write: Callable[[bytes], None], above: int) -> None:
    """One entry of a large mapping (a task): whole, unless it is a large mapping itself."""
    if isinstance(value, Mapping) and len(value) > above:
        _stream(value, write, above)
    else:
        write(orjson.dumps(to_document(value), option=orjson.OPT_SORT_KEYS))
