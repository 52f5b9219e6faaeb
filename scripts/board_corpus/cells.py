"""Mutations of how a board's cells and rows are written: line endings, a BOM, padding, status
words and emoji, dressed owners, estimates, dependency cells, ids, columns and headers. Each
keeps or states the reading the rules give the new text."""

from __future__ import annotations

from board_corpus.model import BADGE, Board, mutation, row_of, rows_of


@mutation
def crlf(board: Board) -> None:
    board.newline = "\r\n"


@mutation
def bom(board: Board) -> None:
    board.bom = True


@mutation
def trailing_spaces(board: Board) -> None:
    board.trailing = ("", "  ", "\t", " ", "   ")


@mutation
def tabs(board: Board) -> None:
    board.style = "tabs"


@mutation
def aligned(board: Board) -> None:
    """Padded to the widest cell, as editors' table formatters write them."""
    board.style = "aligned"


@mutation
def tight(board: Board) -> None:
    board.style = "tight"


@mutation
def open_end(board: Board) -> None:
    """Rows without their closing pipe."""
    board.style = "open-end"


@mutation
def emoji_off(board: Board) -> None:
    for row in rows_of(board):
        row.cells["status"] = row.status


@mutation
def emoji_only(board: Board) -> None:
    for row in rows_of(board):
        row.cells["status"] = BADGE[row.status]


_WORDS = {
    "COMPLETED": ("✅ Done", "done", "Complete", "✔ merged", "FINISHED"),
    "CLAIMED": ("In progress", "🚧 WIP", "⏳ working", "claimed (50%)", "Started"),
    "AVAILABLE": ("Open", "todo", "Not started", "Ready", "🔵 Available"),
    "BLOCKED": ("Blocked", "waiting", "On hold", "⛔ BLOCKED", "🔴 blocked (deps)"),
}


@mutation
def status_words(board: Board) -> None:
    for n, row in enumerate(rows_of(board)):
        words = _WORDS[row.status]
        row.cells["status"] = words[n % len(words)]


@mutation
def stale_badge(board: Board) -> None:
    """The scribe's STALE badge on a claimed row: still CLAIMED, shown stale."""
    row = row_of(board, "P0.1.3")
    row.cells["status"], row.stale = "🟠 STALE", True


_OWNER_DRESS = ("@{}", "**{}**", "[{}](https://github.com/infrafabric/infrafabric/tree/{})", "`{}`")
_NO_OWNER = ("—", "", "unassigned", "TBD", "n/a", "-")


@mutation
def owners_dressed(board: Board) -> None:
    for n, row in enumerate(rows_of(board)):
        if row.owner is None:
            row.cells["owner"] = _NO_OWNER[n % len(_NO_OWNER)]
        else:
            row.cells["owner"] = _OWNER_DRESS[n % len(_OWNER_DRESS)].format(row.owner, row.owner)


@mutation
def owners_spelled(board: Board) -> None:
    """``Session 1 (NDI)``, ``SESSION-1-NDI``, ``session_1_ndi``: one session id."""
    for n, row in enumerate(rows_of(board)):
        if row.owner is not None:
            number, name = row.owner.split("-")[1:]
            row.cells["owner"] = (
                f"Session {number} ({name.upper()})",
                row.owner.upper(),
                row.owner.replace("-", "_"),
            )[n % 3]


_HOURS_WRITTEN = {
    2.0: ("2 hours", "2h", "120 min", "~2"),
    1.5: ("1h30m", "1.5 hours", "90 min", "1,5h"),
    1.0: ("1 hour", "60m", "1h", "1"),
    0.5: ("30 min", "0.5h", "30m", "0.5"),
}


@mutation
def estimates_written(board: Board) -> None:
    for n, row in enumerate(r for t in board.tables for r in t.rows):
        if row.est is not None:
            written = _HOURS_WRITTEN[row.est]
            row.cells["est"] = written[n % len(written)]


def _range(ids: tuple[str, ...]) -> str | None:
    """``P0.2.3, P0.2.4, P0.2.5`` → ``P0.2.3–P0.2.5``, when the ids run on."""
    stems = {i.rsplit(".", 1)[0] for i in ids}
    numbers = [int(i.rsplit(".", 1)[1]) for i in ids]
    if len(ids) < 3 or len(stems) != 1 or numbers != list(range(numbers[0], numbers[-1] + 1)):
        return None
    return f"{ids[0]}–{ids[-1]}"


@mutation
def dependency_styles(board: Board) -> None:
    joins = (" & ", " and ", "; ", ",", " / ", " ")
    nothing = ("—", "n/a", "", "-", "**None**", "none")
    for n, row in enumerate(rows_of(board)):
        if not isinstance(row.deps, tuple):
            continue
        if not row.deps:
            row.cells["deps"] = nothing[n % len(nothing)]
        elif _range(row.deps) is not None:
            row.cells["deps"] = _range(row.deps) or ""
        elif n % 4 == 0:
            row.cells["deps"] = ", ".join(f"`{d}`" for d in row.deps)
        elif n % 4 == 1:
            row.cells["deps"] = ", ".join(f"{d} ✅" for d in row.deps)
        else:
            row.cells["deps"] = joins[n % len(joins)].join(row.deps)


@mutation
def dependency_notes(board: Board) -> None:
    """Notes in parentheses and "done" words around the ids."""
    for row in rows_of(board):
        if isinstance(row.deps, tuple) and len(row.deps) == 1:
            row.cells["deps"] = f"{row.deps[0]} (must be merged first) completed"


@mutation
def ids_dressed(board: Board) -> None:
    dress = ("**{}**", "[{}](#{})", "`{}`", "{}:", "{}")
    for n, row in enumerate(r for t in board.tables for r in t.rows):
        anchor = row.task.replace(".", "").lower()
        row.cells["id"] = dress[n % len(dress)].format(row.task, anchor)


@mutation
def columns_reordered(board: Board) -> None:
    order = ("status", "id", "owner", "title", "est", "deps", "model", "deliverable")
    for table in board.tables:
        if table.kind == "primary":
            table.columns = [c for c in order if c in table.columns]


@mutation
def columns_extra(board: Board) -> None:
    for table in board.tables:
        if table.kind != "primary":
            continue
        table.columns = ["priority", *table.columns, "pr", "branch"]
        table.names |= {"priority": "Priority", "pr": "PR", "branch": "Branch"}
        for n, row in enumerate(table.rows):
            row.cells |= {"priority": f"P{n % 3}", "pr": f"#{100 + n}" if n % 2 else ""}
            row.cells["branch"] = f"`claude/{row.task.lower()}`"


@mutation
def header_synonyms(board: Board) -> None:
    names = {
        "id": "Task ID",
        "title": "Title",
        "status": "State",
        "owner": "Assignee",
        "deps": "Depends on",
        "deliverable": "Output",
        "est": "Hours",
        "model": "LLM",
        "description": "Details",
    }
    for table in board.tables:
        table.names = {k: names.get(k, v) for k, v in table.names.items()}


@mutation
def header_dressed(board: Board) -> None:
    names = {
        "id": "**ID**",
        "status": "Status 🚦",
        "owner": "Owner (session)",
        "deps": "Blocked by:",
        "est": "Est. (h)",
    }
    for table in board.tables:
        table.names = {k: names.get(k, v) for k, v in table.names.items()}
        table.separator = (
            "|" + "|".join(":---:" if k == "status" else ":--" for k in table.columns) + "|"
        )
