"""A real-size coordination branch for the board benchmark: a 2,000-line task board with 60
tasks and eight 300-line STATUS files, written the way sessions write them (the corpus rules in
tests/unit/board/corpus/: several tables per phase with long per-task sections between them,
extra and reordered columns, status cells with and without emoji, dressed owners, dependency
ranges and groups, trailing spaces; STATUS files with comment banners, appended documents,
nested status maps, completed tasks under varied keys, several timestamp formats, YAML broken
part-way). Deterministic: the same text on every run.
"""

from __future__ import annotations

PHASES = (
    ("IF.coordinator", "coordination"),
    ("IF.governor", "governor"),
    ("IF.chassis", "chassis"),
    ("CLI", "cli"),
    ("Documentation", "docs"),
    ("Integration", "integration"),
)
SESSIONS = (
    "session-1-ndi",
    "session-2-webrtc",
    "session-3-h323",
    "session-4-sip",
    "session-5-cli",
    "session-6-docs",
    "session-7-ops",
    "session-8-qa",
)
BOARD_LINES = 2_000
STATUS_LINES = 300
_STATUS_CELLS = (
    "🟢 COMPLETED",
    "✅ Done",
    "🟡 CLAIMED",
    "in progress",
    "🔵 AVAILABLE",
    "🔴 BLOCKED",
)
_OWNERS = ("@{s}", "**{s}**", "[{s}](https://github.com/org/repo/tree/{s})", "{s}", "`{s}`")


def _owner(phase: int, task: int, status: str) -> str:
    if "AVAILABLE" in status or "BLOCKED" in status:
        return "-" if task % 2 else "—"
    session = SESSIONS[(phase + task) % len(SESSIONS)]
    return _OWNERS[(phase * 3 + task) % len(_OWNERS)].format(s=session)


def _dependencies(phase: int, task: int) -> str:
    if task == 1:
        return "None" if phase == 1 else f"All P0.{phase - 1} tasks"
    if task == 10:
        return "All above"
    if task % 3 == 0:
        return f"P0.{phase}.1–{task - 1}"
    if task % 4 == 0:
        return f"**P0.{phase}.{task - 1}**, `P0.{phase}.{task - 2}` (review first)"
    return f"P0.{phase}.{task - 1}"


def _section(phase: int, task: int, name: str, kind: str) -> list[str]:
    task_id = f"P0.{phase}.{task}"
    return [
        f"### {task_id}: {name} part {task} ⏳  ",
        f"**Task type:** {kind}",
        f"**Required capabilities:** lang:python, {kind}:core",
        "**Model:** Sonnet" if task % 2 else "**Model:** Haiku",
        "",
        f"**Description:** implement part {task} of {name}; keep the public API small, log",
        "with structlog, and measure before optimising. Sessions in a hurry write long notes",
        "here: what they tried, what broke, which branch has the half-done work.",
        "",
        "**Milestones:**",
        "- [x] 25% - Design note reviewed",
        "- [x] 50% - Core implemented with unit tests",
        "- [ ] 75% - Integration with the other components",
        "- [ ] 100% - Docs, benchmarks and review done",
        "",
        "**Acceptance Criteria:**",
        "- Two sessions never hold one task",
        "- Every public function has type hints and a docstring",
        f"- `make test` passes on the {kind} package",
        "- No module over 400 lines",
        "",
        "```python",
        "# a comment, not a heading",
        "| not | a | table |",
        "```",
        "",
        f"> Note from {SESSIONS[task % len(SESSIONS)]}: see the PR for details.\t",
        "",
    ]


def task_board() -> str:
    """The board: six phases of ten tasks, each table followed by its tasks' sections."""
    lines = [
        "# InfraFabric Phase 0 Task Board",
        "",
        "**Coordination Branch:** `claude/debug-session-freezing-011CV2mM1FVCwsC8GoBR2aQy`  ",
        f"**Sessions:** {', '.join(SESSIONS)}",
        "**Protocol:** claim by writing `claiming: <ID>` in your STATUS file.",
        "",
        "## Legend",
        "",
        "| Status | Meaning |",
        "|---|---|",
        "| 🔵 AVAILABLE | ready to claim |",
        "| 🟡 CLAIMED | a session works on it |",
        "| 🟢 COMPLETED | merged |",
        "| 🔴 BLOCKED | waits on its dependencies |",
        "",
    ]
    for phase, (name, kind) in enumerate(PHASES, start=1):
        lines += [f"## Phase 0.{phase} — {name}", "", f"Tasks of the {name} component.", ""]
        if phase % 2:
            header = "| ID | Task | Status | Owner | Dependencies | Deliverable | Est | Model |"
        else:
            header = "| **Task ID** | Title | State | Assignee | Depends on | Output | Hours | PR |"
        lines += [header, "|" + "---|" * 8]
        for task in range(1, 11):
            status = _STATUS_CELLS[(phase + task) % len(_STATUS_CELLS)]
            cells = [
                f"P0.{phase}.{task}",
                f"{name} part {task}",
                status,
                _owner(phase, task, status),
                _dependencies(phase, task),
                f"`src/infrafabric/{kind}/part_{task}.py`",
                ("1.5h", "2 hours", "90 min", "1h30m", "~2")[task % 5],
                "Sonnet" if phase % 2 else f"#{phase * 10 + task}",
            ]
            lines.append("| " + " | ".join(cells) + " |  ")
        lines.append("")
        for task in range(1, 11):
            lines += _section(phase, task, name, kind)
    lines += [
        "## Filler Tasks",
        "",
        "| ID | Task | Description | Est |",
        "|----|------|-------------|-----|",
    ]
    lines += [f"| F{n}.1 | Filler {n} | Help where needed | 1h |" for n in range(1, 7)]
    lines.append("")
    notes = [f"- {n:03d}: coordination note, kept for the record." for n in range(1, 500)]
    lines += ["## Log", "", *notes[: BOARD_LINES - len(lines) - 2]]
    return "\n".join(lines) + "\n"


def _report(session: str, number: int) -> list[str]:
    phase = 1 + number % len(PHASES)
    task = f"P0.{phase}.{1 + number % 10}"
    stamp = (
        f"2025-11-12T{10 + number // 60 % 10:02d}:{number % 60:02d}:00Z"
        if number % 3
        else f"Wed Nov 12 {10 + number // 60 % 10:02d}:{number % 60:02d}:31 UTC 2025"
    )
    return [
        "---",
        f"session: {session}",
        "status: working",
        f"current_task: {task}",
        f'milestone: "{25 * (1 + number % 4)}% - step {number} of {task} 🚀"',
        f"timestamp: {stamp}",
        f"branch: claude/{session}-agent-mesh-011CV2nB",
        f"completed: [P0.{phase}.1]",
        f'next_action: "Finish {task}, then pick the next available task"',
    ]


def status_file(index: int) -> tuple[str, str]:
    """(file name, text) of session ``index``'s STATUS file, 300 lines."""
    session = SESSIONS[index]
    banner = [
        "# ==========================================================",
        f"# STATUS: {session}",
        "# Appended every 15 minutes by the session's polling loop.",
        "# ==========================================================",
    ]
    lines = list(banner)
    if index % 4 == 3:  # one long document: nested status map, history, notes
        lines += [
            f"session: {session}",
            "status:",
            "  state: working",
            f"  current_task: P0.{1 + index % 6}.4",
            '  milestone: "50% - halfway"',
            "tasks:",
        ]
        lines += [f"  P0.{1 + n % 6}.{1 + n % 10}: ✅ completed" for n in range(24)]
        lines += ["last_poll: 2025-11-12 14:55:31", "notes: |"]
        lines += [f"  {n:03d} ran the tests; all green" for n in range(STATUS_LINES)]
    else:  # reports appended as documents
        number = index * 40
        while len(lines) < STATUS_LINES + 10:
            lines += _report(session, number)
            number += 1
    lines = lines[:STATUS_LINES]
    if index == 5:  # broken part-way: the keys above the break are read
        lines[250] = 'milestone: "75% - unclosed quote'
    name = f"STATUS-{session.upper()}.yaml"
    return name, "\n".join(lines) + "\n"


def status_files() -> dict[str, str]:
    return dict(status_file(i) for i in range(len(SESSIONS)))
