"""Mermaid blocks, checked for well-formedness without a browser.

Mermaid's own parser needs a DOM; this checks what most often breaks a diagram: a known diagram
type on the first line, brackets and quotes that balance on every line, statements that have
the shape their diagram type allows (an arrow where an edge is meant, a colon after a
sequence message), ``subgraph``/``end`` and ``{``/``}`` blocks that close, and — for sequence
diagrams — messages only between declared participants.
"""

from __future__ import annotations

import re

_ID = r"[A-Za-z_][\w.-]*"
_SHAPE = r"(?:\[\[.*?\]\]|\[\(.*?\)\]|\(\(.*?\)\)|\[.*?\]|\(.*?\)|\{\{.*?\}\}|\{.*?\}|>.*?\])"
_NODE = rf"{_ID}(?:{_SHAPE})?(?::::{_ID})?"
_LINK = r"(?:<?[-=.]{2,}[>xo]?|<?--[^-|>][^|>]*?--[>xo]?|~~~)"
_LABEL = r"(?:\|[^|]*\|)?"
_FLOW_EDGE = re.compile(
    rf"^{_NODE}(?:\s*(?:&\s*{_NODE}\s*)*{_LINK}{_LABEL}\s*{_NODE}(?:\s*&\s*{_NODE})*)+;?$"
)
_FLOW_NODE = re.compile(rf"^{_NODE};?$")
_FLOW_OTHER = re.compile(
    r"^(?:subgraph\b.*|end|direction (?:TB|TD|BT|LR|RL)|classDef .+|class .+|style .+|"
    r"linkStyle .+|click .+)$"
)
_PID = r"[A-Za-z_]\w*"  # a sequence participant: no '-', which would read as an arrow
_SEQ_PARTICIPANT = re.compile(rf"^(?:participant|actor)\s+({_PID})(?:\s+as\s+.+)?$")
_SEQ_MESSAGE = re.compile(
    rf"^({_PID})\s*(?:-{{1,2}}>>|-{{1,2}}>|-{{1,2}}x|-{{1,2}}\))[+-]?\s*({_PID})\s*:.*$"
)
_SEQ_NOTE = re.compile(rf"^[Nn]ote (?:left of|right of|over) {_PID}(?:\s*,\s*{_PID})?\s*:.*$")
_SEQ_OPEN = re.compile(r"^(?:loop|alt|opt|par|critical|break|rect|box)\b.*$")
_SEQ_MID = re.compile(r"^(?:else|and|option)\b.*$")
_SEQ_OTHER = re.compile(rf"^(?:autonumber|activate {_PID}|deactivate {_PID})$")
_STATE_ID = r"(?:\[\*\]|[A-Za-z_][\w]*)"
_STATE_EDGE = re.compile(rf"^{_STATE_ID}\s*-->\s*{_STATE_ID}(?:\s*:.*)?$")
_STATE_OTHER = re.compile(
    rf"^(?:state\s+(?:\"[^\"]*\"\s+as\s+)?{_ID}(?:\s*\{{|\s*<<\w+>>)?|\}}|--|"
    rf"[Nn]ote (?:left|right) of {_ID}\s*:.*|{_ID}\s*:.*|direction (?:TB|LR))$"
)
_PAIRS = {")": "(", "]": "[", "}": "{"}


def _balanced(line: str) -> str | None:
    stack: list[str] = []
    quoted = False
    for char in line:
        if char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char in "([{":
            stack.append(char)
        elif char in _PAIRS and (not stack or stack.pop() != _PAIRS[char]):
            return f"unbalanced {char!r}"
    if quoted:
        return "unclosed quote"
    if stack:
        return f"unclosed {stack[-1]!r}"
    return None


def problems(text: str) -> list[str]:
    """What is wrong with the diagram ``text`` (empty: well-formed)."""
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1)]
    lines = [(n, line) for n, line in lines if line and not line.startswith("%%")]
    if not lines:
        return ["empty diagram"]
    _, header = lines[0]
    kind = header.split()[0]
    body = lines[1:]
    if kind in ("flowchart", "graph"):
        if not re.fullmatch(r"(?:flowchart|graph) (?:TB|TD|BT|LR|RL)", header):
            return [f"line 1: {header!r}: write e.g. 'flowchart LR'"]
        return _flowchart(body)
    if kind == "sequenceDiagram":
        return _sequence(body)
    if kind in ("stateDiagram-v2", "stateDiagram"):
        return _state(body)
    return [f"line 1: unknown diagram type {kind!r} (flowchart, sequenceDiagram, stateDiagram-v2)"]


def _flowchart(body: list[tuple[int, str]]) -> list[str]:
    found, depth = [], 0
    for number, line in body:
        bad = _balanced(line)
        if bad:
            found.append(f"line {number}: {bad}: {line}")
            continue
        if line.startswith("subgraph"):
            depth += 1
        elif line == "end":
            depth -= 1
            if depth < 0:
                found.append(f"line {number}: 'end' without 'subgraph'")
        if not (_FLOW_EDGE.match(line) or _FLOW_NODE.match(line) or _FLOW_OTHER.match(line)):
            found.append(f"line {number}: not a node, edge or statement: {line}")
    if depth > 0:
        found.append("a subgraph is never closed with 'end'")
    return found


def _sequence(body: list[tuple[int, str]]) -> list[str]:
    found: list[str] = []
    declared: set[str] = set()
    depth = 0
    for number, line in body:
        participant = _SEQ_PARTICIPANT.match(line)
        message = _SEQ_MESSAGE.match(line)
        if participant:
            declared.add(participant.group(1))
        elif message:
            for name in message.groups():
                if name not in declared:
                    found.append(f"line {number}: {name} is not a declared participant")
        elif _SEQ_OPEN.match(line):
            depth += 1
        elif line == "end":
            depth -= 1
            if depth < 0:
                found.append(f"line {number}: 'end' closes nothing")
        elif not (_SEQ_NOTE.match(line) or _SEQ_MID.match(line) or _SEQ_OTHER.match(line)):
            found.append(f"line {number}: not a sequence statement: {line}")
    if depth > 0:
        found.append("a loop/alt/opt/par block is never closed with 'end'")
    return found


def _state(body: list[tuple[int, str]]) -> list[str]:
    found, depth = [], 0
    for number, line in body:
        bad = _balanced(line)
        if bad:
            found.append(f"line {number}: {bad}: {line}")
            continue
        depth += line.count("{") - line.count("}")
        if not (_STATE_EDGE.match(line) or _STATE_OTHER.match(line)):
            found.append(f"line {number}: not a state statement: {line}")
    if depth != 0:
        found.append("unbalanced state { … } blocks")
    return found
