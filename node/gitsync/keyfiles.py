"""Sessions' public keys on the coordination branch, read in first-parent order.

``.ifmesh/keys/<session>.pub`` holds a session's public key (base64 SPKI DER, one line), put
there by its own bridge (:mod:`ifmesh.node.gitsync.keypublish`); ``<session>.rotation.json``
beside it, when present, is the record that moves the session to a new key
(:mod:`ifmesh.node.identity.rotation`). :class:`KeyFileReader` walks the branch's first-parent
history from where it stopped and reports, commit by commit, each session whose files changed:
the pin book (:mod:`ifmesh.node.identity.pins`) pins a key on its first appearance in that
order, so every reader of the branch pins the same keys. A rewritten history is walked again
from the root; the pins this node holds stay (they are kept in its state directory too).
"""

from __future__ import annotations

import re

from ifmesh.node.gitsync.clone import Clone
from ifmesh.node.gitsync.objects import TREE_MODE
from ifmesh.node.identity.pins import KeyFile

KEYS_DIR = ".ifmesh/keys"
_NAME = re.compile(r"^([a-z0-9][a-z0-9._-]{0,63})\.(pub|rotation\.json)$")


def key_file_path(session: str) -> str:
    return f"{KEYS_DIR}/{session}.pub"


def rotation_path(session: str) -> str:
    return f"{KEYS_DIR}/{session}.rotation.json"


class KeyFileReader:
    def __init__(self, clone: Clone) -> None:
        self._clone = clone
        self.tip: bytes | None = None
        self._depth = 0
        self._dir: bytes | None = None  # the keys directory's tree at ``tip``
        self._blobs: dict[str, bytes] = {}  # file name → blob sha at ``tip``

    def read(self, tip: str) -> list[KeyFile]:
        """What changed about sessions' key files after the last tip read, up to ``tip``,
        oldest commit first."""
        objects = self._clone.objects
        head = bytes.fromhex(tip)
        chain: list[bytes] = []
        current: bytes | None = head
        while current is not None and current != self.tip:
            chain.append(current)
            parents = objects.commit(current).parents
            current = parents[0] if parents else None
        if current is None and self.tip is not None:  # rewritten: read it all again
            self._dir, self._blobs, self._depth = None, {}, 0
        changes: list[KeyFile] = []
        for binsha in reversed(chain):
            self._depth += 1
            changes.extend(self._commit(binsha))
        self.tip = head
        return changes

    def _commit(self, binsha: bytes) -> list[KeyFile]:
        objects = self._clone.objects
        entry = objects.lookup(objects.commit(binsha).tree, KEYS_DIR)
        directory = entry[0] if entry is not None and entry[1] == TREE_MODE else None
        if directory == self._dir:
            return []
        blobs = {}
        if directory is not None:
            blobs = {name: sha for sha, mode, name in objects.tree(directory) if mode != TREE_MODE}
        changed = {
            n for n in blobs.keys() | self._blobs.keys() if blobs.get(n) != self._blobs.get(n)
        }
        self._dir, self._blobs = directory, blobs
        sessions = sorted({m.group(1) for name in changed if (m := _NAME.match(name))})
        changes = []
        for session in sessions:
            key = blobs.get(f"{session}.pub")
            record = blobs.get(f"{session}.rotation.json")
            changes.append(
                KeyFile(
                    session=session,
                    key=objects.blob(key).decode("utf-8", "replace").strip() if key else None,
                    rotation=objects.blob(record) if record else None,
                    commit=binsha.hex(),
                    depth=self._depth,
                )
            )
        return changes
