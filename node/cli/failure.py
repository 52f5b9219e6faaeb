"""How a command reports a refusal: one JSON line on stdout with ``--json``, else
``ifmesh: CODE: message`` on stderr; the exit status is the caller's. Imports nothing heavy, so
the pre-commit guard (``ifmesh check-paths --hook``) can use it without loading the client."""

from __future__ import annotations

import argparse
import json
import sys


def fail(args: argparse.Namespace, code: str, message: str, status: int) -> int:
    if args.json:
        print(json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False))
    else:
        print(f"ifmesh: {code}: {message}", file=sys.stderr)
    return status
