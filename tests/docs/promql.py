"""Metric names in PromQL expressions, and the metric names a real /metrics page exports.

Just enough PromQL to find which series an expression reads: strings, label matchers
(``{…}``), ranges (``[5m]``), grouping clauses (``by (…)``) and function calls are taken out;
the identifiers left are metric names.
"""

from __future__ import annotations

import re

_KEYWORDS = frozenset(
    {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
     "bool", "offset", "inf", "nan"}
)  # fmt: skip
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENT = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def metric_names(expr: str) -> set[str]:
    text = _STRING.sub('""', expr)
    text = re.sub(r"\{[^}]*\}", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)
    text = _GROUPING.sub("", text)
    names: set[str] = set()
    for match in _IDENT.finditer(text):
        name = match.group()
        rest = text[match.end() :].lstrip()
        before = text[: match.start()]
        if rest.startswith("(") or name.lower() in _KEYWORDS:
            continue  # a function, or an operator keyword
        if before and (before[-1].isdigit() or before[-1] == "."):
            continue  # 1e3, or the unit of a number
        names.add(name)
    return names


def exported(metrics_text: str) -> set[str]:
    """Every series name a Prometheus text page can have (histograms with their suffixes)."""
    names: set[str] = set()
    for line in metrics_text.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[:2] == ["#", "TYPE"]:
            name, kind = parts[2], parts[3]
            names.add(name)
            if kind == "histogram":
                names.update(name + suffix for suffix in _HISTOGRAM_SUFFIXES)
    return names


def families(metrics_text: str) -> dict[str, str]:
    """Metric family name → type, from the ``# TYPE`` lines."""
    found: dict[str, str] = {}
    for line in metrics_text.splitlines():
        parts = line.split()
        if len(parts) >= 4 and parts[:2] == ["#", "TYPE"]:
            found[parts[2]] = parts[3]
    return found
