"""Canonical bytes of a board: two nodes holding the same events hold the same bytes.

Keys sorted at every level, timestamps in UTC with ``Z``, enums by value, mappings with tuple keys
as sorted lists, UTF-8 without escapes (orjson, like :mod:`ifmesh.node.protocol.codec`). The
governor's part is serialized the same generic way (dataclasses, mappings, sequences, pydantic
models), so it needs no method of its own.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import orjson
from pydantic import BaseModel

from ifmesh.node.board.state import Board
from ifmesh.node.protocol.fields import format_timestamp


def to_document(value: Any) -> Any:
    """A JSON-ready, order-independent rendition of ``value`` (a board, or any part of it)."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, enum.Enum):
        return to_document(value.value)
    if isinstance(value, datetime):
        return format_timestamp(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_document(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        if all(isinstance(k, str) for k in value):
            return {k: to_document(v) for k, v in value.items()}
        items = [[to_document(k), to_document(v)] for k, v in value.items()]
        return sorted(items, key=lambda kv: orjson.dumps(kv[0], option=orjson.OPT_SORT_KEYS))
    if isinstance(value, set | frozenset):
        return sorted((to_document(v) for v in value), key=_sort_key)
    if isinstance(value, list | tuple):
        return [to_document(v) for v in value]
    raise TypeError(f"cannot serialize {type(value).__name__} canonically")


def _sort_key(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def canonical_bytes(board: Board) -> bytes:
    """The board's canonical encoding; equal boards give equal bytes."""
    return orjson.dumps(to_document(board), option=orjson.OPT_SORT_KEYS)
