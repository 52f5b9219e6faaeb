"""`ifmesh keys …`: a session's Ed25519 key, its rotation, operator keys and overrides; and
the pins of a branch, for `ifmesh validate --verify` (docs/security.md).

Key commands work on a state directory, not through a running node: ``rotate`` replaces the
key a node signs with, so the node must be stopped (the state directory's lock says so). The
record it writes is published with the new key at the node's next start.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeAlias

from ifmesh.node import errors
from ifmesh.node.cli.failure import fail

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
PREVIOUS_KEY_FILE = "identity.key.previous"


def register(commands: Subparsers) -> None:
    keys = commands.add_parser(
        "keys",
        help="this session's signing key: show, rotate; operator keys and overrides",
        description="A session signs every event with an Ed25519 key kept in its state"
        " directory; its public key is pinned on the coordination branch"
        " (.ifmesh/keys/<session>.pub). See docs/security.md.",
    )
    sub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    show = sub.add_parser("show", help="print this session's public key (made if missing)")
    _where(show)
    show.set_defaults(handler=_guarded(_show))
    rotate = sub.add_parser(
        "rotate",
        help="replace the key with a new one (node stopped); the next start publishes it",
        description="Makes a new key and a rotation record signed by the old key. Stop the node"
        " first; its next start commits the new .pub with the record, and every node moves its"
        " pin.",
    )
    _where(rotate)
    rotate.set_defaults(handler=_guarded(_rotate))
    operator = sub.add_parser(
        "operator-key",
        help="make an operator key file; prints the public key for nodes' operator_keys",
    )
    operator.add_argument("--out", type=Path, required=True, help="private key file (0600)")
    operator.add_argument("--json", action="store_true")
    operator.set_defaults(handler=_guarded(_operator_key))
    override = sub.add_parser(
        "override",
        help="an operator's record moving a session's pin to a new key (a lost key)",
        description="Writes a rotation record signed by an operator key into the session's"
        " state directory; the session's next start publishes it. Nodes accept it only if they"
        " pin that operator key in their configuration (operator_keys).",
    )
    _where(override)
    override.add_argument("--operator-key", type=Path, required=True, help="operator key file")
    override.add_argument(
        "--previous", required=True, help="the key the branch pins now (base64 SPKI)"
    )
    override.add_argument("--key", help="the new public key (default: the state directory's)")
    override.set_defaults(handler=_guarded(_override))


def _where(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--session", help="session id (default: IFMESH_SESSION)")
    parser.add_argument("--state-dir", type=Path, help="state directory (default: the session's)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _guarded(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        try:
            return run(args)
        except errors.IfmeshError as exc:
            return fail(args, exc.code, str(exc), EXIT_REFUSED)

    return handler


def _state_dir(args: argparse.Namespace) -> tuple[str, Path]:
    from ifmesh.node.runtime.statedir import ENV_PREFIX, default_state_dir

    session = args.session or os.environ.get(ENV_PREFIX + "SESSION")
    state_dir = args.state_dir or os.environ.get(ENV_PREFIX + "STATE_DIR")
    if state_dir is not None:
        return session or Path(state_dir).name, Path(state_dir)
    if not session:
        raise errors.ConfigError("name the session: --session ID (or IFMESH_SESSION)")
    return session, default_state_dir(session)


def _print(args: argparse.Namespace, document: dict[str, Any], text: str) -> int:
    print(json.dumps(document) if args.json else text)
    return EXIT_OK


def _show(args: argparse.Namespace) -> int:
    from ifmesh.node.identity.keys import load_or_create

    session, state_dir = _state_dir(args)
    key = load_or_create(state_dir).public
    return _print(args, {"session": session, "public_key": key.text, "key": key.short}, key.text)


def _rotate(args: argparse.Namespace) -> int:
    from ifmesh.node.identity import keys, rotation
    from ifmesh.node.runtime.identity import ROTATION_FILE
    from ifmesh.node.runtime.statedir import StateDirLock

    session, state_dir = _state_dir(args)
    path = keys.key_path(state_dir)
    if not path.exists():
        raise errors.ConfigError(f"no key in {state_dir} to rotate from (`ifmesh keys show`)")
    with StateDirLock(state_dir):  # raises when the node runs: it signs with this key
        old = keys.load_key_file(path)
        new = keys.SessionKey.generate()
        record = rotation.rotated(session, old, new.public)
        previous = state_dir / PREVIOUS_KEY_FILE
        previous.unlink(missing_ok=True)
        path.rename(previous)  # kept (0600) until the rotation has landed
        keys.write_key_file(path, new)
        (state_dir / ROTATION_FILE).write_bytes(record.encode())
    document = {"session": session, "previous": old.public.text, "public_key": new.public.text}
    text = (
        f"{session}: new key {new.public.short} (was {old.public.short}); start the node to"
        " publish it with its rotation record"
    )
    return _print(args, document, text)


def _operator_key(args: argparse.Namespace) -> int:
    from ifmesh.node.identity import keys

    key = keys.SessionKey.generate()
    keys.write_key_file(args.out, key)
    text = f"{key.public.text}\n(put it in each node's operator_keys; keep {args.out} offline)"
    return _print(args, {"public_key": key.public.text, "file": str(args.out)}, text)


def _override(args: argparse.Namespace) -> int:
    from ifmesh.node.identity import keys, rotation
    from ifmesh.node.runtime.identity import ROTATION_FILE

    session, state_dir = _state_dir(args)
    operator = keys.load_key_file(args.operator_key)
    previous = keys.parse_public_key(args.previous)
    new = keys.parse_public_key(args.key) if args.key else keys.load_or_create(state_dir).public
    if previous is None or new is None:
        raise errors.ConfigError("--previous and --key are Ed25519 public keys (base64 SPKI)")
    record = rotation.overridden(session, operator, previous, new)
    (state_dir / ROTATION_FILE).write_bytes(record.encode())
    text = f"{session}: override {previous.short} → {new.short} written; start the node"
    return _print(args, {"session": session, "previous": previous.text, "key": new.text}, text)


# --- `ifmesh validate --verify` ------------------------------------------------------------


def branch_verifier(
    remote: str, branch: str, operator_keys: list[str]
) -> Callable[[Any], errors.ProtocolError | None]:
    """Checks messages against the keys the branch pins (first-parent history), as a node
    would before the fold: a message the node would hold (key not pinned) is an error here."""
    from ifmesh.node.gitsync.clone import Clone
    from ifmesh.node.gitsync.keyfiles import KeyFileReader
    from ifmesh.node.identity.gate import Gate, Verdict
    from ifmesh.node.identity.keys import parse_public_key
    from ifmesh.node.identity.pins import PinBook, PinConflict

    operators = [k for k in (parse_public_key(t) for t in operator_keys) if k is not None]
    pins = PinBook(operator_keys=operators)
    with tempfile.TemporaryDirectory(prefix="ifmesh-verify-") as scratch:
        clone = Clone(Path(scratch) / "git", remote, branch)
        try:
            clone.fetch(None)
            tip = clone.ref(clone.remote_ref)
            for change in KeyFileReader(clone).read(tip) if tip else []:
                outcome = pins.observe(change)
                if isinstance(outcome, PinConflict):
                    print(f"ifmesh validate: {outcome.error()}", file=sys.stderr)
        finally:
            clone.close()
    gate = Gate(pins)

    def verify(message: Any) -> errors.ProtocolError | None:
        judgement = gate.judge(message)
        return None if judgement.verdict is Verdict.ACCEPT else judgement.error

    return verify
